package membership_test

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// smallOrderKeys are the encodings of the small-order Ed25519 points,
// computed independently of the engine's list: y = 0, 1, p−1, the two
// y-coordinates of the order-8 points (the roots of y² = −x²,
// x² = (1 ± √(1+d))/d), and the non-canonical p and p+1; each with and
// without the sign bit.
func smallOrderKeys(t *testing.T) map[string][]byte {
	hex32 := map[string]string{
		"0":       "0000000000000000000000000000000000000000000000000000000000000000",
		"1":       "0100000000000000000000000000000000000000000000000000000000000000",
		"order8":  "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
		"order8'": "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
		"p-1":     "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"p":       "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
		"p+1":     "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	}
	out := map[string][]byte{}
	for name, h := range hex32 {
		k, err := hex.DecodeString(h)
		if err != nil {
			t.Fatal(err)
		}
		out[name] = k
		neg := append([]byte(nil), k...)
		neg[31] |= 0x80
		out[name+" -x"] = neg
	}
	return out
}

// universalSig is R = identity, S = 0: it verifies, under a small-order
// key A, every message whose challenge k makes [k]A the identity.
func universalSig() []byte {
	s := make([]byte, 64)
	s[0] = 1
	return s
}

// TestSmallOrderKeysForgeable shows why the engine refuses small-order
// approver keys: under every one of these encodings (Go's Verify accepts
// them all, canonical or not), a signature made without any secret
// verifies for a share of messages (1/order of them).
func TestSmallOrderKeysForgeable(t *testing.T) {
	for name, k := range smallOrderKeys(t) {
		n := 0
		for i := range 256 {
			if ed25519.Verify(k, []byte{byte(i), 'm'}, universalSig()) {
				n++
			}
		}
		if n == 0 {
			t.Errorf("%s: got no forgeable message of 256, want some (is it really of small order?)", name)
		}
		if name == "1" && n != 256 {
			t.Errorf("identity key: got %d of 256, want every message forgeable", n)
		}
	}
	genuine := membershiptest.NewApprover("alice", "").PublicKey
	for i := range 256 {
		if ed25519.Verify(genuine[:], []byte{byte(i), 'm'}, universalSig()) {
			t.Fatalf("a genuine key accepted the universal signature")
		}
	}
}

// TestSmallOrderApproverRefused: no small-order key becomes an approver, by
// add_approver or genesis, even with a valid quorum and a "proof of
// possession" that the universal signature provides for free.
func TestSmallOrderApproverRefused(t *testing.T) {
	for name, k := range smallOrderKeys(t) {
		t.Run(name, func(t *testing.T) {
			net := membershiptest.New(t, 1)
			var key membership.ApproverKey
			copy(key[:], k)
			op := membership.Operation{Type: membership.OpAddApprover, Approver: membership.Approver{ID: "weak", PublicKey: key, Role: membership.RoleApprover}}
			u := forge(t, nextBody(net.Chain.State(), op, net.Now))
			if p, err := membership.NewUpdate(net.Chain.State(), op, net.Proposal()); err == nil {
				u = p
			}
			net.Sign(t, u, "alice", "bob", "carol")
			u = withSigs(t, u, wireSig{base64.StdEncoding.EncodeToString(k), base64.StdEncoding.EncodeToString(universalSig())})
			wantReject(t, net, u, membership.IllegalOperation, "small-order")

			pre := preGenesis(t)
			as := []membership.Approver{approvers("alice")[0].Approver, {ID: "weak", PublicKey: key, Role: membership.RoleApprover}}
			_, err := membership.NewGenesis("test", 1, as, nil, membership.DefaultPolicy(), pre.Proposal())
			wantCode(t, err, membership.IllegalOperation)
		})
	}
}

// TestSmallOrderRecoveryKeyRefused: no small-order key joins a recovery
// set either (set_recovery here), whose "proof of possession" the
// universal signature would give for free and whose recover signatures
// anyone could then make.
func TestSmallOrderRecoveryKeyRefused(t *testing.T) {
	for name, k := range smallOrderKeys(t) {
		t.Run(name, func(t *testing.T) {
			net := membershiptest.New(t, 1)
			var key membership.ApproverKey
			copy(key[:], k)
			op := membership.Operation{Type: membership.OpSetRecovery, Recovery: &membership.Recovery{Keys: []membership.ApproverKey{key}, Threshold: 1}}
			_, err := membership.NewUpdate(net.Chain.State(), op, net.Proposal())
			wantCode(t, err, membership.IllegalOperation)
			if err == nil || !strings.Contains(err.Error(), "small-order") && !strings.Contains(err.Error(), "all zeroes") {
				t.Errorf("refused for another reason: %v", err)
			}
		})
	}
}
