package membership_test

import (
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// TestLargeUpdateSignatures runs the signature checks on an update large
// enough that its signatures are verified in parallel (a set_policy of 300
// rules): the answers are those of verifying one at a time, in the order
// the signatures come — a bad signature is refused naming its signer, an
// unknown signer before it is refused as unknown, and a valid quorum
// applies.
func TestLargeUpdateSignatures(t *testing.T) {
	net := membershiptest.New(t, 4)
	u := net.Propose(t, membership.Operation{Type: membership.OpSetPolicy, Policy: membershiptest.MeshRules(300, 0, membershiptest.NodeID)})
	if n := len(u.BodyBytes()); n < 20<<10 {
		t.Fatalf("the update's body is %d bytes: too small to be verified in parallel", n)
	}
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
