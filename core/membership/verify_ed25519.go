package membership

import (
	"crypto/rand"
	"crypto/sha512"
	"slices"

	"filippo.io/edwards25519"
	"github.com/hdevalence/ed25519consensus"
)

// The one rule by which every membership signature is verified (the
// encoding doc §3): Ed25519 under ZIP-215. It accepts any encoding of A and
// R that decodes to a curve point, canonical or not, requires S < L, and
// checks the cofactored equation [8][S]B = [8]R + [8][k]A. Batch
// verification (verifyEd25519Batch) checks a random linear combination
// of the same cofactored equations, so a batch verifies
// exactly when every one of its signatures verifies alone (up to a chance
// of 2^-128 per batch that an invalid one slips through): the two can
// never disagree the way cofactorless single and cofactored batch
// verification do on signatures with a torsion component.
//
// crypto/ed25519.Verify is cofactorless and refuses non-canonical R; never
// use it for membership signatures. Signing stays crypto/ed25519.Sign,
// whose signatures both rules accept.

// verifyEd25519 reports whether sig is a valid signature of msg under pub
// by the rule above.
func verifyEd25519(pub ApproverKey, msg []byte, sig *[64]byte) bool {
	return ed25519consensus.Verify(pub[:], msg, sig[:])
}

// batchItem is one signature to verify in a batch.
type batchItem struct {
	pub ApproverKey
	msg []byte
	sig *[64]byte
}

// verifyEd25519Batch reports whether every signature of items verifies by
// the rule above, checking them together. false means at least one does
// not (or items is empty): verify them one at a time to find which.
//
// It checks ed25519consensus.BatchVerifier's equation,
//
//	[8]( [-Σ z_i·S_i]B + Σ [z_i]R_i + Σ [z_i·k_i]A_i ) = 0
//
// with z_i random 128-bit scalars, but with the terms of one key summed
// into one: Σ_{i: A_i = A} [z_i·k_i]A = [Σ z_i·k_i]A, the same group
// element. A log's signatures come from a handful of approvers, so a batch
// of a log's updates decodes each key once and multiplies each once
// instead of once per signature (the key terms carry full-width scalars,
// the R terms only 128-bit ones): about twice as fast per signature as
// ed25519consensus on Replay's batches (BenchmarkEd25519Rule). Keys are
// grouped by their bytes, which are what k_i hashes, so two encodings of
// one point stay two terms: still the same sum.
func verifyEd25519Batch(items []batchItem) bool {
	n := len(items)
	if n == 0 {
		return false
	}
	z := make([]byte, 16*n)
	if _, err := rand.Read(z); err != nil {
		return false
	}
	// Terms: B, then one R per signature, then one A per distinct key.
	scalars := make([]edwards25519.Scalar, 1+n, 1+n+8)
	points := make([]edwards25519.Point, 1+n, 1+n+8)
	var keys []ApproverKey // keys[j] is the key of term 1+n+j
	var zBuf [32]byte
	var s, k edwards25519.Scalar
	var digest [64]byte
	h := sha512.New()
	for i, it := range items {
		if _, err := points[1+i].SetBytes(it.sig[:32]); err != nil {
			return false
		}
		if _, err := s.SetCanonicalBytes(it.sig[32:]); err != nil {
			return false
		}
		copy(zBuf[:16], z[16*i:])
		var zi edwards25519.Scalar
		if _, err := zi.SetCanonicalBytes(zBuf[:]); err != nil {
			return false
		}
		scalars[1+i] = zi
		h.Reset()
		h.Write(it.sig[:32])
		h.Write(it.pub[:])
		h.Write(it.msg)
		if _, err := k.SetUniformBytes(h.Sum(digest[:0])); err != nil {
			return false
		}
		scalars[0].MultiplyAdd(&zi, &s, &scalars[0])
		j := slices.Index(keys, it.pub)
		if j < 0 {
			j = len(keys)
			keys = append(keys, it.pub)
			scalars = append(scalars, edwards25519.Scalar{})
			points = append(points, edwards25519.Point{})
			if _, err := points[1+n+j].SetBytes(it.pub[:]); err != nil {
				return false
			}
		}
		aj := &scalars[1+n+j]
		aj.MultiplyAdd(&zi, &k, aj)
	}
	scalars[0].Negate(&scalars[0])
	points[0].Set(edwards25519.NewGeneratorPoint())
	sp := make([]*edwards25519.Scalar, len(scalars))
	pp := make([]*edwards25519.Point, len(points))
	for i := range scalars {
		sp[i], pp[i] = &scalars[i], &points[i]
	}
	check := new(edwards25519.Point).VarTimeMultiScalarMult(sp, pp)
	check.MultByCofactor(check)
	return check.Equal(edwards25519.NewIdentityPoint()) == 1
}
