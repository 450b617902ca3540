package daemon

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/pluginhost"
	"github.com/rustynet/rustynet/hostapi"
)

// wantFilter fails unless the live backend enforces exactly want.
func (h *harness) wantFilter(what string, want hostapi.Filter) {
	h.t.Helper()
	got, ok := h.backend().Filter()
	if !ok {
		h.t.Fatalf("%s: the backend has no filter", what)
	}
	if diff := cmp.Diff(want, got, cmpNetip, cmpopts.EquateEmpty()); diff != "" {
		h.t.Fatalf("%s: filter (-want +got):\n%s", what, diff)
	}
}

// TestFilterFollowsPolicyAndMembership checks that the node enforces the
// signed policy compiled for itself, and that every membership or policy
// change reaches the filter in the same apply: a revoked node leaves every
// rule, a new policy replaces the filter, and a relaunched backend gets
// the filter before any peer.
func TestFilterFollowsPolicyAndMembership(t *testing.T) {
	h := newHarness(t)
	var ops []string // what each relaunched backend was asked, in order
	launch := h.opts.Backends[0].Launch
	h.opts.Backends[0].Launch = func(ctx context.Context) (inst pluginhost.Instance[hostapi.Backend], err error) {
		inst, err = launch(ctx)
		if err == nil {
			h.backend().SetFault(func(_ context.Context, op string) error {
				h.mu.Lock()
				ops = append(ops, op)
				h.mu.Unlock()
				return nil
			})
		}
		return inst, err
	}
	h.start()
	self := netip.MustParsePrefix("100.64.0.1/32")
	members := func(ps ...string) hostapi.Filter {
		return hostapi.Filter{Rules: []hostapi.FilterRule{{Src: pfx(ps...), Dst: []netip.Prefix{self}, Proto: hostapi.ProtoAny}}}
	}
	h.wantFilter("at start (allow-members; the compiler aggregates b and c)", members("100.64.0.2/31", "100.64.0.4/32"))
	h.mu.Lock()
	at := func(op string) int { return slices.Index(ops, op) }
	if at("SetFilter") < 0 || at("ApplyPeers") < 0 || at("SetFilter") > at("ApplyPeers") {
		t.Errorf("setup's calls = %v; want SetFilter before the first ApplyPeers", ops)
	}
	h.mu.Unlock()

	h.applyOK(membership.Operation{Type: membership.OpRevokeNode, NodeID: "b"}, "alice", "bob")
	h.wantFilter("b revoked", members("100.64.0.3/32", "100.64.0.4/32"))

	ssh := &membership.Policy{Rules: []membership.Rule{{Name: "ssh-from-c", Context: membership.ContextMesh,
		Src: []membership.Selector{membership.NodeSelector("c")}, Dst: []membership.Selector{membership.MembersSelector()},
		Ports: []membership.PortSpec{{Proto: membership.ProtoTCP, First: 22, Last: 22}}}}}
	h.applyOK(membership.Operation{Type: membership.OpSetPolicy, Policy: ssh}, "alice", "bob")
	h.wantFilter("a policy of one ssh rule", hostapi.Filter{Rules: []hostapi.FilterRule{{Src: pfx("100.64.0.3/32"), Dst: []netip.Prefix{self},
		Proto: hostapi.ProtoTCP, Ports: []hostapi.PortRange{{First: 22, Last: 22}}}}})
	h.wantPeers("c", "d") // the policy narrows traffic, not the peer set

	h.applyOK(membership.Operation{Type: membership.OpRevokeNode, NodeID: "c"}, "alice", "bob")
	h.wantFilter("the only allowed source revoked", hostapi.Filter{})
}

// TestNoPacketFilterNoPeers checks that a node whose backend cannot filter
// admits no peer: it could not enforce the signed policy (fail closed).
func TestNoPacketFilterNoPeers(t *testing.T) {
	h := newHarness(t)
	h.caps = hostapi.BackendCapPeerStats
	h.start()
	h.wantPeers()
	if st := h.status(); !strings.Contains(st.Backend.Isolated, "no packet filter") {
		t.Errorf("status isolated = %q, want why: the backend has no packet filter", st.Backend.Isolated)
	}
}
