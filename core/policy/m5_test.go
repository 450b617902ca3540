package policy_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/core/policy"
	"github.com/rustynet/rustynet/hostapi"
)

// The seed's M5 acceptance (000_b4b6481d6f7819a3.txt, Phase M5):
//   - a policy allow cannot bypass revoked/unknown membership;
//   - protocol filters remain intact under membership updates;
//   - policy + membership across mesh and exit contexts.

// m5Policy allows everything between members ("allow *"), and names
// nodes, including one that never exists, explicitly.
const m5Policy = `
[rules.everyone]
src = ["members"]
dst = ["members"]
ports = ["any"]

[rules.named]
src = ["c", "ghost"]
dst = ["a", "ghost"]
ports = ["tcp/22"]

[rules.tagged]
src = ["tag:admin"]
dst = ["tag:web"]
ports = ["tcp/443"]

[rules.out]
context = "exit"
src = ["c", "ghost", "members"]
dst = ["internet"]
ports = ["any"]
`

func m5Net(t *testing.T) *testNet {
	return newTestNet(t, m5Policy,
		nodeSpec{id: "a", addr: "100.64.0.1", tags: []string{"web"}},
		nodeSpec{id: "b", addr: "100.64.0.2", tags: []string{"exit"}},
		nodeSpec{id: "c", addr: "100.64.0.3", tags: []string{"admin"}},
		nodeSpec{id: "d", addr: "fd00::4"},
	)
}

// assertOnlyActive checks the M5 invariant on every node of s: a node that
// is not an active member compiles to the empty filter, and no compiled
// filter reaches or admits an address of a node that is not an active
// member, or of no node at all, whatever the policy says.
func assertOnlyActive(t *testing.T, s *membership.State, strangers ...netip.Addr) {
	t.Helper()
	var outcasts []netip.Addr
	outcasts = append(outcasts, strangers...)
	for n := range s.Nodes() {
		if n.Status != membership.StatusActive {
			for _, a := range n.Addresses {
				outcasts = append(outcasts, a.Addr())
			}
		}
	}
	for n := range s.Nodes() {
		f := policy.Compile(s.Policy(), s, n.ID, policy.Options{Serve: true})
		if n.Status != membership.StatusActive {
			if len(f.Rules) != 0 {
				t.Errorf("%s node %s compiles to\n%s\nwant nothing", n.Status, n.ID, filterText(f))
			}
			continue
		}
		for _, r := range f.Rules {
			for _, o := range outcasts {
				if slices.ContainsFunc(r.Src, func(p netip.Prefix) bool { return p.Contains(o) }) {
					t.Errorf("filter of %s admits %s, which is no active member:\n%s", n.ID, o, filterText(f))
				}
				if slices.ContainsFunc(r.Dst, func(p netip.Prefix) bool { return p.Contains(o) }) {
					t.Errorf("filter of %s reaches %s, which is no active member:\n%s", n.ID, o, filterText(f))
				}
			}
		}
	}
}

