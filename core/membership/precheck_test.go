package membership_test

import (
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// TestPrecheckCannotLaunderASignature: a verdict remembered by
// PrecheckSignatures never vouches for a signature entry changed after it.
func TestPrecheckCannotLaunderASignature(t *testing.T) {
	net := membershiptest.New(t, 2)
	u := net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("x", 50)})
	net.Sign(t, u, "alice", "bob")
	u.PrecheckSignatures()
	u.Signatures[1].Sig[0] ^= 1 // forged after the precheck
	if _, err := net.Chain.Evaluate(u, net.Options()); membership.CodeOf(err) != membership.BadSignature {
		t.Fatalf("a signature changed after the precheck: %v, want BAD_SIGNATURE", err)
	}
	u.Signatures[1].Sig[0] ^= 1 // restored: the remembered verdict applies again
	if _, err := net.Chain.Evaluate(u, net.Options()); err != nil {
		t.Fatalf("the prechecked, unchanged update: %v", err)
	}
	bad := net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("y", 51)})
	net.Sign(t, bad, "alice", "bob")
	bad.Signatures[0].Sig[5] ^= 1
	bad.PrecheckSignatures()
	if _, err := net.Chain.Evaluate(bad, net.Options()); membership.CodeOf(err) != membership.BadSignature {
		t.Fatalf("a prechecked forged signature: %v, want BAD_SIGNATURE", err)
	}
}
