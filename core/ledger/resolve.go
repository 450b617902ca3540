package ledger

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

// A fork resolution (membership.OpResolveFork, docs/forks.md) is the one
// update that replaces entries of the log: an update of a fork's epoch k,
// valid on the trusted state at k − 1, that settles the log's own entry at
// k (and every piece of evidence the ledger holds at k). The ledger then
// drops its entries from k on — the side it followed, and whatever it
// applied after it — and appends the resolution at k.
//
// Crash safety. The high-water mark, which forbids the log to shrink, is
// told first: it is rewritten with the resolution's epoch and digest
// ("resolving"), and the resolution itself is kept beside it, before the
// store is touched. Then the store truncates (from the top down: a crash
// leaves a shorter prefix, never a hole) and appends the resolution, and
// the mark moves to it. An Open that finds a mark still resolving finishes
// the job: the resolution must verify on the state at k − 1 of the log as
// it finds it and settle the log's entry at k, if it still has one; no
// other shrinking of the log is ever accepted.

// resolvingMark is the part of the high-water mark that says a resolution
// is under way.
type resolvingMark struct {
	Epoch  uint64 `json:"epoch"`
	Digest string `json:"update_digest"`
}

// ResolutionAvailable is the error an extension (a feed's log, a peer's)
// fails with when the source's entry at a trusted epoch is a fork
// resolution that settles the node's own: the caller hands Update to
// Ledger.Resolve, and extends from there. Its code is the divergence's,
// WRONG_PREV_ROOT, for callers that only look at codes.
type ResolutionAvailable struct {
	Update *membership.SignedUpdate
}

func (e *ResolutionAvailable) Error() string {
	return fmt.Sprintf("the source's entry of epoch %d is a fork resolution that settles this node's (resolve it)", e.Update.Body.Epoch)
}

// Unwrap gives the error's code.
func (e *ResolutionAvailable) Unwrap() error {
	return &membership.Error{Code: membership.WrongPrevRoot, Msg: e.Error()}
}

// settles reports whether r is a resolution this ledger could take: a
// resolve_fork of an epoch k from 2 up to the head + 1 that settles the
// log's entry at k (if it has one) and every piece of evidence it holds at
// k, with no evidence below k. It checks form, not validity. l.mu must be
// held.
func (l *Ledger) settles(r *membership.SignedUpdate) bool {
	k := r.Body.Epoch
	if r.Body.Operation.Type != membership.OpResolveFork || l.chain == nil || l.restricted != nil ||
		k < 2 || k > l.head()+1 || r.Body.NetworkID != l.chain.State().NetworkID() || r.Body.PrevStateRoot != l.roots[k-2] {
		return false
	}
	if k <= l.head() {
		ours, err := l.updateAt(k)
		if err != nil {
			l.log.Error("reading the log back to check a fork resolution failed", "epoch", k, "err", err)
			return false
		}
		if !membership.Supersedes(r, ours) {
			return false
		}
	}
	if k == l.head()+1 && l.fork == nil {
		return false // an ordinary next update: Apply takes it
	}
	if l.fork != nil {
		for _, it := range l.fork.Items {
			if it.Report.Epoch < k || it.Report.Epoch == k && !membership.Settles(r, it.Evidence) {
				return false
			}
		}
	}
	return true
}

// Resolve takes r, a fork resolution that settles this node's entry at its
// epoch or the fork the node holds evidence of there (see settles): it
// verifies r now on the trusted state at r's epoch − 1, then replaces the
// log from that epoch on by r, durably (see the crash-safety note above),
// and drops the evidence it settles. It returns (nil, nil) when r is not
// such a resolution, so that the caller's own verdict on r stands.
//
// The store plugin must support Truncate (hostapi.StoreCapTruncate); one
// that does not fails the resolution with UNSUPPORTED and changes nothing.
func (l *Ledger) Resolve(ctx context.Context, r *membership.SignedUpdate) (*membership.Result, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.resolveLocked(ctx, r)
}

// resolveLocked is Resolve; l.mu must be held, and it may be released and
// taken again while a background snapshot write ends (a snapshot landing
// after the truncation would lie beyond the log).
func (l *Ledger) resolveLocked(ctx context.Context, r *membership.SignedUpdate) (*membership.Result, error) {
	for l.snapBusy {
		l.mu.Unlock()
		l.snapshots.Wait()
		l.mu.Lock()
	}
	if !l.settles(r) || !l.signedByKnownKeys(r) {
		return nil, nil
	}
	k := r.Body.Epoch
	chain, err := l.chainAt(k - 1)
	if err != nil {
		return nil, err
	}
	res, err := chain.Evaluate(r, membership.Options{Now: l.cfg.Now(), Limits: l.cfg.Limits})
	if err != nil {
		return res, prefixed(err, "fork resolution: ")
	}
	if err := l.replaceSuffix(ctx, chain, res); err != nil {
		return res, err
	}
	return res, nil
}