// TestM5AllowCannotBypassMembership: with rules that allow everything and
// rules that name nodes directly, an unknown, revoked or removed node is
// never allowed, in the compiled filters of every node and in Decide, in
// the mesh and the exit context; a restored node is allowed again.
func TestM5AllowCannotBypassMembership(t *testing.T) {
	rows := []struct {
		name  string
		setup []membership.Operation
		// denied pairs (src, dst) after setup; allowed pairs likewise.
		denied, allowed [][2]string
	}{
		{name: "everyone active", allowed: [][2]string{{"a", "c"}, {"c", "a"}, {"d", "a"}, {"c", "1.1.1.1"}}},
		{name: "unknown node named by a rule", denied: [][2]string{{"ghost", "a"}, {"a", "ghost"}, {"100.64.0.99", "a"}, {"a", "100.64.0.99"}, {"ghost", "1.1.1.1"}}},
		{name: "revoked node",
			setup:   []membership.Operation{{Type: membership.OpRevokeNode, NodeID: "c"}},
			denied:  [][2]string{{"c", "a"}, {"a", "c"}, {"100.64.0.3", "100.64.0.1"}, {"a", "100.64.0.3"}, {"c", "1.1.1.1"}},
			allowed: [][2]string{{"a", "d"}}},
		{name: "removed node",
			setup:   []membership.Operation{{Type: membership.OpRemoveNode, NodeID: "c"}},
			denied:  [][2]string{{"c", "a"}, {"a", "c"}, {"100.64.0.3", "a"}, {"a", "100.64.0.3"}, {"c", "1.1.1.1"}},
			allowed: [][2]string{{"a", "d"}}},
		{name: "revoked then restored",
			setup:   []membership.Operation{{Type: membership.OpRevokeNode, NodeID: "c"}, {Type: membership.OpRestoreNode, NodeID: "c"}},
			allowed: [][2]string{{"c", "a"}, {"a", "c"}, {"c", "1.1.1.1"}}},
		{name: "revoked exit node",
			setup:  []membership.Operation{{Type: membership.OpRevokeNode, NodeID: "b"}},
			denied: [][2]string{{"c", "1.1.1.1"}, {"a", "b"}}},
		{name: "removed node's address given to a new node",
			setup: []membership.Operation{{Type: membership.OpRemoveNode, NodeID: "c"},
				{Type: membership.OpAddNode, Node: nodeSpec{id: "e", addr: "100.64.0.3"}.node(9)}},
			denied:  [][2]string{{"c", "a"}},
			allowed: [][2]string{{"e", "a"}, {"100.64.0.3", "a"}}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			net := m5Net(t)
			for _, op := range row.setup {
				net.do(t, op)
			}
			s := net.state()
			assertOnlyActive(t, s, addr("100.64.0.99"))
			for _, pair := range row.denied {
				for _, q := range []struct {
					proto hostapi.Proto
					port  uint16
				}{{hostapi.ProtoTCP, 22}, {hostapi.ProtoTCP, 443}, {hostapi.ProtoUDP, 53}, {hostapi.ProtoICMP, 0}} {
					if d := policy.Decide(s.Policy(), s, pair[0], pair[1], q.proto, q.port); d.Allow {
						t.Errorf("Decide(%s -> %s %s/%d): got allow by rule %s, want deny", pair[0], pair[1], protoName(q.proto), q.port, d.Rule)
					}
				}
			}
			for _, pair := range row.allowed {
				if d := policy.Decide(s.Policy(), s, pair[0], pair[1], hostapi.ProtoTCP, 22); !d.Allow {
					t.Errorf("Decide(%s -> %s tcp/22): got deny (%s), want allow", pair[0], pair[1], d.Reason)
				}
			}
		})
	}
}

// TestM5NoPolicyDeniesEverything: a state without a policy (a v1 network)
// compiles to nothing for every node and denies every connection; so does
// a policy without rules.
func TestM5NoPolicyDeniesEverything(t *testing.T) {
	for name, text := range map[string]string{"no policy": "-", "no rules": ""} {
		t.Run(name, func(t *testing.T) {
			net := newTestNet(t, text, nodeSpec{id: "a", addr: "100.64.0.1", tags: []string{"exit"}}, nodeSpec{id: "b", addr: "100.64.0.2"})
			s := net.state()
			for _, id := range []string{"a", "b"} {
				if f := net.compile(id); len(f.Rules) != 0 {
					t.Errorf("Compile(%s): got\n%s\nwant nothing", id, filterText(f))
				}
			}
			for _, dst := range []string{"a", "1.1.1.1"} {
				if d := policy.Decide(s.Policy(), s, "b", dst, hostapi.ProtoICMP, 0); d.Allow {
					t.Errorf("Decide(b -> %s): got allow, want deny", dst)
				}
			}
		})
	}
}

