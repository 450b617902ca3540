package storesqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/storerules"
)

// Truncate removes the entries above after, and the snapshot if its index
// is above after, as hostapi.Store specifies, in one transaction: a crash
// leaves the whole removal or none of it. No other call runs beside it
// (storerules.Gate.Truncate), and the head it keeps in memory follows the
// commit. ctx is checked before the transaction starts; a commit in
// progress is not interrupted, so that an error always means nothing
// changed.
func (s *Store) Truncate(ctx context.Context, after uint64) error {
	return s.gate.Truncate(ctx, func() error {
		if remove, err := storerules.TruncateAfter(after, s.head.Load()); !remove || err != nil {
			return err
		}
		if err := s.makeWritable(ctx); err != nil {
			return err
		}
		s.connMu.RLock()
		defer s.connMu.RUnlock()
		if err := truncateDB(context.WithoutCancel(ctx), s.db, after, s.head.Load()); err != nil {
			return err
		}
		s.head.Store(after)
		s.logger.Info("log truncated", "dir", s.dir.Path(), "head", after)
		return nil
	})
}

// truncateDB deletes, in one transaction, the rows of log above after and
// the snapshot if its index is above after, once it has checked that the
// log's last row is head (CONFLICT otherwise: only an edit of the database
// file by another writer could move it).
func truncateDB(ctx context.Context, db *sql.DB, after, head uint64) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return dbError("begin truncate", err)
	}
	defer tx.Rollback()
	var last int64
	if err := tx.QueryRowContext(ctx, headSQL).Scan(&last); err != nil {
		return dbError("truncate: read head", err)
	}
	if uint64(last) != head {
		return hostapi.Errorf(hostapi.CodeConflict, "truncate after %d: the database's last entry is %d, not %d", after, last, head)
	}
	// The snapshot's index may have its high bit set, which SQLite would
	// compare as a negative integer: compare it here, as a uint64.
	var snap int64
	switch err := tx.QueryRowContext(ctx, snapshotIndexSQL).Scan(&snap); {
	case errors.Is(err, sql.ErrNoRows):
	case err != nil:
		return dbError("truncate: read snapshot index", err)
	case uint64(snap) > after:
		if _, err := tx.ExecContext(ctx, deleteSnapshotSQL); err != nil {
			return dbError("truncate: delete snapshot", err)
		}
	}
	// Log indices are below 2^63 (the log starts at 1 and is contiguous),
	// so comparing them as signed integers is exact.
	if _, err := tx.ExecContext(ctx, truncateLogSQL, int64(after)); err != nil {
		return dbError("truncate: delete entries", err)
	}
	if err := tx.Commit(); err != nil {
		return dbError("commit truncate", err)
	}
	return nil
}
