package membership_test

import (
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// TestEarlySignatureVerdicts runs the signature checks, whose known
// signers Evaluate verifies in parallel with computing the post state, on
// a small update (an add_node) and a large one (a set_policy of 300
// rules): the answers are those of verifying one at a time, in the order
// the signatures come — a bad signature is refused naming its signer, an
// unknown signer before it is refused as unknown, and a valid quorum
// applies.
func TestEarlySignatureVerdicts(t *testing.T) {
	for _, c := range []struct {
		name string
		op   membership.Operation
	}{
		{"add_node", membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("x1", 900)}},
		{"set_policy of 300 rules", membership.Operation{Type: membership.OpSetPolicy, Policy: membershiptest.MeshRules(300, 0, membershiptest.NodeID)}},
	} {
		t.Run(c.name, func(t *testing.T) { testSignatureVerdicts(t, c.op) })
	}
}

func testSignatureVerdicts(t *testing.T, op membership.Operation) {
	net := membershiptest.New(t, 4)
	u := net.Propose(t, op)
	msg := docSigningMessage("test", u.BodyBytes())
	alice, bob, carol := net.Approvers["alice"], net.Approvers["bob"], net.Approvers["carol"]
	mallory := membershiptest.NewApprover("mallory", membership.RoleApprover)
	forged := rawSign(mallory, msg)
	bobForged := wireSig{bob.PublicKey.String(), forged.Signature}
	cases := []struct {
		name string
		sigs []wireSig
		code membership.Code
		why  string
	}{
		{"second of three forged", []wireSig{rawSign(alice, msg), bobForged, rawSign(carol, msg)}, membership.BadSignature, "bob"},
		{"last of three forged", []wireSig{rawSign(alice, msg), rawSign(carol, msg), bobForged}, membership.BadSignature, "bob"},
		{"an unknown signer before a forged one", []wireSig{rawSign(alice, msg), forged, bobForged}, membership.UnknownSigner, mallory.PublicKey.String()},
		{"a forged one before an unknown signer", []wireSig{bobForged, forged, rawSign(alice, msg)}, membership.BadSignature, "bob"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			wantReject(t, net, mustParse(t, envelope(u.BodyBytes(), c.sigs...)), c.code, c.why)
		})
	}
	net.MustApply(t, mustParse(t, envelope(u.BodyBytes(), rawSign(alice, msg), rawSign(bob, msg), rawSign(carol, msg))))
}