// meshOracle decides a mesh connection from the rules' text alone, written
// independently of the package: allowed iff src and dst are distinct active
// members, some mesh rule's src selects src and dst selects dst, and its
// ports allow proto/port.
func meshOracle(p *membership.Policy, s *membership.State, src, dst string, proto hostapi.Proto, port uint16) bool {
	a, okA := s.Node(src)
	b, okB := s.Node(dst)
	if !okA || !okB || src == dst || a.Status != membership.StatusActive || b.Status != membership.StatusActive {
		return false
	}
	sel := func(list []membership.Selector, n membership.Node) bool {
		for _, x := range list {
			if x.String() == "members" || x.String() == "node:"+n.ID || (x.Kind == membership.SelectTag && slices.Contains(n.Tags, x.Name)) {
				return true
			}
		}
		return false
	}
	for _, r := range p.Rules {
		if r.Context != membership.ContextMesh || !sel(r.Src, a) || !sel(r.Dst, b) {
			continue
		}
		for _, ps := range r.Ports {
			switch {
			case ps.Proto == membership.ProtoAny,
				ps.Proto == membership.ProtoICMP && proto == hostapi.ProtoICMP,
				ps.Proto == membership.ProtoTCP && proto == hostapi.ProtoTCP && port >= ps.First && port <= ps.Last,
				ps.Proto == membership.ProtoUDP && proto == hostapi.ProtoUDP && port >= ps.First && port <= ps.Last:
				return true
			}
		}
	}
	return false
}

// TestM5ProtocolFiltersStayExact: a policy of protocol and port filters,
// through every kind of membership update; after each, every compiled
// filter allows exactly what the rules say for every pair of nodes (of
// every address family) and every probe of protocol and port — no more
// (nothing wider than the rule) and no less.
func TestM5ProtocolFiltersStayExact(t *testing.T) {
	net := newTestNet(t, `
[rules.ssh]
src = ["tag:admin"]
dst = ["members"]
ports = ["tcp/22"]

[rules.web]
src = ["members"]
dst = ["tag:web"]
ports = ["tcp/80", "tcp/443", "udp/443", "tcp/8000-8080"]

[rules.dns]
src = ["members"]
dst = ["dns"]
ports = ["udp/53", "tcp/53"]

[rules.ping]
src = ["members"]
dst = ["members"]
ports = ["icmp"]
`,
		nodeSpec{id: "admin", addr: "100.64.0.1", tags: []string{"admin"}},
		nodeSpec{id: "web1", addr: "100.64.0.2", tags: []string{"web"}},
		nodeSpec{id: "dns", addr: "100.64.0.3"},
		nodeSpec{id: "laptop", addr: "fd00::4"},
	)
	probes := []struct {
		proto hostapi.Proto
		port  uint16
	}{
		{hostapi.ProtoTCP, 22}, {hostapi.ProtoTCP, 23}, {hostapi.ProtoTCP, 21}, {hostapi.ProtoTCP, 53}, {hostapi.ProtoUDP, 53},
		{hostapi.ProtoUDP, 22}, {hostapi.ProtoTCP, 80}, {hostapi.ProtoTCP, 443}, {hostapi.ProtoUDP, 443}, {hostapi.ProtoUDP, 80},
		{hostapi.ProtoTCP, 7999}, {hostapi.ProtoTCP, 8000}, {hostapi.ProtoTCP, 8080}, {hostapi.ProtoTCP, 8081}, {hostapi.ProtoICMP, 0},
		{hostapi.ProtoTCP, 0}, {hostapi.ProtoTCP, 65535},
	}
	web2 := nodeSpec{id: "web2", addr: "100.64.0.5", tags: []string{"web"}}.node(5)
	steps := []struct {
		name string
		op   membership.Operation
	}{
		{"genesis", membership.Operation{}},
		{"add a web server", membership.Operation{Type: membership.OpAddNode, Node: web2}},
		{"revoke the admin", membership.Operation{Type: membership.OpRevokeNode, NodeID: "admin"}},
		{"restore the admin", membership.Operation{Type: membership.OpRestoreNode, NodeID: "admin"}},
		{"rotate the dns key", membership.Operation{Type: membership.OpRotateNodeKey, NodeID: "dns", PublicKey: membershiptest.NodeKey("dns#2")}},
		{"tag the laptop admin", membership.Operation{Type: membership.OpUpdateNode, NodeID: "laptop", Addresses: mustPrefixes("fd00::4/128"),
			Endpoints: []netip.AddrPort{}, Tags: []string{"admin"}, Routes: []netip.Prefix{}}},
		{"untag web1", membership.Operation{Type: membership.OpUpdateNode, NodeID: "web1", Addresses: mustPrefixes("100.64.0.2/32"),
			Endpoints: []netip.AddrPort{}, Tags: []string{}, Routes: []netip.Prefix{}}},
		{"move dns to a new address", membership.Operation{Type: membership.OpUpdateNode, NodeID: "dns", Addresses: mustPrefixes("100.64.0.33/32"),
			Endpoints: []netip.AddrPort{}, Tags: []string{}, Routes: []netip.Prefix{}}},
		{"remove the web server", membership.Operation{Type: membership.OpRemoveNode, NodeID: "web2"}},
		{"change the policy", membership.Operation{Type: membership.OpSetPolicy, Policy: parsePolicy(t, `
[rules.ssh]
src = ["tag:admin"]
dst = ["dns"]
ports = ["tcp/22-23"]
`)}},
	}
	var before map[string]string
	for _, st := range steps {
		if st.op.Type != "" {
			net.do(t, st.op)
		}
		s := net.state()
		filters := map[string]string{}
		for n := range s.Nodes() {
			f := net.compile(n.ID)
			filters[n.ID] = filterText(f)
			for m := range s.Nodes() {
				for _, from := range m.Addresses {
					for _, to := range n.Addresses {
						for _, pr := range probes {
							got := allows(f, from.Addr(), to.Addr(), pr.proto, pr.port)
							want := meshOracle(s.Policy(), s, m.ID, n.ID, pr.proto, pr.port)
							if got != want {
								t.Errorf("%s: filter of %s on %s -> %s %s/%d: got allow=%v, want %v\n%s",
									st.name, n.ID, m.ID, n.ID, protoName(pr.proto), pr.port, got, want, filterText(f))
							}
							if d := policy.Decide(s.Policy(), s, m.ID, n.ID, pr.proto, pr.port); d.Allow != want {
								t.Errorf("%s: Decide(%s -> %s %s/%d): got %+v, want allow=%v", st.name, m.ID, n.ID, protoName(pr.proto), pr.port, d, want)
							}
						}
					}
				}
			}
		}
		if st.name == "rotate the dns key" {
			for id, f := range filters {
				if before[id] != f {
					t.Errorf("rotating a key changed the filter of %s:\n%s\nwas\n%s", id, f, before[id])
				}
			}
		}
		before = filters
	}
}

