package ledger

import (
	"context"
	"encoding/hex"
	"fmt"

	"github.com/rustynet/rustynet/core/membership"
)

// Extend applies the new suffix of log, a whole log from genesis fetched
// from an untrusted source (a feed, a peer). It returns how many updates it
// applied.
//
//   - Every entry up to the trusted head must be byte-identical to the
//     trusted entry (else the source serves a fork: WRONG_PREV_ROOT).
//   - A log shorter than the trusted one is a rollback (STALE_EPOCH).
//   - The new entries are verified in order against the trusted state: all
//     of them with every rule, and the newest also under the acceptance
//     rules at the current time. The newest entry chains, through its
//     prev_state_root, over all the others, so a quorum that signs it now
//     vouches for them: a node that was offline past an update's expiry can
//     still catch up, while a stale, never-applied update cannot be
//     smuggled in on its own.
//   - Nothing is committed unless every new entry verifies; then each is
//     committed in order.
//   - A source whose entry at the divergence is one side of an
//     equivocation (see Ledger.Apply) makes the ledger forked: FORKED.
func (l *Ledger) Extend(ctx context.Context, log []*membership.SignedUpdate) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.restricted != nil {
		return 0, restrictedf("the ledger is in restricted-safe mode: %v", l.restricted)
	}
	head := l.head()
	if uint64(len(log)) < head {
		return 0, &membership.Error{Code: membership.StaleEpoch, Msg: fmt.Sprintf("the source's log ends at epoch %d, behind the trusted epoch %d (rollback)", len(log), head)}
	}
	for i := range head {
		same, err := l.sameBody(i+1, log[i])
		if err != nil {
			return 0, err
		}
		if !same {
			if ferr := l.detectFork(log[i]); ferr != nil {
				return 0, ferr
			}
			return 0, &membership.Error{Code: membership.WrongPrevRoot, Msg: fmt.Sprintf("the source's log diverges from the trusted log at epoch %d (fork)", i+1)}
		}
	}
	return l.extendFresh(ctx, log[head:])
}

// ExtendAt is Extend of the trusted log as it is at epoch base followed by
// fresh, the source's entries of epochs base+1, …, without handing the
// whole log over (which, older than the window, would be read back from
// the store only to be compared with itself). base must be the trusted
// head: a ledger that moved on refuses with STALE_EPOCH and applies
// nothing.
func (l *Ledger) ExtendAt(ctx context.Context, base uint64, fresh []*membership.SignedUpdate) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.restricted != nil {
		return 0, restrictedf("the ledger is in restricted-safe mode: %v", l.restricted)
	}
	if base != l.head() {
		return 0, &membership.Error{Code: membership.StaleEpoch, Msg: fmt.Sprintf("entries after epoch %d offered to a log whose head is %d", base, l.head())}
	}
	return l.extendFresh(ctx, fresh)
}

// extendFresh is the end of Extend: fresh are the source's entries after
// the trusted head. l.mu must be held.
func (l *Ledger) extendFresh(ctx context.Context, fresh []*membership.SignedUpdate) (int, error) {
	if l.fork != nil { // the source agrees with the trusted log; nothing more is accepted
		return 0, l.forkedErr()
	}
	if len(fresh) == 0 {
		return 0, nil
	}
	chain := l.chain
	if chain == nil {
		if err := l.checkGenesis(fresh[0]); err != nil {
			return 0, err
		}
		chain = membership.NewChain(fresh[0].Body.NetworkID)
	}
	pre := chain.State()
	ids := map[[16]byte]bool{}
	results := make([]*membership.Result, 0, len(fresh))
	for i, u := range fresh {
		id := u.Body.UpdateID
		if _, seen := chain.Seen(id); seen || ids[id] {
			return 0, &membership.Error{Code: membership.ReplayedUpdate, Msg: "update " + hex.EncodeToString(id[:]) + " appears twice"}
		}
		ids[id] = true
		// Only the newest entry is checked against the clock.
		opt := membership.Options{History: i < len(fresh)-1, Now: l.cfg.Now(), Limits: l.cfg.Limits}
		res, err := membership.Evaluate(pre, u, opt)
		if err != nil {
			return 0, prefixed(err, fmt.Sprintf("epoch %d: ", u.Body.Epoch))
		}
		results = append(results, res)
		pre = res.Post
	}
	for i, res := range results {
		if err := l.commit(ctx, chain, res); err != nil {
			return i, err
		}
	}
	return len(results), nil
}

func prefixed(err error, prefix string) error {
	if e, ok := err.(*membership.Error); ok {
		return &membership.Error{Code: e.Code, Msg: prefix + e.Msg}
	}
	return err
}
