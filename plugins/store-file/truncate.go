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

// Truncate removes the entries above after, and the snapshot if its index
// is above after, as hostapi.Store specifies: the snapshot first, then the
// entry files from the head down, each removal made durable by a sync of
// its directory before the next begins, so that a crash at any point
// leaves a contiguous prefix of the log and no snapshot beyond its head.
// No other call runs beside it (storerules.Gate.Truncate). A snapshot that
// cannot be read fails with hostapi.ErrCorrupt before anything is removed.
// ctx is checked before the removal starts; a removal in progress runs to
// completion. A removal or sync that fails leaves the store failed (writes
// refused until it is reopened, see fail), its head at the entries left.
func (s *Store) Truncate(ctx context.Context, after uint64) error {
	return s.gate.Truncate(ctx, func() error {
		if remove, err := storerules.TruncateAfter(after, s.head.Load()); !remove || err != nil {
			return err
		}
		if err := s.checkWritable(); err != nil {
			return err
		}
		f := s.files.Load()
		if err := s.removeSnapshotAbove(f.root, after); err != nil {
			return err
		}
		for i := s.head.Load(); i > after; i-- {
			name := entryName(i)
			if err := f.log.Remove(name); err != nil {
				return s.fail(statedir.PathError("remove", filepath.Join(s.logPath, name), err))
			}
			// Gone from the namespace, so gone for readers, durable or not.
			s.head.Store(i - 1)
			if err := f.log.Sync(); err != nil {
				return s.fail(statedir.PathError("sync directory", s.logPath, err))
			}
		}
		s.logger.Info("log truncated", "dir", s.root, "head", after)
		return nil
	})
}

// removeSnapshotAbove removes the snapshot, durably, if its index is above
// after. A damaged snapshot fails with hostapi.ErrCorrupt and is kept.
func (s *Store) removeSnapshotAbove(dir *atomicfile.Dir, after uint64) error {
	index, _, err := readFrame(dir, snapshotName, magicSnapshot, hostapi.MaxSnapshotBytes)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil
	case err != nil:
		return err
	case index <= after:
		return nil
	}
	if err := dir.Remove(snapshotName); err != nil {
		return s.fail(statedir.PathError("remove", filepath.Join(s.root, snapshotName), err))
	}
	if err := dir.Sync(); err != nil {
		return s.fail(statedir.PathError("sync directory", s.root, err))
	}
	return nil
}
