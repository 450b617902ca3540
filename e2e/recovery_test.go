package e2e

import (
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// TestRecoveryOnARunningMesh: a network whose genesis declared three cold
// recovery keys (2 of 3) loses every approver key, the owner's included.
// One recovery key and any number of other keys gain nothing; two recovery
// keys and the new approvers' own signatures replace the approver set on
// one running node, the exchange of heads carries it to the others with
// no file edited anywhere, and from then on the new approvers govern every
// node while the old keys are refused.
func TestRecoveryOnARunningMesh(t *testing.T) {
	t.Parallel()
	c := newCluster(t, Options{Members: []string{"n1", "n2", "n3"}, RecoveryKeys: 3, RecoveryThreshold: 2})
	n1, n2, n3 := c.Node("n1"), c.Node("n2"), c.Node("n3")
	fast := NodeConfig{SyncInterval: 300 * time.Millisecond}
	for _, n := range []*Node{n1, n2, n3} {
		n.Start(fast)
	}
	if r := c.State().Recovery(); r == nil || r.Threshold != 2 || len(r.Keys) != 3 {
		t.Fatalf("genesis recovery set %+v", r)
	}

	var as []membership.Approver
	for i, id := range []string{"b1", "b2"} {
		a := membershiptest.NewApprover(id, membership.RoleApprover)
		if i == 0 {
			a.Role = membership.RoleOwner
		}
		as = append(as, a.Approver)
	}
	op := membership.Operation{Type: membership.OpRecover, Approvers: membership.NewApproverSet(as), Threshold: 2}
	before := n1.Status().Trust.StateRoot
	for _, signers := range [][]string{
		{"r1", "b1", "b2"},             // one recovery key
		{"r1", "a1", "a2", "b1", "b2"}, // one recovery key and the lost approvers' keys
	} {
		u := c.Sign(c.Propose(op), signers...)
		if _, err := n1.Apply(u); membership.CodeOf(err) != membership.ThresholdNotMet {
			t.Fatalf("recover signed by %v: %v, want THRESHOLD_NOT_MET", signers, err)
		}
	}
	if n1.Status().Trust.StateRoot != before {
		t.Fatal("a refused recovery changed n1's state")
	}

	rec := c.Sign(c.Propose(op), "r1", "r3", "b1", "b2")
	c.ApplyAll(rec, "n1")
	head := c.State().Root().String()
	for _, n := range []*Node{n2, n3} {
		n.WaitStatus(n.ID+" recovered by the exchange", syncWithin, func(st controlapi.Status) bool { return st.Trust.StateRoot == head })
	}

	add := membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(ExtraMemberID(1), extraBase+1)}
	if _, err := n2.Apply(c.Sign(c.Propose(add), "a1", "a2", "a3")); membership.CodeOf(err) != membership.UnknownSigner {
		t.Errorf("the old approvers after the recovery: %v, want UNKNOWN_SIGNER", err)
	}
	if _, err := n2.Apply(c.Sign(c.Propose(add), "r1", "r2")); membership.CodeOf(err) != membership.UnknownSigner {
		t.Errorf("recovery keys governing: %v, want UNKNOWN_SIGNER", err)
	}
	c.ApplyAll(c.Sign(c.Propose(add), "b1", "b2"), "n3")
	head = c.State().Root().String()
	for _, n := range []*Node{n1, n2} {
		n.WaitStatus(n.ID+" takes the new approvers' update", syncWithin, func(st controlapi.Status) bool { return st.Trust.StateRoot == head })
	}
	n1.WaitReach(n3, reachWithin)
}