// chainAt rebuilds the trusted chain as it was after epoch e (0 < e ≤
// head). l.mu must be held.
// The chain is a fresh replay (a resolution is rare), never l.chain, which
// stays the trusted one until the resolution is durable.
func (l *Ledger) chainAt(e uint64) (*membership.Chain, error) {
	prefix, err := l.updateRange(1, e)
	if err != nil {
		return nil, err
	}
	chain, _, err := membership.Replay(prefix, l.cfg.GenesisRoot, l.cfg.Limits)
	return chain, err
}

// replaceSuffix makes res (a verified resolution of epoch k) the log's
// entry at k, dropping the entries from k on. l.mu must be held.
func (l *Ledger) replaceSuffix(ctx context.Context, chain *membership.Chain, res *membership.Result) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), commitTimeout)
	defer cancel()
	r := res.Update
	k := r.Body.Epoch
	info, err := l.cfg.Store.Info(ctx)
	if err != nil {
		return fmt.Errorf("ledger: asking the store what it supports: %w", err)
	}
	if !info.Capabilities.Has(hostapi.StoreCapTruncate) {
		return hostapi.Errorf(hostapi.CodeUnsupported, "the store plugin %q cannot truncate its log, which a fork resolution needs: upgrade it", info.Name)
	}
	// Tell the mark first (see the crash-safety note).
	if err := writeResolution(l.resolutionPath(), r); err != nil {
		return fmt.Errorf("ledger: keeping the fork resolution beside the high-water mark: %w", err)
	}
	hw := l.markNow()
	hw.Resolving = &resolvingMark{Epoch: k, Digest: r.Digest().String()}
	if err := l.mark.writeHighWater(l.hwPath, hw); err != nil {
		return fmt.Errorf("ledger: marking the fork resolution in the high-water mark: %w", err)
	}
	dropped := l.head() - (k - 1)
	if err := l.cutAndAppend(ctx, chain, res); err != nil {
		if l.head() < k {
			// The log ends at k − 1 and the mark says resolving: the next
			// Open finishes. Until then this ledger holds the shorter log.
			l.restricted = fmt.Errorf("a fork resolution could not be appended after the log was truncated (it is finished at the next start): %w", err)
		}
		return err
	}
	l.advanceHighWater()
	if l.hwErr == nil {
		_ = os.Remove(l.resolutionPath())
	}
	l.dropSettledEvidence(r)
	l.log.Warn("FORK RESOLVED: the log's entries from the fork's epoch on were replaced by the approvers' resolution",
		"epoch", k, "dropped_entries", dropped, "resolution", r.Digest().String())
	return nil
}

// cutAndAppend cuts the log (store and memory) to the epoch before res's
// — a verified resolution on chain — and appends it. l.mu must be held.
func (l *Ledger) cutAndAppend(ctx context.Context, chain *membership.Chain, res *membership.Result) error {
	k := res.Update.Body.Epoch
	if err := l.cfg.Store.Truncate(ctx, k-1); err != nil {
		return fmt.Errorf("ledger: truncating the log to epoch %d for the fork resolution: %w", k-1, err)
	}
	l.truncate(k - 1)
	if l.snapIndex >= k {
		l.snapIndex = 0
	}
	l.chain, l.prevState = nil, nil
	return l.appendVerified(ctx, chain, res)
}

// markNow is the high-water mark of the current head.
func (l *Ledger) markNow() *highWater {
	head := l.head()
	return &highWater{Dir: l.cfg.StateDir, Index: head, StateRoot: l.roots[head-1].String(), EntryHash: l.lastHash.String()}
}

// dropSettledEvidence forgets the evidence r settles (and any of a later
// epoch: its entries are gone) and removes its files. l.mu must be held.
func (l *Ledger) dropSettledEvidence(r *membership.SignedUpdate) {
	if l.fork == nil {
		return
	}
	var keep []EvidenceItem
	for _, it := range l.fork.Items {
		if it.Report.Epoch < r.Body.Epoch {
			keep = append(keep, it)
			continue
		}
		if it.Path != "" {
			if err := os.Remove(it.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
				l.log.Warn("removing settled evidence failed", "file", it.Path, "err", err)
			}
		}
	}
	l.fork = nil
	for _, it := range keep {
		l.addEvidence(it)
	}
}

