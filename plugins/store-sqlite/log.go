package storesqlite

import (
	"context"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/storerules"
)

// Append writes e at e.Index, which must be Head()+1, as hostapi.Store
// specifies, in one transaction that both checks the index and inserts. ctx
// is checked before the transaction starts; a commit in progress is not
// interrupted, so that an error always means nothing changed.
func (s *Store) Append(ctx context.Context, e hostapi.LogEntry) error {
	return s.gate.Append(ctx, e, func() error {
		if err := s.makeWritable(ctx); err != nil {
			return err
		}
		if err := storerules.NextIndex(e.Index, s.head.Load()); err != nil {
			return err
		}
		s.connMu.RLock()
		defer s.connMu.RUnlock()
		res, err := s.stmts.append.ExecContext(context.WithoutCancel(ctx), int64(e.Index), e.Data, checksum(e.Index, e.Data))
		if err != nil {
			return dbError("append", err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return dbError("append", err)
		}
		if n != 1 {
			// Only another writer of the database file could cause this:
			// the directory lock keeps other stores out, so the file was
			// edited.
			return hostapi.Errorf(hostapi.CodeConflict, "append at index %d: the database's last entry is not %d", e.Index, e.Index-1)
		}
		s.head.Store(e.Index)
		return nil
	})
}

// Head returns the index of the last entry, or 0 for an empty log.
func (s *Store) Head(ctx context.Context) (uint64, error) {
	if err := s.enter(); err != nil {
		return 0, err
	}
	defer s.gate.Leave()
	return s.head.Load(), nil
}

// ReadLog returns up to limit consecutive entries from index from, as
// hostapi.Store specifies. A missing row below the head, or a row whose
// checksum does not match, fails with hostapi.ErrCorrupt.
func (s *Store) ReadLog(ctx context.Context, from uint64, limit int) ([]hostapi.LogEntry, error) {
	if err := s.enter(); err != nil {
		return nil, err
	}
	defer s.gate.Leave()
	head := s.head.Load()
	n, err := storerules.ReadRange(from, limit, head)
	if err != nil {
		return nil, err
	}
	out := make([]hostapi.LogEntry, 0, n)
	if n == 0 {
		return out, nil
	}
	s.connMu.RLock()
	defer s.connMu.RUnlock()
	rows, err := s.stmts.readLog.QueryContext(ctx, int64(from), int64(n))
	if err != nil {
		return nil, dbError("read log", err)
	}
	defer rows.Close()
	for want := from; rows.Next(); want++ {
		var idx, crc int64
		var data []byte
		if err := rows.Scan(&idx, &data, &crc); err != nil {
			return nil, dbError("read log", err)
		}
		if uint64(idx) != want {
			return nil, hostapi.Errorf(hostapi.CodeCorrupt, "entry %d is missing (next row is %d)", want, idx)
		}
		if checksum(want, data) != crc {
			return nil, hostapi.Errorf(hostapi.CodeCorrupt, "entry %d: checksum mismatch", want)
		}
		out = append(out, hostapi.LogEntry{Index: want, Data: data})
	}
	if err := rows.Err(); err != nil {
		return nil, dbError("read log", err)
	}
	if uint64(len(out)) != n {
		return nil, hostapi.Errorf(hostapi.CodeCorrupt, "entry %d is missing (head is %d)", from+uint64(len(out)), head)
	}
	return out, nil
}
