package membership

import (
	"crypto/ed25519"
	"crypto/sha512"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"filippo.io/edwards25519"
	"github.com/hdevalence/ed25519consensus"
)

// zipSigner is an Ed25519 key whose secret scalar is at hand, to build
// signatures crypto/ed25519.Sign never makes: with a small-order or
// mixed-order R, or over a non-canonical encoding.
type zipSigner struct {
	a   *edwards25519.Scalar // the secret scalar
	pub ApproverKey
}

func newZipSigner(t *testing.T, seed byte) zipSigner {
	t.Helper()
	h := sha512.Sum512(append(make([]byte, 31), seed))
	a, err := edwards25519.NewScalar().SetBytesWithClamping(h[:32])
	if err != nil {
		t.Fatal(err)
	}
	var s zipSigner
	s.a = a
	copy(s.pub[:], new(edwards25519.Point).ScalarBaseMult(a).Bytes())
	// The same key as crypto/ed25519 derives from that seed.
	if priv := ed25519.NewKeyFromSeed(append(make([]byte, 31), seed)); string(priv.Public().(ed25519.PublicKey)) != string(s.pub[:]) {
		t.Fatal("zipSigner derives another key than crypto/ed25519")
	}
	return s
}

// challenge is k = SHA-512(R ‖ A ‖ msg) mod L, over the encodings as given.
func challenge(t *testing.T, r []byte, a ApproverKey, msg []byte) *edwards25519.Scalar {
	t.Helper()
	h := sha512.New()
	h.Write(r)
	h.Write(a[:])
	h.Write(msg)
	k, err := edwards25519.NewScalar().SetUniformBytes(h.Sum(nil))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// signWithR signs msg with R encoded as rEnc, for R = [r]B + (whatever
// else rEnc adds): S = r + k·a. The signature verifies (cofactored) iff
// rEnc decodes to [r]B plus a point of small order.
func (s zipSigner) signWithR(t *testing.T, msg, rEnc []byte, r *edwards25519.Scalar) [64]byte {
	t.Helper()
	k := challenge(t, rEnc, s.pub, msg)
	S := edwards25519.NewScalar().MultiplyAdd(k, s.a, r)
	var sig [64]byte
	copy(sig[:32], rEnc)
	copy(sig[32:], S.Bytes())
	return sig
}

func mustHex(t *testing.T, h string) []byte {
	t.Helper()
	b, err := hex.DecodeString(h)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// order8 is a point of order 8 (as in weakkey_test.go).
const order8 = "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"

// ruleVector is one edge case of the signature rule.
type ruleVector struct {
	name   string
	pub    ApproverKey
	sig    [64]byte
	want   bool // under the rule (ZIP-215)
	stdlib bool // under crypto/ed25519.Verify
}

// mixedOrderKey is a signature under the mixed-order key A = [a]B + T (T of
// order 8) made with a's secret: S = r + k·a. Cofactored it verifies;
// cofactorless, [S]B − [k]A = [r]B − [k]T is R only if 8 divides k, so it
// picks r to make k not a multiple of 8 (7 of 8 choices are).
func mixedOrderKey(t *testing.T, s zipSigner, t8 *edwards25519.Point, msg []byte) ruleVector {
	t.Helper()
	var k ApproverKey
	copy(k[:], new(edwards25519.Point).Add(new(edwards25519.Point).ScalarBaseMult(s.a), t8).Bytes())
	mixed := zipSigner{a: s.a, pub: k}
	for i := range 64 {
		var seed [64]byte
		seed[0] = byte(i + 1)
		r, err := edwards25519.NewScalar().SetUniformBytes(seed[:])
		if err != nil {
			t.Fatal(err)
		}
		sig := mixed.signWithR(t, msg, new(edwards25519.Point).ScalarBaseMult(r).Bytes(), r)
		if !ed25519.Verify(k[:], msg, sig[:]) {
			return ruleVector{name: "mixed-order A = [a]B + T, R = [r]B: valid only cofactored", pub: k, sig: sig, want: true, stdlib: false}
		}
	}
	t.Fatal("no r of 64 gave a challenge that is not a multiple of 8")
	return ruleVector{}
}

// TestEd25519Rule: the edge cases of the one signature rule (ZIP-215, the
// encoding doc §3). For each, single and batch verification reach the
// wanted verdict — alone, and in a batch among valid signatures — and
// crypto/ed25519 (cofactorless, canonical R), which the rule replaced,
// reaches the verdict noted: where they differ, an older node refuses a
// signature a node of this version accepts (§11).
func TestEd25519Rule(t *testing.T) {
	msg := []byte("rustynet.membership.update.v2\x00net\x00{}")
	alice := newZipSigner(t, 1)
	privAlice := ed25519.NewKeyFromSeed(append(make([]byte, 31), 1))
	valid := func() [64]byte {
		var s [64]byte
		copy(s[:], ed25519.Sign(privAlice, msg))
		return s
	}
	zero := edwards25519.NewScalar()
	r, err := edwards25519.NewScalar().SetUniformBytes(make([]byte, 64))
	if err != nil {
		t.Fatal(err)
	}
	r.Add(r, edwards25519.NewScalar().Add(alice.a, alice.a)) // any fixed nonzero scalar
	rB := new(edwards25519.Point).ScalarBaseMult(r)
	t8, err := new(edwards25519.Point).SetBytes(mustHex(t, order8))
	if err != nil {
		t.Fatal(err)
	}
	identity := mustHex(t, "0100000000000000000000000000000000000000000000000000000000000000")
	// p+1: y = 1 non-canonically, the identity again.
	identityNonCanonical := mustHex(t, "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	// y = 1 with the sign bit set: x = −0, another non-canonical identity.
	identityMinusZero := mustHex(t, "0100000000000000000000000000000000000000000000000000000000000080")
	// L, the order of the prime subgroup, little-endian.
	L := mustHex(t, "edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010")

	vectors := []ruleVector{
		{name: "valid", pub: alice.pub, sig: valid(), want: true, stdlib: true},
		{name: "valid, one bit of S flipped", pub: alice.pub, sig: func() [64]byte { s := valid(); s[40] ^= 1; return s }(), want: false, stdlib: false},
		{name: "valid, other key", pub: newZipSigner(t, 2).pub, sig: valid(), want: false, stdlib: false},
		{name: "S ≥ L (S+L, same point)", pub: alice.pub, sig: func() [64]byte {
			s := valid()
			// S + L: still < 2^253, so only the S < L check refuses it.
			var c uint16
			for i := range 32 {
				c += uint16(s[32+i]) + uint16(L[i])
				s[32+i] = byte(c)
				c >>= 8
			}
			return s
		}(), want: false, stdlib: false},
		{name: "S = L", pub: alice.pub, sig: func() [64]byte {
			var s [64]byte
			copy(s[:32], identity)
			copy(s[32:], L)
			return s
		}(), want: false, stdlib: false},
		{name: "small-order R (identity), S = k·a", pub: alice.pub, sig: alice.signWithR(t, msg, identity, zero), want: true, stdlib: true},
		{name: "small-order R (order 8), S = k·a: valid only cofactored", pub: alice.pub, sig: alice.signWithR(t, msg, mustHex(t, order8), zero), want: true, stdlib: false},
		{name: "R = [r]B + torsion: valid only cofactored", pub: alice.pub, sig: alice.signWithR(t, msg, new(edwards25519.Point).Add(rB, t8).Bytes(), r), want: true, stdlib: false},
		{name: "R = [r]B, S = r + k·a (canonical, as Sign makes)", pub: alice.pub, sig: alice.signWithR(t, msg, rB.Bytes(), r), want: true, stdlib: true},
		{name: "non-canonical R (p+1 for the identity)", pub: alice.pub, sig: alice.signWithR(t, msg, identityNonCanonical, zero), want: true, stdlib: false},
		{name: "non-canonical R (x = −0)", pub: alice.pub, sig: alice.signWithR(t, msg, identityMinusZero, zero), want: true, stdlib: false},
		{name: "R not a point", pub: alice.pub, sig: func() [64]byte {
			s := valid()
			copy(s[:32], mustHex(t, "0200000000000000000000000000000000000000000000000000000000000000")) // y = 2 is not on the curve
			return s
		}(), want: false, stdlib: false},
		mixedOrderKey(t, alice, t8, msg),
		// Small-order keys: the rule accepts the universal signature under
		// them, canonical or not — which is why no small-order key may
		// be an approver (validateApprover, weakkey_test.go).
		{name: "small-order A (identity), R = identity, S = 0", pub: ApproverKey(identity), sig: func() [64]byte {
			var s [64]byte
			copy(s[:32], identity)
			return s
		}(), want: true, stdlib: true},
		{name: "non-canonical A (p+1 for the identity), R = identity, S = 0", pub: ApproverKey(identityNonCanonical), sig: func() [64]byte {
			var s [64]byte
			copy(s[:32], identity)
			return s
		}(), want: true, stdlib: true},
		{name: "A not a point", pub: ApproverKey(mustHex(t, "0200000000000000000000000000000000000000000000000000000000000000")), sig: valid(), want: false, stdlib: false},
	}
	if !smallOrderKey(ApproverKey(identity)) || !smallOrderKey(ApproverKey(identityNonCanonical)) || !smallOrderKey(ApproverKey(identityMinusZero)) || !smallOrderKey(ApproverKey(mustHex(t, order8))) {
		t.Error("a small-order key of these vectors is not refused as an approver key")
	}
	other := newZipSigner(t, 3)
	privOther := ed25519.NewKeyFromSeed(append(make([]byte, 31), 3))
	var good [64]byte
	copy(good[:], ed25519.Sign(privOther, []byte("another message")))
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			if got := verifyEd25519(v.pub, msg, &v.sig); got != v.want {
				t.Errorf("single: got %v, want %v", got, v.want)
			}
			if got := verifyEd25519Batch([]batchItem{{v.pub, msg, &v.sig}}); got != v.want {
				t.Errorf("batch of one: got %v, want %v", got, v.want)
			}
			among := []batchItem{{other.pub, []byte("another message"), &good}, {v.pub, msg, &v.sig}, {other.pub, []byte("another message"), &good}}
			if got := verifyEd25519Batch(among); got != v.want {
				t.Errorf("batch among valid signatures: got %v, want %v", got, v.want)
			}
			if got := ed25519.Verify(v.pub[:], msg, v.sig[:]); got != v.stdlib {
				t.Errorf("crypto/ed25519: got %v, want %v (the vector is not the edge case it names)", got, v.stdlib)
			}
		})
	}
	// All the valid vectors in one batch, and with one invalid among them.
	var all []batchItem
	for i := range vectors {
		if vectors[i].want {
			all = append(all, batchItem{vectors[i].pub, msg, &vectors[i].sig})
		}
	}
	if !verifyEd25519Batch(all) {
		t.Error("the valid vectors together: batch refused them")
	}
	for i := range vectors {
		if !vectors[i].want {
			if verifyEd25519Batch(append(all[:len(all):len(all)], batchItem{vectors[i].pub, msg, &vectors[i].sig})) {
				t.Errorf("the valid vectors and %q: batch accepted them", vectors[i].name)
			}
		}
	}
	if verifyEd25519Batch(nil) {
		t.Error("an empty batch verified")
	}
}

