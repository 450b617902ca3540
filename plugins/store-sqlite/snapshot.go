package storesqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/rustynet/rustynet/hostapi"
)

// PutSnapshot atomically and durably replaces the snapshot in one
// transaction, as hostapi.Store specifies. ctx is checked before the
// transaction starts; a commit in progress is not interrupted.
func (s *Store) PutSnapshot(ctx context.Context, snap hostapi.Snapshot) error {
	return s.gate.PutSnapshot(ctx, snap, func() error {
		if err := s.makeWritable(ctx); err != nil {
			return err
		}
		s.connMu.RLock()
		defer s.connMu.RUnlock()
		_, err := s.stmts.putSnapshot.ExecContext(context.WithoutCancel(ctx), int64(snap.Index), snap.Data, checksum(snap.Index, snap.Data))
		if err != nil {
			return dbError("put snapshot", err)
		}
		return nil
	})
}

// GetSnapshot returns the current snapshot, or hostapi.ErrNotFound if none
// was ever put. A row whose checksum does not match fails with
// hostapi.ErrCorrupt.
func (s *Store) GetSnapshot(ctx context.Context) (hostapi.Snapshot, error) {
	if err := s.enter(); err != nil {
		return hostapi.Snapshot{}, err
	}
	defer s.gate.Leave()
	s.connMu.RLock()
	defer s.connMu.RUnlock()
	if s.db == nil {
		return hostapi.Snapshot{}, hostapi.Errorf(hostapi.CodeNotFound, "no snapshot in %s (no database)", s.dir.Path())
	}
	var idx, crc int64
	var data []byte
	err := s.stmts.getSnapshot.QueryRowContext(ctx).Scan(&idx, &data, &crc)
	if errors.Is(err, sql.ErrNoRows) {
		return hostapi.Snapshot{}, hostapi.Errorf(hostapi.CodeNotFound, "no snapshot in %s", s.dir.Path())
	}
	if err != nil {
		return hostapi.Snapshot{}, dbError("get snapshot", err)
	}
	if checksum(uint64(idx), data) != crc {
		return hostapi.Snapshot{}, hostapi.Errorf(hostapi.CodeCorrupt, "snapshot: checksum mismatch")
	}
	return hostapi.Snapshot{Index: uint64(idx), Data: data}, nil
}
