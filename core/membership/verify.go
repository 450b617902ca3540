package membership

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"sync"
	"time"
)

// Options control one verification.
type Options struct {
	// Now is the acceptance time: the update must not be expired at Now and
	// its created_at must not lie beyond Now + Limits.MaxClockSkew. It is
	// injected so callers and tests control the clock.
	Now time.Time
	// History verifies an entry of an already-trusted log: every rule holds
	// except the comparisons with Now, because expiry gates acceptance only
	// and history stays valid after its updates expire.
	History bool
	// Limits; the zero value means DefaultLimits().
	Limits *Limits
}

func (o *Options) limits() *Limits {
	if o.Limits != nil {
		return o.Limits
	}
	l := DefaultLimits()
	return &l
}

// SignerCheck is what verification found about one signature entry.
type SignerCheck struct {
	Key    ApproverKey
	ID     string // approver id in the pre- or post-state; "" if unknown
	Role   Role
	InPre  bool // an approver of the pre-state: counts toward its threshold
	InPost bool // an approver of the post-state: counts toward its threshold
	// Recovery: a key of the recovery set this update may be signed by
	// (the pre-state's for recover, counting toward its threshold; the
	// post-state's for a genesis or set_recovery, as proof of possession).
	// Its ID is "recovery:" and the key.
	Recovery bool
	// DoubleSigner: the key signed two sides of the fork a resolve_fork
	// settles; its signature counts toward nothing.
	DoubleSigner bool
	Valid        bool // the signature verifies (and, for a resolve_fork, counts)
}

// known reports whether the signer may sign this update at all: an
// approver of the pre- or post-state, or a recovery key it may be signed
// by. An unknown signer's signature is never verified.
func (c *SignerCheck) known() bool { return c.InPre || c.InPost || c.Recovery }

// ThresholdCheck counts distinct valid approver signatures against a need.
type ThresholdCheck struct {
	Have, Need uint64
}

// Met reports whether Have reaches Need.
func (t ThresholdCheck) Met() bool { return t.Have >= t.Need }

// Authorization is the signature side of a verification, filled in as far
// as verification got, so that a rejected update can still be explained.
type Authorization struct {
	Signers []SignerCheck
	// Old is the threshold of the pre-state's approvers (every update but
	// genesis needs it).
	Old *ThresholdCheck
	// New is the threshold of the post-state's approvers (genesis and
	// approver-set/threshold changes need it too).
	New *ThresholdCheck
	// Recovery is the threshold of the pre-state's recovery keys (recover
	// needs it, and no approver's signature).
	Recovery *ThresholdCheck
	// OwnerRequired: an owner of the pre-state must sign.
	OwnerRequired bool
	OwnerSigned   bool
	// MustSign lists approvers that must sign their own addition (every
	// approver at genesis; the added one for add_approver); Missing, those
	// of them that did not.
	MustSign []string
	Missing  []string
	// DoubleSigners (a resolve_fork only) are the ids of the approvers who
	// signed two sides of the fork it settles, sorted: their signatures on
	// it count toward nothing, so they are no one to ask for one.
	DoubleSigners []string
}

// Result is the outcome of a verification. On success Post is the state the
// update leads to. On failure the Result (if non-nil) still carries Pre,
// Update and as much of Auth as was determined, and Post is nil.
type Result struct {
	Pre    *State
	Post   *State
	Update *SignedUpdate
	Auth   Authorization
}

