package ledger

import (
	"context"
	"encoding/hex"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/rustynet/rustynet/core/membership"
)

// Extension is an extension of the trusted log received piece by piece
// from an untrusted source (a feed's segments): Extend's rules, applied to
// a log that arrives in pieces instead of at once.
//
//   - Add verifies each piece as it arrives, outside the ledger's lock, so
//     the source's pace never holds the ledger: entries the trusted log
//     already has must be byte-identical to it (else the source serves a
//     fork: FORKED if its entry at the divergence is one side of an
//     equivocation, WRONG_PREV_ROOT otherwise); new entries are verified
//     in order, with every rule of history (signatures, thresholds, chain,
//     roots, replay), against the state the entries before them lead to.
//   - Verify says whether the extension would be committed now: it must not
//     end behind the trusted head (a rollback: STALE_EPOCH), and its newest
//     entry must also pass the acceptance rules at the current time. The
//     newest entry chains over all the others, so a quorum that signed it
//     now vouches for them; a stale update cannot be smuggled in on its own.
//   - Commit writes the new entries only if all of them verified and the
//     newest passes the acceptance rules; then each is appended in order.
//
// Memory: an Extension holds the new entries themselves until Commit (they
// are the values the ledger keeps once committed), the state the last one
// leads to and the one before it — never a state per entry, and never the
// source's bytes.
//
// The ledger may move on between Begin and Commit (an update applied
// through the API, entries from a peer): Commit then skips the new entries
// the ledger has meanwhile accepted, and treats one it accepted differently
// as a fork. A failed Add leaves the Extension failed: every later call
// returns the same error.
//
// An Extension is not safe for concurrent use; several may exist on one
// ledger.
type Extension struct {
	l *Ledger

	base      uint64 // the trusted head when begun
	networkID string // "" before the genesis is known
	// next is the epoch of the next entry Add expects; 0 until the first
	// Add, which may start anywhere from 1 to base+1.
	next uint64
	pre  *membership.State // the state the added entries lead to; nil before genesis
	// before is the state before the newest new entry, which Verify
	// checks under the acceptance rules.
	before *membership.State
	fresh  []*membership.SignedUpdate // the added entries past base, in order
	ids    map[[16]byte]bool          // their update ids
	err    error                      // the first failure; sticky
}

// BeginExtension begins an extension of the trusted head. It fails as
// Extend does on a ledger in restricted-safe mode (RESTRICTED_MODE). A
// ledger holding evidence of a fork still compares the source's entries
// with its own, as Extend does, but accepts no new entry (FORKED).
func (l *Ledger) BeginExtension() (*Extension, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.restricted != nil {
		return nil, restrictedf("the ledger is in restricted-safe mode: %v", l.restricted)
	}
	x := &Extension{l: l, base: l.head(), ids: map[[16]byte]bool{}}
	if l.chain != nil {
		x.pre = l.chain.State()
		x.networkID = x.pre.NetworkID()
	}
	return x, nil
}

// Base returns the trusted head (its epoch) the extension was begun on.
func (x *Extension) Base() uint64 { return x.base }

// Next returns the epoch of the next entry Add expects: base+1 before the
// first Add (which may also start earlier, with entries the trusted log
// has), else the one after the last added.
func (x *Extension) Next() uint64 {
	if x.next == 0 {
		return x.base + 1
	}
	return x.next
}

// Head returns the epoch and state root the added entries lead to: the
// trusted head's while none are new.
func (x *Extension) Head() (uint64, membership.Hash) {
	if x.pre == nil {
		return 0, membership.Hash{}
	}
	return x.pre.Epoch(), x.pre.Root()
}

// Len returns how many new entries (past Base) have been added.
func (x *Extension) Len() int { return len(x.fresh) }

// Err returns the failure that ended the extension, or nil.
func (x *Extension) Err() error { return x.err }

// Add verifies entries, the source's entries of epochs from, from+1, …:
// from must be Next() (the first Add may start at any epoch from 1 to
// Base()+1). Entries the trusted log has are compared with it, new ones
// verified as history, as the type's documentation says. On error nothing
// of entries is kept and the extension is failed.
func (x *Extension) Add(from uint64, entries []*membership.SignedUpdate) error {
	if x.err != nil {
		return x.err
	}
	if len(entries) == 0 {
		return nil
	}
	if (x.next == 0 && (from == 0 || from > x.base+1)) || (x.next != 0 && from != x.next) {
		return fmt.Errorf("ledger: the extension needs the entry of epoch %d next, not %d", x.Next(), from)
	}
	end := from + uint64(len(entries)) // the epoch after the last
	var fresh []*membership.SignedUpdate
	if end > x.base+1 {
		fresh = entries[max(x.base+1, from)-from:]
	}
	if err := x.checkKnown(from, entries[:len(entries)-len(fresh)], fresh); err != nil {
		x.err = err
		return err
	}
	if err := x.verify(fresh); err != nil {
		x.err = err
		return err
	}
	x.next = end
	return nil
}

