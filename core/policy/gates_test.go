package policy

import (
	"net/netip"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/hostapi"
)

// TestEveryGateRefusesInactive pins each place that applies the
// active-only rule, one by one: each is backed by the others, so the
// end-to-end tests (m5_test.go) would not notice one of them going wrong
// alone. A revoked node carrying every tag, named by every selector,
// routing and exiting, is never selected, never a router or exit, never
// given a filter, never a source or destination of Decide.
func TestEveryGateRefusesInactive(t *testing.T) {
	net := membershiptest.New(t, 2)
	ghost := membershiptest.Node("ghost", 7)
	ghost.Tags = []string{membership.TagExit, membership.TagRouter, "x"}
	ghost.Routes = []netip.Prefix{netip.MustParsePrefix("10.9.0.0/16")}
	for _, op := range []membership.Operation{{Type: membership.OpAddNode, Node: ghost}, {Type: membership.OpRevokeNode, NodeID: "ghost"}} {
		net.MustApply(t, net.Sign(t, net.Propose(t, op), "alice", "bob"))
	}
	s := net.Chain.State()
	n, _ := s.Node("ghost")
	if active(&n) {
		t.Fatalf("active(revoked node) = true")
	}
	all := []membership.Selector{membership.MembersSelector(), membership.NodeSelector("ghost"), membership.TagSelector("x"), membership.TagSelector("exit")}
	for _, sel := range all {
		if selects([]membership.Selector{sel}, &n) {
			t.Errorf("selects(%s, revoked node) = true", sel)
		}
	}
	v := newView(s)
	for _, m := range v.active {
		if m.ID == "ghost" {
			t.Errorf("view.active holds the revoked node")
		}
	}
	for _, m := range v.nodes(all) {
		if m.ID == "ghost" {
			t.Errorf("view.nodes selects the revoked node")
		}
	}
	if got := routerServes(&n); len(got) != 0 {
		t.Errorf("routerServes(revoked router) = %v", got)
	}
	if isExit(&n) {
		t.Errorf("isExit(revoked exit) = true")
	}
	if containsAddr(v.routed(), netip.MustParseAddr("10.9.1.1")) {
		t.Errorf("the revoked router's route is routed space")
	}
	p := &membership.Policy{Rules: []membership.Rule{
		{Name: "a", Context: membership.ContextMesh, Src: all[:3], Dst: all[:3], Ports: []membership.PortSpec{membership.AllPorts(membership.ProtoAny)}},
		{Name: "b", Context: membership.ContextRouter, Src: all[:3], Dst: []membership.Selector{membership.PrefixSelector(netip.MustParsePrefix("10.0.0.0/8"))}, Ports: []membership.PortSpec{membership.AllPorts(membership.ProtoAny)}},
		{Name: "c", Context: membership.ContextExit, Src: all[:3], Dst: []membership.Selector{membership.InternetSelector()}, Ports: []membership.PortSpec{membership.AllPorts(membership.ProtoAny)}},
	}}
	if f := Compile(p, s, "ghost", Options{Serve: true}); len(f.Rules) != 0 {
		t.Errorf("Compile(revoked node) has %d rules", len(f.Rules))
	}
	if _, why := v.member("ghost", "src"); why == "" {
		t.Errorf("member(revoked node) is a member")
	}
	for _, d := range []Decision{
		Decide(p, s, "ghost", "n00000", hostapi.ProtoTCP, 1),
		Decide(p, s, "n00000", "ghost", hostapi.ProtoTCP, 1),
		Decide(p, s, "n00000", "10.9.1.1", hostapi.ProtoTCP, 1),
	} {
		if d.Allow {
			t.Errorf("Decide involving the revoked node: got %+v", d)
		}
	}
}