// TestCompileBoundedAndDeterministic: at most three filter rules per
// policy rule; the same inputs give the same filter; neither input is
// changed.
func TestCompileBoundedAndDeterministic(t *testing.T) {
	net := m5Net(t)
	s := net.state()
	root := s.Root()
	pol := membership.EncodePolicy(s.Policy())
	for n := range s.Nodes() {
		a := net.compile(n.ID)
		b := net.compile(n.ID)
		if filterText(a) != filterText(b) {
			t.Errorf("Compile(%s) is not deterministic:\n%s\nthen\n%s", n.ID, filterText(a), filterText(b))
		}
		if got, max := len(a.Rules), 3*len(s.Policy().Rules); got > max {
			t.Errorf("Compile(%s): %d rules, more than 3 per policy rule (%d)", n.ID, got, max)
		}
	}
	if s.Root() != root || string(membership.EncodePolicy(s.Policy())) != string(pol) {
		t.Errorf("Compile changed its inputs")
	}
	if f := policy.Compile(s.Policy(), s, "nobody", policy.Options{Serve: true}); len(f.Rules) != 0 {
		t.Errorf("Compile for a non-member: got %d rules, want none", len(f.Rules))
	}
	if f := policy.Compile(nil, s, "a", policy.Options{Serve: true}); len(f.Rules) != 0 {
		t.Errorf("Compile of a nil policy: got %d rules, want none", len(f.Rules))
	}
	if f := policy.Compile(s.Policy(), nil, "a", policy.Options{Serve: true}); len(f.Rules) != 0 {
		t.Errorf("Compile of a nil state: got %d rules, want none", len(f.Rules))
	}
}
