package e2e

import (
	"testing"

	"github.com/rustynet/rustynet/core/membership"
)

// TestRevokedNodeIsCutOff revokes n3 on n1 and n2 while n3 itself ignores
// the revocation (a compromised node keeps its old peers and keeps
// trying): n3's peer entry is gone from the others' backends, its traffic
// is dropped there, traffic to it is refused, and members still reach each
// other. Then n3 tries to re-admit itself — with its own signature, or
// with a restore signed by non-approvers — and is refused with nothing
// changed. Last, n3's own daemon applies its revocation and isolates
// itself.
func TestRevokedNodeIsCutOff(t *testing.T) {
	t.Parallel()
	c := newCluster(t, Options{Members: []string{"n1", "n2", "n3"}})
	n1, n2, n3 := c.Node("n1"), c.Node("n2"), c.Node("n3")
	for _, n := range []*Node{n1, n2, n3} {
		n.Start(NodeConfig{})
	}
	n3.WaitReach(n2, reachWithin)
	n2.WaitReach(n3, reachWithin)

	c.ApplyAll(c.Sign(c.Propose(membership.Operation{Type: membership.OpRevokeNode, NodeID: "n3"}), "a1", "a2"), "n1", "n2")
	for _, n := range []*Node{n1, n2} {
		if st := n.Status(); HasPeer(st, n3) {
			t.Errorf("%s still has n3 as a peer after revoking it: %v", n.ID, PeerIDs(st))
		}
	}
	if st := n3.Status(); !HasPeer(st, n2) {
		t.Fatalf("n3 (which did not apply its revocation) lost n2 as a peer: %v", PeerIDs(st))
	}
	n3.WantNoReach(n2)
	n3.WantNoReach(n1)
	n2.WantNoReach(n3)
	n1.WaitReach(n2, reachWithin)

	restore := membership.Operation{Type: membership.OpRestoreNode, NodeID: "n3"}
	tests := []struct {
		name   string
		update func() *membership.SignedUpdate
		code   membership.Code
	}{
		{"restore signed by the node itself", func() *membership.SignedUpdate { return c.Sign(c.Propose(restore), "n3") }, membership.UnknownSigner},
		{"restore signed by two non-approvers", func() *membership.SignedUpdate { return c.Sign(c.Propose(restore), "n3", "mallory") }, membership.UnknownSigner},
		{"restore signed by one approver and the node", func() *membership.SignedUpdate { return c.Sign(c.Propose(restore), "a1", "n3") }, membership.UnknownSigner},
		{"restore under threshold", func() *membership.SignedUpdate { return c.Sign(c.Propose(restore), "a3") }, membership.ThresholdNotMet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRejected(t, tt.update(), tt.code, n1, n2)
			n3.WantNoReach(n2)
			n1.WaitReach(n2, reachWithin)
		})
	}

	t.Run("the revoked node applies its revocation", func(t *testing.T) {
		log := c.Log()
		// REPLAYED_UPDATE: it already had it from a peer (core/gossip).
		if _, err := n3.Apply(log[len(log)-1]); err != nil && membership.CodeOf(err) != membership.ReplayedUpdate {
			t.Fatalf("n3 refused its own revocation: %v", err)
		}
		st := n3.Status()
		if len(st.Peers) != 0 || st.Backend.Isolated == "" {
			t.Errorf("revoked n3: peers %v, isolated %q; want no peers and the reason", PeerIDs(st), st.Backend.Isolated)
		}
	})
}
