package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

// Bounded memory. The ledger keeps in memory, per entry of its log, only
// its state root and its entry hash (32 bytes each), and the decoded
// updates of the newest `window` entries; older updates are read back from
// the store when needed (Entries of an old epoch, Log, a fork or a
// resolution below the window) and are not kept.
//
// The store is untrusted. An entry read back is accepted only if the hash
// of its stored bytes is the entry hash kept for its index — the hash of
// the very bytes this ledger verified (at Open) or wrote (at commit). So
// an entry read back is byte for byte the one verified, and its decoded
// update the one that was applied; anything else is refused as
// INTEGRITY_FAILURE and not served.
//
// The keys that ever signed an entry (signedByKnownKeys) are kept in a
// set maintained as entries are added: a few per approver the network
// ever had, not per entry.

// window is how many of the newest decoded updates a ledger keeps in
// memory: 1,024 (about 2.5 MB of decoded updates at the ~2.5 KB each
// measured). It covers what is read often — the gossip and feed catch-up
// of peers a little behind (a gossip batch is at most gossip.MaxBatch),
// the entry at the head and the one before it (forks at the head), the
// newest entry for status — while a node far behind, a fork deep in the
// history or a whole-log export reads the store, as Open does. A variable
// only so that tests can shrink it.
var window = 1024

// readTimeout bounds one read of old entries back from the store.
const readTimeout = time.Minute

// head is the number of verified entries; l.mu must be held.
func (l *Ledger) head() uint64 { return uint64(len(l.roots)) }

// push records a verified entry (its update, the state root after it and
// its entry hash) as the new head; l.mu must be held.
func (l *Ledger) push(u *membership.SignedUpdate, root, hash membership.Hash) {
	l.roots = append(l.roots, root)
	l.hashes = append(l.hashes, hash)
	l.lastHash = hash
	if l.known == nil {
		l.known = map[membership.ApproverKey]struct{}{}
	}
	for _, s := range u.Signatures {
		l.known[s.PublicKey] = struct{}{}
	}
	if len(l.recent) >= l.keep {
		l.recent[0] = nil // no longer referenced by the backing array
		l.recent = l.recent[1:]
	}
	l.recent = append(l.recent, u)
}

// truncate cuts the in-memory log to its first n entries (n ≤ head). The
// set of known keys is rebuilt from the entries that remain (read back
// from the store, checked): a resolution, the only caller, is rare and
// replays that prefix anyway. If they cannot be read, the set is kept as
// it was — the keys of the dropped entries too, which signed entries this
// network verified — and the failure logged. l.mu must be held.
func (l *Ledger) truncate(n uint64) {
	h := l.head()
	cut := min(h-n, uint64(len(l.recent)))
	clear(l.recent[uint64(len(l.recent))-cut:])
	l.recent = l.recent[:uint64(len(l.recent))-cut]
	l.roots, l.hashes = l.roots[:n], l.hashes[:n]
	l.lastHash = membership.Hash{}
	if n > 0 {
		l.lastHash = l.hashes[n-1]
	}
	known := map[membership.ApproverKey]struct{}{}
	err := l.eachUpdate(1, n, func(_ uint64, u *membership.SignedUpdate) error {
		for _, s := range u.Signatures {
			known[s.PublicKey] = struct{}{}
		}
		return nil
	})
	if err != nil {
		l.log.Error("reading the log back to rebuild its signers' keys failed; the keys of the dropped entries stay known", "err", err)
		return
	}
	l.known = known
}

// updateAt returns the trusted update of epoch e (1 ≤ e ≤ head), from the
// window or read back from the store and checked. l.mu must be held.
func (l *Ledger) updateAt(e uint64) (*membership.SignedUpdate, error) {
	var out *membership.SignedUpdate
	err := l.eachUpdate(e, e, func(_ uint64, u *membership.SignedUpdate) error {
		out = u
		return nil
	})
	return out, err
}

// updateRange returns the trusted updates of epochs from to to (1 ≤ from,
// to ≤ head; none if to < from). On error it returns those before the
// failure. l.mu must be held.
func (l *Ledger) updateRange(from, to uint64) ([]*membership.SignedUpdate, error) {
	if to < from {
		return nil, nil
	}
	out := make([]*membership.SignedUpdate, 0, to-from+1)
	err := l.eachUpdate(from, to, func(_ uint64, u *membership.SignedUpdate) error {
		out = append(out, u)
		return nil
	})
	return out, err
}

// eachUpdate calls fn with the trusted updates of epochs from to to in
// order (1 ≤ from, to ≤ head), stopping at fn's first error. Those below
// the window are read back from the store (readBack). l.mu must be held.
func (l *Ledger) eachUpdate(from, to uint64, fn func(e uint64, u *membership.SignedUpdate) error) error {
	old, recent, err := l.span(from, to)
	if err != nil {
		return err
	}
	return l.walk(from, old, recent, fn)
}