// checkKnown compares known, the source's entries of epochs from on, with
// the trusted ones, and checks that no entry of fresh is one the trusted
// log (up to the base) already holds.
func (x *Extension) checkKnown(from uint64, known, fresh []*membership.SignedUpdate) error {
	l := x.l
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, u := range known {
		if err := l.compareEntry(from+uint64(i), u); err != nil {
			return err
		}
	}
	if len(fresh) > 0 && l.fork != nil {
		if l.settles(fresh[0]) {
			return &ResolutionAvailable{Update: fresh[0]}
		}
		return l.forkedErr()
	}
	if l.chain == nil {
		return nil
	}
	for _, u := range fresh {
		id := u.Body.UpdateID
		if e, seen := l.chain.Seen(id); seen && e <= x.base {
			return &membership.Error{Code: membership.ReplayedUpdate, Msg: fmt.Sprintf("update %s was already applied at epoch %d", hex.EncodeToString(id[:]), e)}
		}
	}
	return nil
}

// compareEntry checks that u, the source's entry of trusted epoch e, is the
// trusted entry; if not, the source serves a fork: FORKED if u is one side
// of an equivocation (see detectFork), WRONG_PREV_ROOT otherwise. l.mu must
// be held.
func (l *Ledger) compareEntry(e uint64, u *membership.SignedUpdate) error {
	same, err := l.sameBody(e, u)
	if err != nil {
		return err
	}
	if same {
		return nil
	}
	if l.settles(u) {
		return &ResolutionAvailable{Update: u}
	}
	if ferr := l.detectFork(u); ferr != nil {
		return ferr
	}
	return &membership.Error{Code: membership.WrongPrevRoot, Msg: fmt.Sprintf("the source's log diverges from the trusted log at epoch %d (fork)", e)}
}

// verify verifies fresh, the next new entries, as history against x.pre
// and advances x over them. Signatures are checked on every core first.
func (x *Extension) verify(fresh []*membership.SignedUpdate) error {
	if len(fresh) == 0 {
		return nil
	}
	precheck(fresh)
	pre, before := x.pre, x.before
	if pre == nil {
		if err := x.l.checkGenesis(fresh[0]); err != nil {
			return err
		}
		x.networkID = fresh[0].Body.NetworkID
		pre = membership.Empty(x.networkID)
	}
	opt := membership.Options{History: true, Limits: x.l.cfg.Limits}
	for _, u := range fresh {
		id := u.Body.UpdateID
		if x.ids[id] {
			return &membership.Error{Code: membership.ReplayedUpdate, Msg: "update " + hex.EncodeToString(id[:]) + " appears twice"}
		}
		res, err := membership.Evaluate(pre, u, opt)
		if err != nil {
			return prefixed(err, fmt.Sprintf("epoch %d: ", u.Body.Epoch))
		}
		x.ids[id] = true
		before, pre = pre, res.Post
	}
	x.pre, x.before = pre, before
	x.fresh = append(x.fresh, fresh...)
	return nil
}

// precheck verifies the signatures of us on every core, in runs of
// precheckRun updates verified together, remembering each
// verdict in its update (SignedUpdate.PrecheckSignatures) for Evaluate.
func precheck(us []*membership.SignedUpdate) {
	work := make(chan []*membership.SignedUpdate)
	var wg sync.WaitGroup
	runs := (len(us) + precheckRun - 1) / precheckRun
	for range min(runtime.GOMAXPROCS(0), runs) {
		wg.Go(func() {
			for run := range work {
				membership.PrecheckBatch(run)
			}
		})
	}
	for start := 0; start < len(us); start += precheckRun {
		work <- us[start:min(start+precheckRun, len(us))]
	}
	close(work)
	wg.Wait()
}