// TestEd25519BatchSharedKeys: a batch whose keys sign many signatures each
// (verifyEd25519Batch sums a key's terms) verifies exactly when every
// signature does: one signature moved to another key of the batch, to
// another message, or made invalid, and the batch fails.
func TestEd25519BatchSharedKeys(t *testing.T) {
	var privs []ed25519.PrivateKey
	var pubs []ApproverKey
	for i := range 3 {
		priv := ed25519.NewKeyFromSeed(append(make([]byte, 31), byte(10+i)))
		privs, pubs = append(privs, priv), append(pubs, ApproverKey(priv.Public().(ed25519.PublicKey)))
	}
	var items []batchItem
	for i := range 60 {
		k := (i * 7) % 3
		msg := fmt.Appendf(nil, "update %d", i)
		sig := new([64]byte)
		copy(sig[:], ed25519.Sign(privs[k], msg))
		items = append(items, batchItem{pubs[k], msg, sig})
	}
	if !verifyEd25519Batch(items) {
		t.Fatal("60 valid signatures by 3 keys: the batch refused them")
	}
	mutations := map[string]func(it *batchItem){
		"signed by another key of the batch": func(it *batchItem) {
			it.pub = pubs[(slices.Index(pubs, it.pub)+1)%3]
		},
		"another message": func(it *batchItem) { it.msg = []byte("something else") },
		"S changed": func(it *batchItem) {
			sig := *it.sig
			sig[40] ^= 1
			it.sig = &sig
		},
		"the signature of the next item": func(it *batchItem) {
			it.sig = items[(slices.IndexFunc(items, func(o batchItem) bool { return o.sig == it.sig })+1)%len(items)].sig
		},
	}
	for name, mutate := range mutations {
		for _, at := range []int{0, 31, 59} {
			bad := slices.Clone(items)
			mutate(&bad[at])
			if verifyEd25519Batch(bad) {
				t.Errorf("%s at %d: the batch verified", name, at)
			}
			if verifyEd25519(bad[at].pub, bad[at].msg, bad[at].sig) {
				t.Errorf("%s at %d: the signature verifies alone (not a bad signature)", name, at)
			}
		}
	}
}