// Evaluate decides whether u may be applied to pre, without side effects:
// the pure reducer `state + signed update → new state | typed error`.
//
// The checks, in order (the first failure decides the code): body size
// (LIMIT_EXCEEDED); Body is exactly what the signed bytes decode to
// (NON_CANONICAL); network id (WRONG_NETWORK); epoch = pre+1
// (STALE_EPOCH); prev_state_root = pre root (WRONG_PREV_ROOT); validity
// window and, unless History, expiry and clock skew (EXPIRED,
// NOT_YET_VALID, LIMIT_EXCEEDED); signature count (LIMIT_EXCEEDED) and
// duplicates (DUPLICATE_SIGNER); the record's schema version (SchemaFor)
// and the operation's legality (ILLEGAL_OPERATION, BAD_THRESHOLD,
// OWNER_REQUIRED, LIMIT_EXCEEDED); new_state_root
// (WRONG_NEW_ROOT); every signature entry is an approver of the pre- or
// post-state (UNKNOWN_SIGNER) and verifies (BAD_SIGNATURE); thresholds
// (THRESHOLD_NOT_MET), owner (OWNER_REQUIRED), self-signature of added
// approvers (NEW_APPROVER_MUST_SIGN).
//
// Signature policy: an update carrying any signature that is not a valid
// signature of a known approver is rejected outright rather than having that
// entry ignored, so a signed update is either wholly valid or refused.
// Evaluate does not check update_id replay; Chain does.
func Evaluate(pre *State, u *SignedUpdate, opt Options) (*Result, error) {
	l := opt.limits()
	res := &Result{Pre: pre, Update: u}
	b := &u.Body
	op := &b.Operation

	if err := checkBodySize(len(u.raw), op.Type, l); err != nil {
		return res, err
	}
	lay, err := u.bound()
	if err != nil {
		return res, err
	}
	if b.NetworkID != pre.networkID {
		return res, errorf(WrongNetwork, "update is for network %q, this node is in %q", b.NetworkID, pre.networkID)
	}
	switch {
	case b.Epoch <= pre.epoch:
		return res, errorf(StaleEpoch, "update is for epoch %d, the trusted state is already at epoch %d (expected %d)", b.Epoch, pre.epoch, pre.epoch+1)
	case b.Epoch > pre.epoch+1:
		return res, errorf(FutureEpoch, "update is for epoch %d, the trusted state is at epoch %d: the %d update(s) before it are missing here (apply them first, or fetch the log)", b.Epoch, pre.epoch, b.Epoch-pre.epoch-1)
	}
	if b.PrevStateRoot != pre.root {
		return res, errorf(WrongPrevRoot, "update chains from root %s, the trusted root is %s", b.PrevStateRoot, pre.root)
	}
	if err := checkTimes(b, opt, l); err != nil {
		return res, err
	}
	if len(u.Signatures) > l.maxSignatures() {
		return res, errorf(LimitExceeded, "%d signatures exceed the limit of %d", len(u.Signatures), l.maxSignatures())
	}
	seen := make(map[ApproverKey]bool, len(u.Signatures))
	for _, s := range u.Signatures {
		if seen[s.PublicKey] {
			return res, errorf(DuplicateSigner, "key %s signed more than once", s.PublicKey)
		}
		seen[s.PublicKey] = true
	}

	if want := SchemaFor(pre, op); b.SchemaVersion != want {
		return res, errorf(IllegalOperation, "update is a schema %d record; %s on this state must be schema %d (a state with recovery keys takes only schema 3 updates, one with a policy only schema 2, one without either only schema 1; set_policy is schema 2 or more, set_recovery and recover are 3)", b.SchemaVersion, op.Type, want)
	}
	var doubles map[ApproverKey]bool
	if op.Type == OpResolveFork {
		if doubles, err = checkSides(pre, op, l); err != nil {
			return res, err
		}
	}
	early := u.verifyEarly(pre)
	defer early.wait()
	bld, err := reduce(pre, op, u.boundPolicy(lay), l)
	if err != nil {
		return res, err
	}
	post := bld.finish(b.Epoch, u.boundDigest(lay))
	if post.root != b.NewStateRoot {
		return res, errorf(WrongNewRoot, "update claims new root %s, applying it gives %s", b.NewStateRoot, post.root)
	}
	early.wait()
	if err := authorize(res, pre, post, u, doubles, early); err != nil {
		return res, err
	}
	res.Post = post
	return res, nil
}

