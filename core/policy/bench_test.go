package policy_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/core/policy"
)

// BenchmarkCompile compiles the filter of one node under a policy of 1 000
// rules over tags, in networks of 1 000 and 10 000 members: the work a
// node does on every membership or policy change (phase 2 pushes the
// result by difference).
func BenchmarkCompile(b *testing.B) {
	var text strings.Builder
	for i := range 1000 {
		fmt.Fprintf(&text, "[rules.r%04d]\nsrc = [\"tag:t%d\", \"tag:admin\"]\ndst = [\"tag:t%d\"]\nports = [\"tcp/%d\", \"udp/53\", \"icmp\"]\n", i, i%50, (i+1)%50, 1000+i)
	}
	p := parsePolicy(b, text.String())
	for _, members := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("rules=1000/members=%d", members), func(b *testing.B) {
			var ns []membership.Node
			for i := range members {
				n := membershiptest.Node(membershiptest.NodeID(i), i)
				n.Tags = []string{fmt.Sprintf("t%d", i%50)}
				ns = append(ns, n)
			}
			s := benchState(b, ns, p)
			b.ResetTimer()
			var rules int
			for b.Loop() {
				rules = len(policy.Compile(s.Policy(), s, membershiptest.NodeID(7), policy.Options{Serve: true}).Rules)
			}
			b.ReportMetric(float64(rules), "filter-rules")
		})
	}
}

// BenchmarkCompileDefault compiles the default policy (every member to
// every member), which a node recompiles on every member change.
func BenchmarkCompileDefault(b *testing.B) {
	for _, members := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("members=%d", members), func(b *testing.B) {
			var ns []membership.Node
			for i := range members {
				ns = append(ns, membershiptest.Node(membershiptest.NodeID(i), i))
			}
			s := benchState(b, ns, membership.DefaultPolicy())
			// Two states whose node sets differ, compiled in turn: each
			// compile follows a member change, as on a node.
			states := [2]*membership.State{s, benchState(b, append(ns, membershiptest.Node(membershiptest.NodeID(members), members)), membership.DefaultPolicy())}
			b.Run("fresh", func(b *testing.B) {
				i := 0
				for b.Loop() {
					s := states[i%2]
					policy.Compile(s.Policy(), s, membershiptest.NodeID(7), policy.Options{Serve: true})
					i++
				}
			})
			b.Run("compiler", func(b *testing.B) { // as the daemon compiles
				var pc policy.Compiler
				i := 0
				for b.Loop() {
					s := states[i%2]
					pc.Compile(s.Policy(), s, membershiptest.NodeID(7), policy.Options{Serve: true})
					i++
				}
			})
		})
	}
}

// BenchmarkCompileNodeRules compiles a policy of 1,000 rules each naming
// one node as its source (benchmarks/daemon's BenchmarkSetPolicy policy),
// at 1,000 and 10,000 members: a node selector is found by id, not by a
// scan of every member. fresh compiles with Compile; compiler with one
// Compiler, which last compiled on the same nodes (as after a policy
// change) and so resolves no selector list again.
func BenchmarkCompileNodeRules(b *testing.B) {
	for _, members := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("rules=1000/members=%d", members), func(b *testing.B) {
			p := &membership.Policy{}
			var ns []membership.Node
			for i := range members {
				ns = append(ns, membershiptest.Node(membershiptest.NodeID(i), i))
				if i < 1000 {
					p.Rules = append(p.Rules, membership.Rule{Name: fmt.Sprintf("r%05d", i), Context: membership.ContextMesh,
						Src: []membership.Selector{membership.NodeSelector(membershiptest.NodeID(i))}, Dst: []membership.Selector{membership.MembersSelector()},
						Ports: []membership.PortSpec{{Proto: membership.ProtoTCP, First: uint16(1000 + i), Last: uint16(1000 + i)}}})
				}
			}
			p.Normalize()
			s := benchState(b, ns, p)
			opts := policy.Options{Serve: true, MeshServicePort: 7777} // as a daemon with its mesh service
			b.Run("fresh", func(b *testing.B) {
				var rules int
				for b.Loop() {
					rules = len(policy.Compile(s.Policy(), s, membershiptest.NodeID(7), opts).Rules)
				}
				b.ReportMetric(float64(rules), "filter-rules")
			})
			// As the daemon compiles after a policy change: its Compiler
			// compiled last on the same nodes.
			b.Run("compiler", func(b *testing.B) {
				var pc policy.Compiler
				var rules int
				for b.Loop() {
					rules = len(pc.Compile(s.Policy(), s, membershiptest.NodeID(7), opts).Rules)
				}
				b.ReportMetric(float64(rules), "filter-rules")
			})
		})
	}
}

// benchState is the state after a genesis of nodes ns under policy p,
// signed 2 of 2.
func benchState(b *testing.B, ns []membership.Node, p *membership.Policy) *membership.State {
	b.Helper()
	net := membershiptest.New(b, 0)
	g, err := membership.NewGenesis("bench", 2, []membership.Approver{net.Approvers["alice"].Approver, net.Approvers["bob"].Approver},
		ns, p, net.Proposal())
	if err != nil {
		b.Fatal(err)
	}
	c := membership.NewChain("bench")
	net.Sign(b, g, "alice", "bob")
	if _, err := c.Apply(g, net.Options()); err != nil {
		b.Fatal(err)
	}
	return c.State()
}