// TestEd25519RuleGolden: every signature of the golden vectors (signed with
// crypto/ed25519 before the rule was ZIP-215) verifies under the rule,
// alone and as one batch per log, and under crypto/ed25519 still.
func TestEd25519RuleGolden(t *testing.T) {
	for _, dir := range []string{"golden", "golden-v2", "golden-v3"} {
		data, err := os.ReadFile(filepath.Join("testdata", dir, "log.json"))
		if err != nil {
			t.Fatal(err)
		}
		log, err := ParseLog(data, nil)
		if err != nil {
			t.Fatalf("%s: %v", dir, err)
		}
		var items []batchItem
		for _, u := range log {
			msg := signingMessage(u.Body.SchemaVersion, u.Body.NetworkID, u.raw)
			for i := range u.Signatures {
				s := &u.Signatures[i]
				if !verifyEd25519(s.PublicKey, msg, &s.Sig) || !ed25519.Verify(s.PublicKey[:], msg, s.Sig[:]) {
					t.Errorf("%s: epoch %d: signature %d does not verify", dir, u.Body.Epoch, i)
				}
				items = append(items, batchItem{s.PublicKey, msg, &s.Sig})
			}
		}
		if len(items) < 10 || !verifyEd25519Batch(items) {
			t.Errorf("%s: the %d signatures of the log do not verify as a batch", dir, len(items))
		}
	}
}

