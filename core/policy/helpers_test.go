package policy_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/core/policy"
	"github.com/rustynet/rustynet/hostapi"
)

// testNet is a network with hand-made nodes and a policy, driven by signed
// updates as a real network is: alice, bob and carol approve, 2 of 3.
type testNet struct {
	*membershiptest.Network
}

// nodeSpec is a node of a test network: id, mesh address, tags, routes.
type nodeSpec struct {
	id     string
	addr   string
	tags   []string
	routes []string
}

func (n nodeSpec) node(i int) membership.Node {
	m := membershiptest.Node(n.id, i)
	m.Addresses = []netip.Prefix{netip.MustParsePrefix(n.addr + "/32")}
	if strings.Contains(n.addr, ":") {
		m.Addresses = []netip.Prefix{netip.MustParsePrefix(n.addr + "/128")}
	}
	m.Tags = append([]string{}, n.tags...)
	for _, r := range n.routes {
		m.Routes = append(m.Routes, netip.MustParsePrefix(r))
	}
	m.Normalize()
	return m
}

// newTestNet returns a network of the given nodes, whose genesis carries
// the policy of the policy file text (nil policy if text is "-").
func newTestNet(t testing.TB, text string, nodes ...nodeSpec) *testNet {
	t.Helper()
	net := &membershiptest.Network{Approvers: map[string]membershiptest.Approver{}, Chain: membership.NewChain("test"), Now: membershiptest.Epoch0}
	var as []membership.Approver
	for i, id := range []string{"alice", "bob", "carol"} {
		role := membership.RoleApprover
		if i == 0 {
			role = membership.RoleOwner
		}
		a := membershiptest.NewApprover(id, role)
		net.Approvers[id] = a
		as = append(as, a.Approver)
	}
	var ns []membership.Node
	for i, n := range nodes {
		ns = append(ns, n.node(i))
	}
	var p *membership.Policy
	if text != "-" {
		p = parsePolicy(t, text)
	}
	g, err := membership.NewGenesis("test", 2, as, ns, p, net.Proposal())
	if err != nil {
		t.Fatalf("genesis: %v", err)
	}
	net.MustApply(t, net.Sign(t, g, "alice", "bob", "carol"))
	return &testNet{net}
}

// do applies op, signed by alice and bob.
func (n *testNet) do(t testing.TB, op membership.Operation) {
	t.Helper()
	n.MustApply(t, n.Sign(t, n.Propose(t, op), "alice", "bob"))
}

func (n *testNet) state() *membership.State { return n.Chain.State() }

// parsePolicy parses policy file text and fails the test on error.
func parsePolicy(t testing.TB, text string) *membership.Policy {
	t.Helper()
	f, err := policy.ParseFile("test.toml", []byte(text), nil)
	if err != nil {
		t.Fatalf("policy file: %v", err)
	}
	return f.Policy
}

// compile compiles the state's own policy for self, serving.
func (n *testNet) compile(self string) hostapi.Filter {
	s := n.state()
	return policy.Compile(s.Policy(), s, self, policy.Options{Serve: true})
}

// filterText renders a filter one rule a line, for comparisons and golden
// files: "SRC... -> DST... PROTO[ PORTS]".
func filterText(f hostapi.Filter) string {
	var b strings.Builder
	for _, r := range f.Rules {
		fmt.Fprintf(&b, "%s -> %s %s", prefixList(r.Src), prefixList(r.Dst), protoName(r.Proto))
		for i, p := range r.Ports {
			sep := ","
			if i == 0 {
				sep = " "
			}
			if p.First == p.Last {
				fmt.Fprintf(&b, "%s%d", sep, p.First)
			} else {
				fmt.Fprintf(&b, "%s%d-%d", sep, p.First, p.Last)
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func prefixList(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, ",")
}

func protoName(p hostapi.Proto) string {
	return map[hostapi.Proto]string{hostapi.ProtoAny: "any", hostapi.ProtoTCP: "tcp", hostapi.ProtoUDP: "udp", hostapi.ProtoICMP: "icmp"}[p]
}

// allows is the reference matcher of a compiled filter (docs/policy.md
// §3): a packet opens a connection if some rule matches its source,
// destination, protocol and, for TCP and UDP, destination port.
func allows(f hostapi.Filter, src, dst netip.Addr, proto hostapi.Proto, port uint16) bool {
	in := func(ps []netip.Prefix, a netip.Addr) bool {
		return slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Contains(a) })
	}
	for _, r := range f.Rules {
		if !in(r.Src, src) || !in(r.Dst, dst) || (r.Proto != hostapi.ProtoAny && r.Proto != proto) {
			continue
		}
		if r.Proto == hostapi.ProtoAny || r.Proto == hostapi.ProtoICMP || len(r.Ports) == 0 {
			return true
		}
		for _, pr := range r.Ports {
			if port >= pr.First && port <= pr.Last {
				return true
			}
		}
	}
	return false
}

func addr(s string) netip.Addr { return netip.MustParseAddr(s) }

// addrOf returns node id's first mesh address in s.
func addrOf(t testing.TB, s *membership.State, id string) netip.Addr {
	t.Helper()
	n, ok := s.Node(id)
	if !ok {
		t.Fatalf("no node %s", id)
	}
	return n.Addresses[0].Addr()
}