// checkBodySize refuses a body of n bytes above the limit of its
// operation type: MaxGenesisBytes for a genesis, MaxPolicyUpdateBytes for
// a set_policy, MaxUpdateBytes for the others.
func checkBodySize(n int, op OpType, l *Limits) error {
	max := l.MaxUpdateBytes
	switch op {
	case OpGenesis:
		max = l.MaxGenesisBytes
	case OpSetPolicy:
		max = l.MaxPolicyUpdateBytes
	case OpResolveFork:
		// It carries its sides, each up to a set_policy's size.
		max = l.MaxGenesisBytes
	}
	if n > max {
		return errorf(LimitExceeded, "update body is %d bytes, the limit for %s is %d", n, op, max)
	}
	return nil
}

// bound checks that u.Body is exactly what u's body bytes decode to, and
// returns where the parts bodyLayout names lie in them. The reducer acts
// on Body and signatures cover the bytes, so a Body changed in memory after
// parsing (or a SignedUpdate built as a literal, whose bytes are empty)
// must not be verified against signatures of other bytes.
func (u *SignedUpdate) bound() (bodyLayout, error) {
	w := canonWriter{b: make([]byte, 0, len(u.raw))}
	w.body(&u.Body, true)
	if !bytes.Equal(w.b, u.raw) {
		return bodyLayout{}, errorf(NonCanonical, "the update's decoded body is not the encoding of its signed bytes (changed after parsing, or not built by ParseSignedUpdate/NewUpdate)")
	}
	return w.layout, nil
}

// boundDigest is updateDigest(&u.Body) of an update bound has checked,
// with lay the layout it returned: the digest covers the body's canonical
// bytes without new_state_root, which are u's bytes without that member,
// so they are hashed in place rather than encoded again (a set_policy of
// 1,000 rules is ~100 KB of canonical JSON). TestBoundParts holds the two
// equal.
func (u *SignedUpdate) boundDigest(lay bodyLayout) Hash {
	h := sha256.New()
	h.Write([]byte(updateDigestDomain(u.Body.SchemaVersion)))
	h.Write(u.raw[:lay.root[0]])
	h.Write(u.raw[lay.root[1]:])
	var d Hash
	h.Sum(d[:0])
	return d
}

// boundPolicy is EncodePolicy of a set_policy update's policy, of an
// update bound has checked (lay its layout): the bytes of u's body that
// encode it. nil for any other operation.
func (u *SignedUpdate) boundPolicy(lay bodyLayout) []byte {
	if u.Body.Operation.Type != OpSetPolicy {
		return nil
	}
	return u.raw[lay.policy[0]:lay.policy[1]:lay.policy[1]]
}

func checkTimes(b *Body, opt Options, l *Limits) error {
	if b.ExpiresAt <= b.CreatedAt {
		return errorf(Expired, "update expires (%d) no later than it was created (%d)", b.ExpiresAt, b.CreatedAt)
	}
	// Compare in seconds: times reach 2^53 s, which overflows a Duration.
	if validity := b.ExpiresAt - b.CreatedAt; validity > int64(l.MaxValidity/time.Second) {
		return errorf(LimitExceeded, "update is valid for %d s, the limit is %s", validity, l.MaxValidity)
	}
	if opt.History {
		return nil
	}
	now := opt.Now.Unix()
	if b.ExpiresAt <= now {
		return errorf(Expired, "update expired at %s", time.Unix(b.ExpiresAt, 0).UTC().Format(time.RFC3339))
	}
	if b.CreatedAt > now+int64(l.MaxClockSkew/time.Second) {
		return errorf(NotYetValid, "update was created at %s, beyond the allowed clock skew of %s", time.Unix(b.CreatedAt, 0).UTC().Format(time.RFC3339), l.MaxClockSkew)
	}
	return nil
}

// earlyVerdicts are the verdicts of the signatures Evaluate verifies
// while it computes the post state (verifyEarly).
type earlyVerdicts struct {
	wg       sync.WaitGroup
	verified []bool // which signatures were verified here (nil: none)
	valid    []bool
}