// BenchmarkEd25519Rule: the cost per signature of the rule, one at a time
// (crypto/ed25519 beside it, for the rule it replaced) and in batches of
// an update's 3 signatures and of Replay's 64 updates.
func BenchmarkEd25519Rule(b *testing.B) {
	var items []batchItem
	for i := range 192 {
		priv := ed25519.NewKeyFromSeed(append(make([]byte, 31), byte(i%5)))
		var pub ApproverKey
		copy(pub[:], priv.Public().(ed25519.PublicKey))
		msg := []byte{byte(i), byte(i >> 8), 'm'}
		sig := new([64]byte)
		copy(sig[:], ed25519.Sign(priv, msg))
		items = append(items, batchItem{pub, msg, sig})
	}
	perSig := func(b *testing.B, n int) {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/sig")
	}
	b.Run("crypto-ed25519", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			it := items[i%len(items)]
			if !ed25519.Verify(it.pub[:], it.msg, it.sig[:]) {
				b.Fatal("refused")
			}
		}
		perSig(b, 1)
	})
	b.Run("single", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			it := items[i%len(items)]
			if !verifyEd25519(it.pub, it.msg, it.sig) {
				b.Fatal("refused")
			}
		}
		perSig(b, 1)
	})
	for _, n := range []int{3, 192} {
		b.Run(fmt.Sprintf("batch-%d", n), func(b *testing.B) {
			for b.Loop() {
				if !verifyEd25519Batch(items[:n]) {
					b.Fatal("refused")
				}
			}
			perSig(b, n)
		})
		// ed25519consensus's own batch, one term per key and signature:
		// what verifyEd25519Batch's summing of a key's terms saves.
		b.Run(fmt.Sprintf("ed25519consensus-batch-%d", n), func(b *testing.B) {
			for b.Loop() {
				v := ed25519consensus.NewPreallocatedBatchVerifier(n)
				for _, it := range items[:n] {
					v.Add(it.pub[:], it.msg, it.sig[:])
				}
				if !v.Verify() {
					b.Fatal("refused")
				}
			}
			perSig(b, n)
		})
	}
}
