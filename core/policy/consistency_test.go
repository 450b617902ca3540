package policy_test

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/policy"
	"github.com/rustynet/rustynet/core/reconcile"
	"github.com/rustynet/rustynet/hostapi"
)

// randomNet builds a network of up to eight nodes with random tags
// (including router and exit), random routes (some overlapping mesh
// addresses, some default), some revoked, and a random valid policy over
// them, from the seed.
func randomNet(t *testing.T, seed uint64) *testNet {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	tags := []string{"a", "b", "router", "exit"}
	routes := []string{"10.1.0.0/16", "10.1.2.0/24", "10.2.0.0/16", "100.64.0.0/29", "0.0.0.0/0", "192.168.0.0/24", "fd00:1::/64", "::/0", "8.8.8.0/24"}
	var nodes []nodeSpec
	n := 2 + r.IntN(7)
	for i := range n {
		ns := nodeSpec{id: fmt.Sprintf("n%d", i), addr: fmt.Sprintf("100.64.0.%d", i+1)}
		if r.IntN(4) == 0 {
			ns.addr = fmt.Sprintf("fd00::%d", i+1)
		}
		for _, tg := range tags {
			if r.IntN(3) == 0 {
				ns.tags = append(ns.tags, tg)
			}
		}
		for _, rt := range routes {
			if r.IntN(4) == 0 {
				ns.routes = append(ns.routes, rt)
			}
		}
		nodes = append(nodes, ns)
	}
	net := newTestNet(t, randomPolicyText(r, n), nodes...)
	for i := range n {
		if r.IntN(5) == 0 {
			net.do(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: fmt.Sprintf("n%d", i)})
		}
	}
	return net
}

// randomPolicyText returns a random valid policy file over nodes n0…n(n-1)
// (and some that do not exist).
func randomPolicyText(r *rand.Rand, n int) string {
	pick := func(xs []string) []string {
		var out []string
		for len(out) == 0 {
			for _, x := range xs {
				if r.IntN(3) == 0 {
					out = append(out, x)
				}
			}
		}
		return out
	}
	nodeSels := []string{"members", "tag:a", "tag:b", "tag:router", "tag:exit", "ghost"}
	for i := range n {
		nodeSels = append(nodeSels, fmt.Sprintf("n%d", i))
	}
	ports := []string{"any", "icmp", "tcp", "udp", "tcp/22", "tcp/80-90", "udp/53", "tcp/443"}
	text := ""
	for i := range 1 + r.IntN(6) {
		ctx := []string{"mesh", "mesh", "router", "exit"}[r.IntN(4)]
		var dst []string
		switch ctx {
		case "mesh":
			dst = pick(nodeSels)
		case "router":
			dst = pick([]string{"10.0.0.0/8", "10.1.2.0/24", "100.64.0.0/24", "0.0.0.0/0", "fd00::/16", "192.168.0.0/25"})
		case "exit":
			dst = pick([]string{"internet", "192.168.0.0/16", "10.1.0.0/16", "8.8.8.8/32", "1.0.0.0/8", "100.64.0.0/24"})
		}
		text += fmt.Sprintf("[rules.r%d]\ncontext = %q\nsrc = %s\ndst = %s\nports = %s\n", i, ctx, tomlArray(pick(nodeSels)), tomlArray(dst), tomlArray(pick(ports)))
	}
	return text
}