// verifyEarly starts verifying, each on its own goroutine, the signatures
// of u that a key of pre may have made (an approver's or a recovery
// key's) and that no precheck has verified, so that they are verified
// while Evaluate computes the post state rather than after it: on a
// member change at 10,000 members that computation and the three
// signatures take about as long each. Only keys pre knows are verified
// before the update is found legal, so a body full of signatures of
// unknown keys costs no verification, as before. The verdicts are
// verifySignature's, and authorize reads them in order, so Evaluate's
// answer is the one it gives verifying one at a time. The caller must
// wait before it returns, on every path: the goroutines read u.
func (u *SignedUpdate) verifyEarly(pre *State) *earlyVerdicts {
	e := &earlyVerdicts{}
	for i := range u.Signatures {
		s := &u.Signatures[i]
		if _, done := u.prechecked[*s]; done {
			continue
		}
		if _, ok := pre.ApproverByKey(s.PublicKey); !ok && !pre.recovery.Has(s.PublicKey) {
			continue
		}
		if e.verified == nil {
			e.verified, e.valid = make([]bool, len(u.Signatures)), make([]bool, len(u.Signatures))
		}
		e.verified[i] = true
		e.wg.Go(func() { e.valid[i] = u.verifySignature(s) })
	}
	return e
}

// wait waits for the verifications to end; it may be called again.
func (e *earlyVerdicts) wait() { e.wg.Wait() }

// verdict returns the verdict of u's i-th signature if verifyEarly
// verified it (after wait).
func (e *earlyVerdicts) verdict(i int) (valid, verified bool) {
	if e.verified == nil || !e.verified[i] {
		return false, false
	}
	return e.valid[i], true
}

// recoverySignerID names recovery key k among an update's signers.
func recoverySignerID(k ApproverKey) string { return "recovery:" + k.String() }

