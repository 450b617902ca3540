package ledger

import (
	"context"
	"fmt"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

// Restore is the recovery path out of restricted-safe mode and the restore
// half of backup/restore: it verifies log (a portable log from a backup, an
// export or another node — any source, since it is verified) from the
// pinned genesis on, checks it against this state directory's high-water
// mark (it must reach the mark and agree with the root trusted there), and
// only then writes it into cfg.Store, which must be empty. It returns the
// opened ledger.
func Restore(ctx context.Context, cfg Config, log []*membership.SignedUpdate) (*Ledger, error) {
	head, err := cfg.Store.Head(ctx)
	if err != nil {
		return nil, fmt.Errorf("ledger: reading the log head: %w", err)
	}
	if head != 0 {
		return nil, hostapi.Errorf(hostapi.CodeConflict, "restore needs an empty state directory; this one holds %d entries", head)
	}
	// Verify the whole log in memory first: nothing is written unless all
	// of it verifies.
	scratch, err := newLedger(cfg)
	if err != nil {
		return nil, err
	}
	// The log is in memory already, and the scratch ledger's store is
	// empty: it keeps every update in its window (window.go).
	scratch.keep = max(len(log), 1)
	for i, u := range log {
		data := encodeEntry(uint64(i+1), scratch.lastHash, u)
		if err := scratch.replayEntry(hostapi.LogEntry{Index: uint64(i + 1), Data: data}); err != nil {
			return nil, err
		}
	}
	if len(scratch.roots) == 0 {
		return nil, integrityf("the log to restore is empty")
	}
	if err := scratch.checkHighWater(false); err != nil {
		return nil, err
	}
	var prev membership.Hash
	for i, u := range log {
		data := encodeEntry(uint64(i+1), prev, u)
		if err := cfg.Store.Append(ctx, hostapi.LogEntry{Index: uint64(i + 1), Data: data}); err != nil {
			return nil, fmt.Errorf("ledger: restoring entry %d: %w", i+1, err)
		}
		prev = hashEntry(data)
	}
	scratch.writeSnapshot(ctx)
	err = scratch.writeHighWater()
	scratch.mark.close()
	if err != nil {
		return nil, err
	}
	return Open(ctx, cfg)
}