// span returns, for epochs from to to (1 ≤ from, to ≤ head), the kept
// entry hashes of those below the window and the window's updates of the
// others, as slices of the ledger's own arrays. l.mu must be held.
func (l *Ledger) span(from, to uint64) (old []membership.Hash, recent []*membership.SignedUpdate, err error) {
	if from == 0 || to > l.head() {
		return nil, nil, fmt.Errorf("ledger: entries %d to %d asked of a log of %d", from, to, l.head())
	}
	if to < from {
		return nil, nil, nil
	}
	start := l.head() - uint64(len(l.recent)) + 1 // the window's first epoch
	if from < start {
		old = l.hashes[from-1 : min(to, start-1)]
	}
	if to >= start {
		recent = l.recent[max(from, start)-start : to-start+1]
	}
	return old, recent, nil
}

// walk calls fn with the updates of epochs from on: len(old) read back
// from the store (readBack), then recent. l.mu need not be held if old and
// recent are copies: the ledger's own arrays change under later pushes
// (the window's oldest slot is cleared) and truncations.
func (l *Ledger) walk(from uint64, old []membership.Hash, recent []*membership.SignedUpdate, fn func(e uint64, u *membership.SignedUpdate) error) error {
	if len(old) > 0 {
		if err := readBack(l.cfg.Store, l.cfg.Limits, from, old, fn); err != nil {
			return err
		}
	}
	e := from + uint64(len(old))
	for i, u := range recent {
		if err := fn(e+uint64(i), u); err != nil {
			return err
		}
	}
	return nil
}

// readBack reads the entries of epochs from, from+1, … (one per hash)
// back from st in batches of readBatch and calls fn with each, stopping at
// fn's first error. Entry from+i is accepted only if the hash of its
// stored bytes is hashes[i]; otherwise, or if the store cannot give it,
// readBack fails (INTEGRITY_FAILURE for an entry that is not the one
// verified) and fn sees none of the rest.
func readBack(st hostapi.Store, lim *membership.Limits, from uint64, hashes []membership.Hash, fn func(e uint64, u *membership.SignedUpdate) error) error {
	ctx, cancel := context.WithTimeout(context.Background(), readTimeout)
	defer cancel()
	to := from + uint64(len(hashes)) - 1
	for e := from; e <= to; {
		got, err := st.ReadLog(ctx, e, int(min(uint64(readBatch), to-e+1)))
		switch {
		case errors.Is(err, hostapi.ErrCorrupt):
			return integrityf("log entry at or after %d is unreadable: %v", e, err)
		case err != nil:
			return fmt.Errorf("ledger: reading the log back at %d: %w", e, err)
		case len(got) == 0:
			return integrityf("the store returned no entry %d of a log verified past it", e)
		}
		for _, se := range got {
			if e > to {
				break
			}
			u, err := checkReadBack(e, se, hashes[e-from], lim)
			if err != nil {
				return err
			}
			if err := fn(e, u); err != nil {
				return err
			}
			e++
		}
	}
	return nil
}

// checkReadBack checks that se, read back from the store for epoch e, is
// the entry verified there, whose hash is want, and returns its update.
func checkReadBack(e uint64, se hostapi.LogEntry, want membership.Hash, lim *membership.Limits) (*membership.SignedUpdate, error) {
	if se.Index != e {
		return nil, integrityf("the store returned entry %d where %d was expected", se.Index, e)
	}
	if hashEntry(se.Data) != want {
		return nil, integrityf("log entry %d read back from the store is not the entry this node verified (its hash differs): the store was tampered with", e)
	}
	d, err := decodeEntry(se.Data, lim)
	if err != nil {
		return nil, err
	}
	if d.Index != e {
		return nil, integrityf("log entry stored at %d claims index %d", e, d.Index)
	}
	return d.Update, nil
}

// spanCopy is span into fresh slices, which walk may use after l.mu is
// released: a reader of old entries then does not hold up applies while it
// reads the store. l.mu must be held.
func (l *Ledger) spanCopy(from, to uint64) (old []membership.Hash, recent []*membership.SignedUpdate, err error) {
	old, recent, err = l.span(from, to)
	return slices.Clone(old), slices.Clone(recent), err
}

// sameBody reports whether the trusted entry of epoch e (1 ≤ e ≤ head)
// has u's body bytes. Below the window it first tries u as the stored
// entry itself (its entry hash is then the one kept), which costs no read;
// only otherwise is the entry read back. l.mu must be held.
func (l *Ledger) sameBody(e uint64, u *membership.SignedUpdate) (bool, error) {
	start := l.head() - uint64(len(l.recent)) + 1
	if e >= start {
		return bytes.Equal(l.recent[e-start].BodyBytes(), u.BodyBytes()), nil
	}
	var prev membership.Hash
	if e > 1 {
		prev = l.hashes[e-2]
	}
	if hashEntry(encodeEntry(e, prev, u)) == l.hashes[e-1] {
		return true, nil
	}
	ours, err := l.updateAt(e)
	if err != nil {
		return false, err
	}
	return bytes.Equal(ours.BodyBytes(), u.BodyBytes()), nil
}
