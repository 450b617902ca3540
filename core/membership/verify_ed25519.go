package membership

import (
	"github.com/hdevalence/ed25519consensus"
)

// The one rule by which every membership signature is verified (the
// encoding doc §3): Ed25519 under ZIP-215. It accepts any encoding of A and
// R that decodes to a curve point, canonical or not, requires S < L, and
// checks the cofactored equation [8][S]B = [8]R + [8][k]A. Batch
// verification (ed25519consensus.BatchVerifier) checks a random linear
// combination of the same cofactored equations, so a batch verifies
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
// the rule above, checking them together (about twice as fast as one at a
// time). false means at least one does not (or items is empty): verify
// them one at a time to find which.
func verifyEd25519Batch(items []batchItem) bool {
	if len(items) == 0 {
		return false
	}
	v := ed25519consensus.NewPreallocatedBatchVerifier(len(items))
	for _, it := range items {
		v.Add(it.pub[:], it.msg, it.sig[:])
	}
	return v.Verify()
}
