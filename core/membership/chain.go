package membership

import (
	"encoding/hex"
	"slices"
	"strings"
)

// Chain is a node's trusted membership: the current State plus the set of
// update ids already applied, which makes replay of any applied update
// fail with REPLAYED_UPDATE (on top of the epoch and root checks).
// A Chain is not safe for concurrent use.
type Chain struct {
	state *State
	seen  map[[16]byte]uint64 // update id → epoch it was applied at
}

// NewChain returns the chain of network networkID before its genesis.
func NewChain(networkID string) *Chain {
	return &Chain{state: Empty(networkID), seen: map[[16]byte]uint64{}}
}

// State returns the current trusted state.
func (c *Chain) State() *State { return c.state }

// Seen reports whether an update with this id was applied, and at which epoch.
func (c *Chain) Seen(id [16]byte) (uint64, bool) {
	e, ok := c.seen[id]
	return e, ok
}

// Evaluate verifies u against the current state without applying it.
func (c *Chain) Evaluate(u *SignedUpdate, opt Options) (*Result, error) {
	if e, ok := c.seen[u.Body.UpdateID]; ok {
		return &Result{Pre: c.state, Update: u}, errorf(ReplayedUpdate, "update %s was already applied at epoch %d", hex.EncodeToString(u.Body.UpdateID[:]), e)
	}
	return Evaluate(c.state, u, opt)
}

// Apply verifies u and, only if it is valid, makes its post-state current.
// On error the chain is unchanged.
func (c *Chain) Apply(u *SignedUpdate, opt Options) (*Result, error) {
	res, err := c.Evaluate(u, opt)
	if err != nil {
		return res, err
	}
	c.state = res.Post
	c.seen[u.Body.UpdateID] = u.Body.Epoch
	return res, nil
}

// Replay rebuilds a chain from a log that starts at genesis, verifying every
// entry with the rules of history (Options.History). If pinnedGenesis is
// non-zero, the genesis must produce exactly that root. It returns the chain
// and the number of entries applied; on error the entry at index applied
// (0-based) is the one that failed. Signatures are checked on every core
// ahead of the reducer, which applies the entries in order; Replay must not
// run concurrently with other uses of log's updates.
func Replay(log []*SignedUpdate, pinnedGenesis Hash, l *Limits) (c *Chain, applied int, err error) {
	if len(log) == 0 {
		return nil, 0, errorf(IntegrityFailure, "the log is empty: it must start with a genesis")
	}
	g := log[0]
	if g.Body.Operation.Type != OpGenesis {
		return nil, 0, errorf(IntegrityFailure, "the log starts with %s, not genesis", g.Body.Operation.Type)
	}
	if pinnedGenesis != (Hash{}) && g.Body.NewStateRoot != pinnedGenesis {
		return nil, 0, errorf(IntegrityFailure, "genesis root %s is not the pinned root %s", g.Body.NewStateRoot, pinnedGenesis)
	}
	c = NewChain(g.Body.NetworkID)
	wait, stop := precheckAhead(log)
	defer stop()
	for i, u := range log {
		wait(i)
		if _, err := c.Apply(u, Options{History: true, Limits: l}); err != nil {
			return c, i, err
		}
	}
	return c, len(log), nil
}

func sortBy[T any](xs []T, key func(T) string) {
	slices.SortStableFunc(xs, func(a, b T) int { return strings.Compare(key(a), key(b)) })
}
