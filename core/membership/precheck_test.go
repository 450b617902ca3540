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

// TestReplayFindsAForgedSignatureAnywhere: Replay checks signatures on every
// core ahead of the reducer; a forged signature still stops the replay at
// exactly its entry, wherever it is, and the entries before it apply.
func TestReplayFindsAForgedSignatureAnywhere(t *testing.T) {
	net := membershiptest.New(t, 2)
	for i := range 40 {
		net.MustApply(t, net.Sign(t, net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(membershiptest.NodeID(1000+i), 1000+i)}), "alice", "bob"))
	}
	data := membership.EncodeLog(net.Log)
	for _, at := range []int{0, 1, 20, len(net.Log) - 1} {
		log, err := membership.ParseLog(data, nil)
		if err != nil {
			t.Fatal(err)
		}
		log[at].Signatures[len(log[at].Signatures)-1].Sig[9] ^= 1
		c, n, err := membership.Replay(log, membership.Hash{}, nil)
		if membership.CodeOf(err) != membership.BadSignature || n != at {
			t.Errorf("forged signature at entry %d: Replay stopped at %d with %v, want BAD_SIGNATURE there", at, n, err)
		}
		if at > 0 && c.State().Epoch() != uint64(at) {
			t.Errorf("forged signature at entry %d: chain at epoch %d, want %d", at, c.State().Epoch(), at)
		}
	}
}