// authorize checks the signatures of u against the pre- and post-state
// approver sets and fills res.Auth. early holds the verdicts verifyEarly
// reached (waited for); the other signatures are verified here.
//
// For a resolve_fork the rules are those of the operation it applies (its
// chosen side's; none: an ordinary update's), and the keys in doubles —
// the double-signers of its sides — are named but count toward nothing.
func authorize(res *Result, pre, post *State, u *SignedUpdate, doubles map[ApproverKey]bool, early *earlyVerdicts) error {
	a := &res.Auth
	op := &u.Body.Operation
	if op.Type == OpResolveFork {
		op = &Operation{} // none chosen: the ordinary rule
		if chosen := u.Body.Operation.chosen(); chosen != nil {
			op = &chosen.Body.Operation
		}
		for _, st := range []*State{pre, post} {
			for _, ap := range st.approvers {
				if doubles[ap.PublicKey] && !slices.Contains(a.DoubleSigners, ap.ID) {
					a.DoubleSigners = append(a.DoubleSigners, ap.ID)
				}
			}
		}
		slices.Sort(a.DoubleSigners)
	}
	// The recovery keys that may sign this update (see SignerCheck).
	var recovery *Recovery
	switch op.Type {
	case OpGenesis, OpSetRecovery:
		recovery = post.recovery
	case OpRecover:
		recovery = pre.recovery
	}
	for i := range u.Signatures {
		s := &u.Signatures[i]
		c := SignerCheck{Key: s.PublicKey, DoubleSigner: doubles[s.PublicKey]}
		if recovery.Has(s.PublicKey) {
			c.ID, c.Recovery = recoverySignerID(s.PublicKey), true
		}
		if ap, ok := pre.ApproverByKey(s.PublicKey); ok {
			c.ID, c.Role, c.InPre = ap.ID, ap.Role, true
		}
		if ap, ok := post.ApproverByKey(s.PublicKey); ok {
			c.ID, c.Role, c.InPost = ap.ID, ap.Role, true
		}
		a.Signers = append(a.Signers, c)
	}
	for i := range a.Signers {
		c := &a.Signers[i]
		if !c.known() {
			return errorf(UnknownSigner, "key %s is not an approver", c.Key)
		}
		if valid, verified := early.verdict(i); verified {
			c.Valid = valid
		} else {
			c.Valid = u.verifySignature(&u.Signatures[i])
		}
		if !c.Valid {
			return errorf(BadSignature, "signature of %s (%s) does not verify over this update", c.ID, c.Key)
		}
		// A double-signer's signature is checked but proves nothing: it
		// counts toward no threshold and is no owner's or new approver's.
		c.Valid = !c.DoubleSigner
	}

	count := func(inPre bool) uint64 {
		var n uint64
		for _, c := range a.Signers {
			if c.Valid && (inPre && c.InPre || !inPre && c.InPost) {
				n++
			}
		}
		return n
	}
	signed := func(id string) bool {
		for _, c := range a.Signers {
			if c.Valid && c.ID == id {
				return true
			}
		}
		return false
	}

	switch {
	case op.Type == OpGenesis:
		a.New = &ThresholdCheck{Have: count(false), Need: post.threshold}
		for _, ap := range post.approvers {
			a.MustSign = append(a.MustSign, ap.ID)
		}
		if post.recovery != nil {
			for _, k := range post.recovery.Keys {
				a.MustSign = append(a.MustSign, recoverySignerID(k))
			}
		}
	case op.Type == OpRecover:
		// The recovery keys replace the approvers: no approver's signature
		// is needed or counted (their keys may be lost), and every new
		// approver proves it holds its key.
		var have uint64
		for _, c := range a.Signers {
			if c.Valid && c.Recovery {
				have++
			}
		}
		a.Recovery = &ThresholdCheck{Have: have, Need: pre.recovery.Threshold}
		for _, ap := range post.approvers {
			a.MustSign = append(a.MustSign, ap.ID)
		}
	case op.Type == OpSetRecovery:
		a.Old = &ThresholdCheck{Have: count(true), Need: pre.threshold}
		a.OwnerRequired = true
		for _, c := range a.Signers {
			a.OwnerSigned = a.OwnerSigned || c.Valid && c.InPre && c.Role == RoleOwner
		}
		for _, k := range post.recovery.Keys {
			if !pre.recovery.Has(k) {
				a.MustSign = append(a.MustSign, recoverySignerID(k))
			}
		}
	case op.Type.governs():
		a.Old = &ThresholdCheck{Have: count(true), Need: pre.threshold}
		a.New = &ThresholdCheck{Have: count(false), Need: post.threshold}
		a.OwnerRequired = true
		for _, c := range a.Signers {
			a.OwnerSigned = a.OwnerSigned || c.Valid && c.InPre && c.Role == RoleOwner
		}
		if op.Type == OpAddApprover {
			a.MustSign = []string{op.Approver.ID}
		}
	default:
		a.Old = &ThresholdCheck{Have: count(true), Need: pre.threshold}
	}
	for _, id := range a.MustSign {
		if !signed(id) {
			a.Missing = append(a.Missing, id)
		}
	}

	if a.Old != nil && !a.Old.Met() {
		return errorf(ThresholdNotMet, "%d of %d approver signatures", a.Old.Have, a.Old.Need)
	}
	if a.New != nil && !a.New.Met() {
		return errorf(ThresholdNotMet, "%d of %d signatures of the resulting approver set", a.New.Have, a.New.Need)
	}
	if a.Recovery != nil && !a.Recovery.Met() {
		return errorf(ThresholdNotMet, "%d of %d recovery signatures", a.Recovery.Have, a.Recovery.Need)
	}
	if a.OwnerRequired && !a.OwnerSigned {
		return errorf(OwnerRequired, "%s needs the signature of an owner", op.Type)
	}
	if len(a.Missing) > 0 {
		return errorf(NewApproverMustSign, "approver(s) %v must sign their own addition", a.Missing)
	}
	return nil
}