func tomlArray(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// TestDecideMatchesCompile: on random networks and policies, Decide and
// the compiled filter of the node Decide names agree on every source node,
// every destination (each node's addresses, addresses in and around its
// routes, public and private addresses) and every probe; and a filter of
// any node allows nothing Decide denies. So the decision the CLI shows is
// the one the data plane makes.
func TestDecideMatchesCompile(t *testing.T) {
	dsts := []string{"10.1.2.3", "10.1.9.9", "10.2.0.1", "10.3.0.1", "100.64.0.6", "100.64.0.77", "192.168.0.5", "192.168.0.200",
		"192.168.7.1", "8.8.8.8", "8.8.4.4", "1.1.1.1", "fd00:1::5", "fd00:2::1", "2606:4700::1111", "172.16.0.1"}
	probes := []struct {
		proto hostapi.Proto
		port  uint16
	}{{hostapi.ProtoTCP, 22}, {hostapi.ProtoTCP, 85}, {hostapi.ProtoTCP, 443}, {hostapi.ProtoUDP, 53}, {hostapi.ProtoUDP, 9}, {hostapi.ProtoICMP, 0}}
	seen := map[string]int{} // verdicts by context, to show the test reaches each
	for seed := range uint64(60) {
		net := randomNet(t, seed)
		s := net.state()
		p := s.Policy()
		filters := map[string]hostapi.Filter{}
		var targets []string
		for n := range s.Nodes() {
			filters[n.ID] = net.compile(n.ID)
			targets = append(targets, n.ID)
			for _, a := range n.Addresses {
				targets = append(targets, a.Addr().String())
			}
		}
		targets = append(targets, dsts...)
		for src := range s.Nodes() {
			srcAddr := src.Addresses[0].Addr()
			for _, dst := range targets {
				dstAddr, err := netip.ParseAddr(dst)
				if err != nil {
					n, _ := s.Node(dst)
					dstAddr = n.Addresses[0].Addr()
				}
				for _, pr := range probes {
					d := policy.Decide(p, s, src.ID, dst, pr.proto, pr.port)
					seen[fmt.Sprintf("%s allow=%v", d.Context, d.Allow)]++
					if d.Allow && d.Via == "" {
						t.Fatalf("seed %d: Decide(%s -> %s) allows without a deciding node", seed, src.ID, dst)
					}
					if d.Via != "" {
						if got := allows(filters[d.Via], srcAddr, dstAddr, pr.proto, pr.port); got != d.Allow {
							t.Fatalf("seed %d: %s -> %s %s/%d: Decide says %+v, the filter of %s says allow=%v\npolicy:\n%s\nfilter:\n%s",
								seed, src.ID, dst, protoName(pr.proto), pr.port, d, d.Via, got, policy.Format(p, ""), filterText(filters[d.Via]))
						}
					}
					// A router serving the address itself never sends it into
					// the tunnel: no filter sees it, whatever it would say.
					selfServed := d.Context == membership.ContextRouter && d.Via == src.ID
					if !d.Allow && !selfServed {
						for id, f := range filters {
							if id != src.ID && allows(f, srcAddr, dstAddr, pr.proto, pr.port) {
								t.Fatalf("seed %d: %s -> %s %s/%d: Decide denies (%s) but the filter of %s allows it\npolicy:\n%s\nfilter:\n%s",
									seed, src.ID, dst, protoName(pr.proto), pr.port, d.Reason, id, policy.Format(p, ""), filterText(f))
							}
						}
					}
				}
			}
		}
	}
	for _, want := range []string{"mesh allow=true", "mesh allow=false", "router allow=true", "router allow=false", "exit allow=true", "exit allow=false"} {
		if seen[want] == 0 {
			t.Errorf("no %s verdict in any network: the test does not reach it (verdicts: %v)", want, seen)
		}
	}
	t.Logf("verdicts: %v", seen)
}

// TestServedMatchesReconcile holds the package's view of what a router and
// an exit serve to reconcile's, which routes the traffic there: the same
// prefixes outside the mesh addresses, on random networks.
func TestServedMatchesReconcile(t *testing.T) {
	for seed := range uint64(60) {
		s := randomNet(t, seed).state()
		var mesh []netip.Prefix
		for n := range s.Nodes() {
			mesh = append(mesh, n.Addresses...)
		}
		for n := range s.Nodes() {
			g := reconcile.Gateway(s, reconcile.Options{Self: n.ID, SelfKey: n.PublicKey, Serve: true})
			var router []netip.Prefix
			exit := false
			if g != nil {
				for _, p := range g.Prefixes {
					if p.Bits() == 0 {
						exit = true
					} else {
						router = append(router, p)
					}
				}
			}
			got := policy.RouterServes(&n)
			if !slices.Equal(policy.Subtract(got, mesh), policy.Subtract(router, mesh)) {
				t.Errorf("seed %d: node %s serves %v by policy, %v by reconcile (outside mesh addresses)", seed, n.ID, got, router)
			}
			if policy.IsExit(&n) != exit {
				t.Errorf("seed %d: node %s is an exit by policy: %v, by reconcile: %v", seed, n.ID, policy.IsExit(&n), exit)
			}
		}
	}
}