// Verify reports whether the extension, as added so far, would be
// committed now: it is not failed, does not end behind the trusted head it
// was begun on (STALE_EPOCH, a rollback; an extension to which nothing was
// added ends at epoch 0), the ledger holds no evidence of a fork (FORKED,
// as Extend), and its newest entry, if it has new entries, passes the
// acceptance rules at the current time. It changes nothing.
func (x *Extension) Verify() error {
	if err := x.l.forked(); err != nil {
		return err
	}
	return x.verifyAt(x.l.cfg.Now())
}

// forked returns the FORKED error of a forked ledger, else nil.
func (l *Ledger) forked() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.fork != nil {
		return l.forkedErr()
	}
	return nil
}

// verifyAt is Verify at the time now, but for the fork.
func (x *Extension) verifyAt(now time.Time) error {
	if x.err != nil {
		return x.err
	}
	var end uint64 // the source's last entry added
	if x.next > 0 {
		end = x.next - 1
	}
	if end < x.base {
		return &membership.Error{Code: membership.StaleEpoch, Msg: fmt.Sprintf("the source's log ends at epoch %d, behind the trusted epoch %d (rollback)", end, x.base)}
	}
	if len(x.fresh) == 0 {
		return nil
	}
	u := x.fresh[len(x.fresh)-1]
	if _, err := membership.Evaluate(x.before, u, membership.Options{Now: now, Limits: x.l.cfg.Limits}); err != nil {
		return prefixed(err, fmt.Sprintf("epoch %d: ", u.Body.Epoch))
	}
	return nil
}

// Commit verifies the extension as Verify does and, if it passes, appends
// its new entries durably in order and makes the last one's state the
// trusted state; the high-water mark is advanced once, after the last. It
// returns the entries it appended: new entries the ledger accepted
// meanwhile from elsewhere are skipped (and one it accepted differently
// is a fork, as in Add). Verification failures append nothing. A storage
// failure, or ctx ending, stops between two entries: the entries appended
// before stay (each verified, and vouched for by the newest), as with
// Extend.
func (x *Extension) Commit(ctx context.Context) ([]*membership.SignedUpdate, error) {
	l := x.l
	now := l.cfg.Now()
	if err := x.verifyAt(now); err != nil {
		return nil, err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.restricted != nil {
		return nil, restrictedf("the ledger is in restricted-safe mode: %v", l.restricted)
	}
	if l.fork != nil {
		return nil, l.forkedErr()
	}
	fresh := x.fresh
	head := l.head()
	if head < x.base {
		return nil, fmt.Errorf("ledger: the trusted log shrank from %d to %d entries during the extension", x.base, head)
	}
	// The ledger moved on: what it accepted meanwhile must be ours.
	for e := x.base + 1; e <= head && len(fresh) > 0; e++ {
		if err := l.compareEntry(e, fresh[0]); err != nil {
			return nil, err
		}
		fresh = fresh[1:]
	}
	if len(fresh) == 0 {
		return nil, nil
	}
	chain := l.chain
	if chain == nil {
		chain = membership.NewChain(x.networkID)
	}
	var applied int
	var err error
	for i, u := range fresh {
		if err = context.Cause(ctx); err != nil {
			break
		}
		var res *membership.Result
		res, err = chain.Evaluate(u, membership.Options{History: i < len(fresh)-1, Now: now, Limits: l.cfg.Limits})
		if err != nil {
			err = prefixed(err, fmt.Sprintf("epoch %d: ", u.Body.Epoch))
			break
		}
		if err = l.appendVerified(ctx, chain, res); err != nil {
			break
		}
		applied++
	}
	if applied > 0 {
		l.advanceHighWater()
	}
	return fresh[:applied], err
}

// appendVerified is commit without the high-water mark, which the caller
// advances once after a batch: a mark behind the log is what a crash
// between an append and its mark leaves anyway, and Open advances it. l.mu
// must be held.
func (l *Ledger) appendVerified(ctx context.Context, chain *membership.Chain, res *membership.Result) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	index := uint64(len(l.roots)) + 1
	data := encodeEntry(index, l.lastHash, res.Update)
	if err := l.append(ctx, index, data); err != nil {
		return err
	}
	if err := chain.Commit(res); err != nil {
		return err
	}
	l.chain = chain
	l.prevState = res.Pre
	l.push(res.Update, res.Post.Root(), hashEntry(data))
	if index-l.snapIndex >= l.cfg.SnapshotEvery && !l.snapBusy {
		l.snapshotInBackground()
	}
	return nil
}