// resolutionPath is where a resolution under way is kept: beside the
// high-water mark, whose directory is as private as the mark.
func (l *Ledger) resolutionPath() string {
	return strings.TrimSuffix(l.hwPath, ".json") + ".resolution.json"
}

func writeResolution(path string, r *membership.SignedUpdate) error {
	dir, err := openMarkDir(path, true)
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.WriteFile(filepath.Base(path), r.Encode(), 0o600)
}

func readResolution(path string, lim *membership.Limits) (*membership.SignedUpdate, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, int64(lim.MaxGenesisBytes+lim.MaxEnvelopeExtra)+1))
	if err != nil {
		return nil, err
	}
	return membership.ParseSignedUpdate(data, lim)
}

// finishResolution completes a resolution the mark says is under way
// (Open found hw.Resolving): the log as loaded must reach at least the
// epoch before the resolution's, the kept resolution must be the one the
// mark names, verify on the trusted state there and settle the log's entry
// at its epoch if there is one. Then the log is cut and the resolution
// appended (unless it is there already) and the mark moved to it. l.mu
// need not be held (Open).
func (l *Ledger) finishResolution(hw *highWater) error {
	k := hw.Resolving.Epoch
	head := l.head()
	if k < 2 || head < k-1 {
		return integrityf("rollback: a fork resolution of epoch %d is under way (high-water mark %s) but the log ends at epoch %d", k, l.hwPath, head)
	}
	var ours *membership.SignedUpdate // the log's entry at k, if it has one
	if head >= k {
		var err error
		if ours, err = l.updateAt(k); err != nil {
			return err
		}
	}
	if ours != nil && ours.Digest().String() == hw.Resolving.Digest {
		if head > k {
			return integrityf("a fork resolution of epoch %d is under way (high-water mark %s) but the log runs past it to epoch %d", k, l.hwPath, head)
		}
		return l.endResolution() // appended; only the mark lagged
	}
	r, err := readResolution(l.resolutionPath(), l.cfg.Limits)
	if err != nil {
		return integrityf("a fork resolution of epoch %d is under way (high-water mark %s) but it cannot be read back: %v", k, l.hwPath, err)
	}
	if r.Body.Epoch != k || r.Digest().String() != hw.Resolving.Digest {
		return integrityf("the fork resolution kept at %s is not the one the high-water mark names", l.resolutionPath())
	}
	if ours != nil && !membership.Supersedes(r, ours) {
		return integrityf("the fork resolution under way does not settle the log's entry of epoch %d", k)
	}
	if l.cfg.ReadFirst {
		return integrityf("a fork resolution of epoch %d is under way; start the node to finish it", k)
	}
	chain, err := l.chainAt(k - 1)
	if err != nil {
		return err
	}
	res, err := chain.Evaluate(r, membership.Options{History: true, Limits: l.cfg.Limits})
	if err != nil {
		return integrityf("the fork resolution under way does not verify: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	if err := l.cutAndAppend(ctx, chain, res); err != nil {
		return fmt.Errorf("ledger: finishing a fork resolution: %w", err)
	}
	l.log.Warn("FORK RESOLVED: finished a resolution a stop interrupted", "epoch", k)
	return l.endResolution()
}

// endResolution moves the mark to the head (which is the resolution) and
// removes the kept resolution.
func (l *Ledger) endResolution() error {
	if l.cfg.ReadFirst {
		return nil
	}
	if err := l.writeHighWater(); err != nil {
		return fmt.Errorf("ledger: finishing a fork resolution: %w", err)
	}
	if err := os.Remove(l.resolutionPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		l.log.Warn("removing the kept fork resolution failed", "file", l.resolutionPath(), "err", err)
	}
	return nil
}

// Settled reports whether the log's entry at u's epoch is a resolution
// that settles u: a peer serving u follows a side this node has left.
func (l *Ledger) Settled(u *membership.SignedUpdate) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := u.Body.Epoch
	if e < 1 || e > l.head() {
		return false
	}
	ours, err := l.updateAt(e)
	if err != nil {
		l.log.Error("reading an entry back from the store failed", "epoch", e, "err", err)
		return false
	}
	return membership.Supersedes(ours, u)
}
