package membership_test

import (
	"net/netip"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// TestIncrementalRoot: the root the engine maintains incrementally (one
// leaf per change) equals the root recomputed from every record, after
// every operation type, and states are not shared between epochs.
func TestIncrementalRoot(t *testing.T) {
	for _, s := range goldenChain(t) {
		if got := membership.RecomputeRoot(s.Post); got != s.Post.Root() {
			t.Errorf("%s: recomputed root %s, incremental root %s", s.Name, got, s.Post.Root())
		}
	}
	net := membershiptest.New(t, 20)
	states := []*membership.State{net.Chain.State()}
	roots := []membership.Hash{net.Chain.State().Root()}
	for _, op := range []membership.Operation{
		addOp("x", 50),
		{Type: membership.OpRevokeNode, NodeID: "n00007"},
		{Type: membership.OpRemoveNode, NodeID: "n00000"},
		{Type: membership.OpRemoveNode, NodeID: "n00019"},
		{Type: membership.OpRotateNodeKey, NodeID: "n00010", PublicKey: membershiptest.NodeKey("k")},
		{Type: membership.OpUpdateNode, NodeID: "n00011", Addresses: pfxs("100.64.9.9/32"), Endpoints: []netip.AddrPort{}, Tags: []string{}, Routes: []netip.Prefix{}},
		addOp("a-first", 51),
		addOp("zz-last", 52),
		{Type: membership.OpAddApprover, Approver: membershiptest.NewApprover("aaron", membership.RoleApprover).Approver},
	} {
		signers := []string{"alice", "bob", "carol"}
		if op.Type == membership.OpAddApprover {
			signers = append(signers, "aaron")
		}
		net.MustApply(t, net.Sign(t, net.Propose(t, op), signers...))
		s := net.Chain.State()
		if got := membership.RecomputeRoot(s); got != s.Root() {
			t.Errorf("after %s: recomputed root %s, incremental root %s", op.Type, got, s.Root())
		}
		states, roots = append(states, s), append(roots, s.Root())
	}
	for i, s := range states {
		if got := membership.RecomputeRoot(s); got != roots[i] {
			t.Errorf("state of epoch %d changed after later updates: root %s, want %s", s.Epoch(), got, roots[i])
		}
	}
}
