package membership

import (
	"crypto/ed25519"
	"crypto/sha256"
)

// signingMessage is what approvers sign: a fixed context string of the
// record's schema version, the network id and the canonical body,
// NUL-separated. The network id cannot contain NUL (validID), so the
// framing is unambiguous.
func signingMessage(version uint64, networkID string, body []byte) []byte {
	domain := domainSignature
	if version >= 2 {
		domain = domainSignatureV2
	}
	m := make([]byte, 0, len(domain)+len(networkID)+1+len(body))
	m = append(m, domain...)
	m = append(m, networkID...)
	m = append(m, 0)
	return append(m, body...)
}

// updateDigest is the digest a state records for the update that produced
// it: SHA-256 over the canonical body without new_state_root (the root
// covers the digest, so the digest cannot cover the root), under the
// domain of the record's schema version.
func updateDigest(b *Body) Hash {
	w := canonWriter{b: make([]byte, 0, 512)}
	w.b = append(w.b, updateDigestDomain(b.SchemaVersion)...)
	w.body(b, false)
	return sha256.Sum256(w.b)
}

// updateDigestDomain is the domain separator of the update digest of a
// record of schema version v.
func updateDigestDomain(v uint64) string {
	if v >= 2 {
		return domainUpdateDigestV2
	}
	return domainUpdateDigest
}

// Sign appends priv's signature to u. It refuses (DUPLICATE_SIGNER) a key
// that already signed u, and (NON_CANONICAL) an update whose Body is not
// what its bytes decode to: build updates with NewUpdate or
// ParseSignedUpdate and do not change Body afterwards. Sign does not check
// that priv belongs to an approver; verification does.
func (u *SignedUpdate) Sign(priv ed25519.PrivateKey) error {
	if len(priv) != ed25519.PrivateKeySize {
		return errorf(BadSignature, "not an Ed25519 private key")
	}
	if _, err := u.bound(); err != nil {
		return err
	}
	var pub ApproverKey
	copy(pub[:], priv.Public().(ed25519.PublicKey))
	for _, s := range u.Signatures {
		if s.PublicKey == pub {
			return errorf(DuplicateSigner, "key %s already signed this update", pub)
		}
	}
	var sig Signature
	sig.PublicKey = pub
	copy(sig.Sig[:], ed25519.Sign(priv, signingMessage(u.Body.SchemaVersion, u.Body.NetworkID, u.raw)))
	u.Signatures = append(u.Signatures, sig)
	return nil
}

// VerifySignature reports whether u's i-th signature verifies over u's
// body under the key it names. It says nothing of whether that key may
// sign (Evaluate decides that against a state).
func (u *SignedUpdate) VerifySignature(i int) bool { return u.verifySignature(&u.Signatures[i]) }

func (u *SignedUpdate) verifySignature(s *Signature) bool {
	if ok, done := u.prechecked[*s]; done {
		return ok
	}
	return verifyEd25519(s.PublicKey, signingMessage(u.Body.SchemaVersion, u.Body.NetworkID, u.raw), &s.Sig)
}

// PrecheckSignatures verifies every signature of u now and remembers the
// verdicts, so that verifying many updates (replaying a log) can check
// their signatures in parallel before the reducer runs them in order.
// A signature's validity depends only on its key, its bytes and the
// update's signed bytes, so the remembered verdict is the one Evaluate
// would reach; an entry changed afterwards is verified afresh. It must not
// run concurrently with other methods on u; different updates may be
// prechecked concurrently. The signatures are verified as one batch, and
// one at a time only if the batch fails: the verdicts are the same
// (verifyEd25519Batch).
func (u *SignedUpdate) PrecheckSignatures() { precheckBatch([]*SignedUpdate{u}) }

// PrecheckBatch prechecks the signatures of every update of us, as
// PrecheckSignatures does each, verifying them together in batches of
// precheckBatchSize updates: a batch of 192 signatures costs several
// times less per signature than an update's 3 alone
// (BenchmarkEd25519Rule). The verdicts are those of verifying each
// signature alone. It must not run concurrently with other methods on
// us's updates; calls on different updates may run concurrently. A caller
// that decodes a log on several cores (ledger) should precheck runs of
// consecutive updates with it rather than each update by itself.
func PrecheckBatch(us []*SignedUpdate) {
	for len(us) > 0 {
		n := min(len(us), precheckBatchSize)
		precheckBatch(us[:n])
		us = us[n:]
	}
}

// precheckBatch prechecks the signatures of us (PrecheckSignatures) as one
// batch: if they all verify together, every verdict is true; otherwise
// each update is prechecked as a batch of its own, and the signatures of
// an update whose batch fails are verified one at a time, so the verdict
// of each is exactly the single verification's. An update in us that is not
// bound to its signed bytes is skipped (Evaluate refuses it before any
// signature). The updates must be used by nothing else meanwhile.
func precheckBatch(us []*SignedUpdate) {
	items := make([]batchItem, 0, 3*len(us))
	bound := make([]*SignedUpdate, 0, len(us))
	msgs := make([][]byte, 0, len(us))
	for _, u := range us {
		if _, err := u.bound(); err != nil {
			continue
		}
		msg := signingMessage(u.Body.SchemaVersion, u.Body.NetworkID, u.raw)
		bound, msgs = append(bound, u), append(msgs, msg)
		for i := range u.Signatures {
			s := &u.Signatures[i]
			items = append(items, batchItem{pub: s.PublicKey, msg: msg, sig: &s.Sig})
		}
	}
	all := len(items) > 0 && verifyEd25519Batch(items)
	if !all && len(bound) > 1 {
		// Find the failing update(s) a batch of one update at a time.
		for _, u := range bound {
			precheckBatch([]*SignedUpdate{u})
		}
		return
	}
	for k, u := range bound {
		m := make(map[Signature]bool, len(u.Signatures))
		for _, s := range u.Signatures {
			if all {
				m[s] = true
			} else if _, done := m[s]; !done {
				m[s] = verifyEd25519(s.PublicKey, msgs[k], &s.Sig)
			}
		}
		u.prechecked = m
	}
}
