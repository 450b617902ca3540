package membership

import (
	"bytes"
	"slices"
)

// A resolve_fork (schema 4, encoding doc §15, docs/forks.md "Resolution")
// settles a fork: it is an update of the fork's own epoch, extending the
// state every side extends, that carries the sides it settles and applies
// the operation of one of them (its choice) or none. On a node it replaces
// whichever side that node holds. Its rules, besides an ordinary update's:
//
//   - its sides are 2 to MaxForkSides distinct updates, each valid on the
//     state it extends by the rules of history, and at least two of them
//     were live at once (a fork, CheckEquivocation's test);
//   - the double-signers — every key whose valid signature is on two sides
//     that were live at once — count toward nothing: the thresholds the
//     chosen operation needs (the pre-state's, and the resulting set's or
//     the owner's for a change of approvers) must be met by others.
//
// So it cannot itself be forked unseen: two different resolutions of one
// fork are two updates of the same epoch extending the same state — an
// equivocation like any other, and one whose double-signers can only be
// approvers the first fork did not name.

// chosen returns the side a resolve_fork applies, or nil for none (or for
// another operation).
func (op *Operation) chosen() *SignedUpdate {
	if op.Type != OpResolveFork || op.Choice == (Hash{}) {
		return nil
	}
	for _, u := range op.Sides {
		if digestOf(u) == op.Choice {
			return u
		}
	}
	return nil
}

// checkSides verifies the sides of a resolve_fork on pre and returns its
// double-signers (keys). It fails with ILLEGAL_OPERATION when a side does
// not verify on pre or the sides are no fork.
func checkSides(pre *State, op *Operation, l *Limits) (map[ApproverKey]bool, error) {
	signers := make([]map[ApproverKey]bool, len(op.Sides))
	for i, u := range op.Sides {
		res, err := Evaluate(pre, u, Options{History: true, Limits: l})
		if err != nil {
			return nil, errorf(IllegalOperation, "resolve_fork: side %d (%s) is not valid on the state it extends: %v", i+1, short(digestOf(u)), err)
		}
		signers[i] = map[ApproverKey]bool{}
		for _, c := range res.Auth.Signers {
			if c.Valid {
				signers[i][c.Key] = true
			}
		}
	}
	doubles := map[ApproverKey]bool{}
	forked := false
	for i, a := range op.Sides {
		for j := i + 1; j < len(op.Sides); j++ {
			b := op.Sides[j]
			if a.Body.ExpiresAt <= b.Body.CreatedAt || b.Body.ExpiresAt <= a.Body.CreatedAt {
				continue // a retry after expiry, not a fork
			}
			forked = true
			for k := range signers[i] {
				if signers[j][k] {
					doubles[k] = true
				}
			}
		}
	}
	if !forked {
		return nil, errorf(IllegalOperation, "resolve_fork: its sides are no fork (no two of them were live at once)")
	}
	return doubles, nil
}

// Supersedes reports whether r is a resolve_fork that settles u: u is one
// of its sides, or is settled by one of them (a resolution of an earlier
// round of the same fork). It checks form only; r's validity is Evaluate's.
func Supersedes(r, u *SignedUpdate) bool {
	if r.Body.Operation.Type != OpResolveFork || r.Body.Epoch != u.Body.Epoch {
		return false
	}
	for _, s := range r.Body.Operation.Sides {
		if bytes.Equal(s.raw, u.raw) || Supersedes(s, u) {
			return true
		}
	}
	return false
}

// Settles reports whether r supersedes both updates of ev: a node holding
// ev and trusting r holds no fork there any more.
func Settles(r *SignedUpdate, ev *Evidence) bool {
	return Supersedes(r, ev.Updates[0]) && Supersedes(r, ev.Updates[1])
}

// Digest returns u's update digest: what a state records of the update
// that produced it, and how a resolve_fork names its choice.
func (u *SignedUpdate) Digest() Hash { return digestOf(u) }

// NewResolution builds the unsigned resolve_fork of the fork that sides
// make on pre, applying the side whose digest is choice (zero: none). The
// sides are ordered as §15 requires; the result verifies (Evaluate) once
// enough approvers that are not double-signers sign it.
func NewResolution(pre *State, sides []*SignedUpdate, choice Hash, p Proposal) (*SignedUpdate, error) {
	sides = slices.Clone(sides)
	slices.SortFunc(sides, func(a, b *SignedUpdate) int { return bytes.Compare(digestOf(a).bytes(), digestOf(b).bytes()) })
	sides = slices.CompactFunc(sides, func(a, b *SignedUpdate) bool { return digestOf(a) == digestOf(b) })
	l := p.Limits
	if l == nil {
		d := DefaultLimits()
		l = &d
	}
	op := Operation{Type: OpResolveFork, Sides: sides, Choice: choice}
	if len(sides) < 2 || len(sides) > MaxForkSides {
		return nil, errorf(IllegalOperation, "resolve_fork: %d distinct side(s); it settles 2 to %d", len(sides), MaxForkSides)
	}
	if choice != (Hash{}) && op.chosen() == nil {
		return nil, errorf(IllegalOperation, "resolve_fork: the choice %s is not the digest of one of its sides", choice)
	}
	if _, err := checkSides(pre, &op, l); err != nil {
		return nil, err
	}
	return NewUpdate(pre, op, p)
}
