package storefile

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/atomicfile"
	"github.com/rustynet/rustynet/plugins/internal/statedir"
	"github.com/rustynet/rustynet/plugins/internal/storerules"
)

// Append writes e at e.Index, which must be Head()+1, as hostapi.Store
// specifies. ctx is checked before the write starts; a write in progress
// runs to completion so that an error always means nothing changed.
func (s *Store) Append(ctx context.Context, e hostapi.LogEntry) error {
	return s.gate.Append(ctx, e, func() error {
		if err := s.checkWritable(); err != nil {
			return err
		}
		if err := storerules.NextIndex(e.Index, s.head.Load()); err != nil {
			return err
		}
		log := s.files.Load().log
		final := entryName(e.Index)
		if err := writeFrame(log, entryTmpName, final, magicEntry, e.Index, e.Data); err != nil {
			return err
		}
		if err := log.Sync(); err != nil {
			return s.undoAppend(log, final, statedir.PathError("sync directory", s.logPath, err))
		}
		s.head.Store(e.Index)
		return nil
	})
}

// undoAppend removes an entry whose rename could not be made durable, so the
// failed Append stays unobservable. If that fails too, the store cannot tell
// what a reopen will see and refuses further writes.
func (s *Store) undoAppend(log *atomicfile.Dir, final string, cause error) error {
	if err := log.Remove(final); err != nil {
		return s.fail(errors.Join(cause, statedir.PathError("remove", filepath.Join(s.logPath, final), err)))
	}
	if err := log.Sync(); err != nil {
		return s.fail(errors.Join(cause, statedir.PathError("sync directory", s.logPath, err)))
	}
	return cause
}

// Head returns the index of the last entry, or 0 for an empty log.
func (s *Store) Head(ctx context.Context) (uint64, error) {
	if err := s.gate.Enter(); err != nil {
		return 0, err
	}
	defer s.gate.Leave()
	return s.head.Load(), nil
}

// ReadLog returns up to limit consecutive entries from index from, as
// hostapi.Store specifies. A missing or damaged entry file fails with
// hostapi.ErrCorrupt. ctx is checked between entries.
func (s *Store) ReadLog(ctx context.Context, from uint64, limit int) ([]hostapi.LogEntry, error) {
	if err := s.gate.Enter(); err != nil {
		return nil, err
	}
	defer s.gate.Leave()
	n, err := storerules.ReadRange(from, limit, s.head.Load())
	if err != nil {
		return nil, err
	}
	out := make([]hostapi.LogEntry, 0, n)
	for i := from; i < from+n; i++ {
		if err := ctx.Err(); err != nil {
			return nil, storerules.CtxError(err)
		}
		data, err := s.readEntry(i)
		if err != nil {
			return nil, err
		}
		out = append(out, hostapi.LogEntry{Index: i, Data: data})
	}
	return out, nil
}

// readEntry reads entry i, which must exist since i <= head.
func (s *Store) readEntry(i uint64) ([]byte, error) {
	path := filepath.Join(s.logPath, entryName(i))
	index, data, err := readFrame(s.files.Load().log, entryName(i), magicEntry, hostapi.MaxEntryBytes)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, hostapi.Errorf(hostapi.CodeCorrupt, "entry %d is missing (head is %d)", i, s.head.Load())
	case err != nil:
		return nil, err
	case index != i:
		return nil, hostapi.Errorf(hostapi.CodeCorrupt, "%s holds entry %d", path, index)
	}
	return data, nil
}
