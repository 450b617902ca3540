package membership_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// Benchmarks of the trust engine. SPEC §10 measures a one-member change
// signed by 3 approvers; here a 3-of-5 network at 100, 1,000 and 10,000
// members. Run:
//
//	go test -run XXX -bench . -benchmem -count 5 ./core/membership

var benchSizes = []int{100, 1000, 10000}

var benchNets = struct {
	sync.Mutex
	m map[int]*membershiptest.Network
}{m: map[int]*membershiptest.Network{}}

// benchNet returns a 3-of-5 network with n members, built once per process.
func benchNet(b *testing.B, n int) *membershiptest.Network {
	b.Helper()
	benchNets.Lock()
	defer benchNets.Unlock()
	if net, ok := benchNets.m[n]; ok {
		return net
	}
	net := membershiptest.NewWith(b, "bench", 3, approvers("a1", "a2", "a3", "a4", "a5"), n)
	benchNets.m[n] = net
	return net
}

// benchAdd returns add_node of one new member signed by 3 of the 5.
func benchAdd(b *testing.B, net *membershiptest.Network) *membership.SignedUpdate {
	b.Helper()
	u := net.Propose(b, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("bench-new", 65000)})
	return net.Sign(b, u, "a1", "a2", "a3")
}

func BenchmarkEvaluate(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			net := benchNet(b, n)
			u, pre, opt := benchAdd(b, net), net.Chain.State(), net.Options()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := membership.Evaluate(pre, u, opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkApply(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			net := benchNet(b, n)
			u, pre, opt := benchAdd(b, net), net.Chain.State(), net.Options()
			c := membership.NewChain("bench")
			b.ReportAllocs()
			for b.Loop() {
				membership.ResetChain(c, pre, u.Body.UpdateID)
				if _, err := c.Apply(u, opt); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParseSignedUpdate parses the update file of the one-member change.
func BenchmarkParseSignedUpdate(b *testing.B) {
	net := benchNet(b, 100)
	data := benchAdd(b, net).Encode()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := membership.ParseSignedUpdate(data, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReplay verifies a log of 1,000 updates (a genesis and 999
// one-member changes, each signed by 3 of 5) from scratch.
func BenchmarkReplay(b *testing.B) {
	net := membershiptest.NewWith(b, "bench", 3, approvers("a1", "a2", "a3", "a4", "a5"), 100)
	for i := range 999 {
		net.Now = membershiptest.Epoch0.Add(time.Duration(i) * time.Second)
		var op membership.Operation
		switch id := fmt.Sprintf("r%04d", i/2); i % 2 {
		case 0:
			op = membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(id, 1000+i)}
		default:
			op = membership.Operation{Type: membership.OpRevokeNode, NodeID: id}
		}
		net.MustApply(b, net.Sign(b, net.Propose(b, op), "a1", "a2", "a3"))
	}
	log, pin := net.Log, net.Log[0].Body.NewStateRoot
	if len(log) != 1000 {
		b.Fatalf("log has %d entries, want 1000", len(log))
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := membership.Replay(log, pin, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkStateRoot recomputes a state root from scratch: every node
// leaf, both set digests and the header (the incremental path in Apply
// hashes only the changed leaf and the digests).
func BenchmarkStateRoot(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			s := benchNet(b, n).Chain.State()
			b.ReportAllocs()
			for b.Loop() {
				if membership.RecomputeRoot(s) != s.Root() {
					b.Fatal("recomputed root differs")
				}
			}
		})
	}
}

// benchPolicy returns a set_policy of rules mesh rules, signed by 3 of the
// 5 approvers of a 1,000-member network: rule i lets member i reach every
// member on TCP port 1000+i (benchmarks/daemon's policy change).
func benchPolicy(b *testing.B, rules int) (*membershiptest.Network, *membership.SignedUpdate) {
	b.Helper()
	net := benchNet(b, 1000)
	p := membershiptest.MeshRules(rules, 0, membershiptest.NodeID)
	u := net.Propose(b, membership.Operation{Type: membership.OpSetPolicy, Policy: p})
	return net, net.Sign(b, u, "a1", "a2", "a3")
}

// BenchmarkPolicyChange parses and evaluates a 1,000-rule set_policy, as
// the daemon does with one submitted to it, at 1,000 members.
func BenchmarkPolicyChange(b *testing.B) {
	net, u := benchPolicy(b, 1000)
	data, pre, opt := u.Encode(), net.Chain.State(), net.Options()
	b.Run("parse", func(b *testing.B) {
		b.SetBytes(int64(len(data)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := membership.ParseSignedUpdate(data, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("evaluate", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := membership.Evaluate(pre, u, opt); err != nil {
				b.Fatal(err)
			}
		}
	})
}
