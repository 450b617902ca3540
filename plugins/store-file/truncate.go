package storefile

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/atomicfile"
	"github.com/rustynet/rustynet/plugins/internal/statedir"
	"github.com/rustynet/rustynet/plugins/internal/storerules"
)

// Truncate removes the entries above after, and the snapshot if its index
// is above after, as hostapi.Store specifies: the snapshot first, then the
// segments that start above after, from the last down, then the entries
// above after in the segment that holds it, which is replaced by a copy
// that ends at after (written to a temp file, synced and renamed over
// it). Each step is made durable by a sync of the directory before the
// next begins, so that a crash at any point leaves a contiguous prefix of
// the log and no snapshot beyond its head. No other call runs beside it
// (storerules.Gate.Truncate). A snapshot that cannot be read fails with
// hostapi.ErrCorrupt before anything is removed. ctx is checked before the
// removal starts; a removal in progress runs to completion. A step that
// fails leaves the store failed (writes refused until it is reopened, see
// fail), its head at the entries left.
func (s *Store) Truncate(ctx context.Context, after uint64) error {
	return s.gate.Truncate(ctx, func() error {
		if remove, err := storerules.TruncateAfter(after, s.head.Load()); !remove || err != nil {
			return err
		}
		if err := s.checkWritable(); err != nil {
			return err
		}
		s.dropRetired()
		f := s.files.Load()
		start := s.head.Load()
		removed, err := s.removeSnapshotAbove(f.root, after)
		if err != nil {
			return err
		}
		l := f.entries
		for n := len(l.segs); n > 0 && l.segs[n-1].first > after; n-- {
			g := l.segs[n-1]
			// Closed first: some systems (Windows) remove no open file.
			// No reader runs beside a Truncate.
			g.f.Close()
			l.mu.Lock()
			l.segs = l.segs[:n-1]
			l.mu.Unlock()
			s.head.Store(l.head())
			if err := f.log.Remove(g.name); err != nil {
				return s.fail(statedir.PathError("remove", filepath.Join(s.logPath, g.name), err))
			}
			if err := f.log.Sync(); err != nil {
				return s.fail(statedir.PathError("sync directory", s.logPath, err))
			}
		}
		if l.head() > after {
			// Anything changed before the cut (the snapshot or a segment
			// removed) leaves the store failed if the cut fails.
			changed := removed || s.head.Load() != start
			if err := s.cutSegment(f, l.segs[len(l.segs)-1], after); err != nil {
				if changed && s.failed.Load() == nil {
					return s.fail(err)
				}
				return err
			}
		}
		s.logger.Info("log truncated", "dir", s.root, "head", after)
		return nil
	})
}

// dropRetired closes the segments a read-first store loaded before it was
// made writable: they may be the files Truncate removes or replaces,
// which some systems (Windows) refuse while any handle is open. No reader
// runs beside a Truncate, and later ones use the current log.
func (s *Store) dropRetired() {
	s.upgradeMu.Lock()
	defer s.upgradeMu.Unlock()
	for _, l := range s.retired {
		l.closeAll()
	}
	s.retired = nil
}

// cutSegment replaces the segment g by a copy of it that ends with entry
// after: the same header and frames up to after's, zeros to the same
// size. The copy is streamed through a bounded buffer. If it fails before
// the rename, the segment is as it was and the error is returned (the
// caller fails the store if an earlier step changed it); after the
// rename, the store fails.
func (s *Store) cutSegment(f *files, g *segment, after uint64) error {
	path := filepath.Join(s.logPath, g.name)
	_, cut := g.span(after)
	buf := make([]byte, zeroChunk)
	werr := s.writeSegmentTmp(f.log, g.first, g.size, func(tmp *os.File) (int64, error) {
		src := io.NewSectionReader(g.f, segHeaderSize, cut-segHeaderSize)
		if _, err := io.CopyBuffer(io.NewOffsetWriter(tmp, segHeaderSize), src, buf); err != nil {
			return 0, err
		}
		return cut, nil
	})
	if werr != nil {
		return statedir.PathError("write a copy of", path, werr)
	}
	// Closed first: some systems (Windows) replace no open file. No
	// reader runs beside a Truncate.
	g.f.Close()
	replaced := f.log.Rename(segmentTmpName, g.name)
	if replaced != nil {
		f.log.Remove(segmentTmpName)
	}
	file, err := openSegment(f.log, g.name, true)
	f.entries.mu.Lock()
	g.f = file
	if replaced == nil {
		g.offsets = g.offsets[:after-g.first+1]
		g.end = cut
	}
	f.entries.mu.Unlock()
	switch {
	case replaced != nil && err != nil:
		return s.fail(errors.Join(statedir.PathError("replace", path, replaced), err))
	case replaced != nil:
		return statedir.PathError("replace", path, replaced) // the segment is as it was
	}
	// The copy is in the namespace, so the entries above after are gone
	// for readers, durable or not.
	s.head.Store(after)
	if err != nil {
		return s.fail(err)
	}
	if err := f.log.Sync(); err != nil {
		return s.fail(statedir.PathError("sync directory", s.logPath, err))
	}
	return nil
}

// removeSnapshotAbove removes the snapshot, durably, if its index is above
// after, and reports whether it did. A damaged snapshot fails with
// hostapi.ErrCorrupt and is kept.
func (s *Store) removeSnapshotAbove(dir *atomicfile.Dir, after uint64) (bool, error) {
	index, _, err := readFrame(dir, snapshotName, magicSnapshot, hostapi.MaxSnapshotBytes)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return false, nil
	case err != nil:
		return false, err
	case index <= after:
		return false, nil
	}
	if err := dir.Remove(snapshotName); err != nil {
		return false, s.fail(statedir.PathError("remove", filepath.Join(s.root, snapshotName), err))
	}
	if err := dir.Sync(); err != nil {
		return true, s.fail(statedir.PathError("sync directory", s.root, err))
	}
	return true, nil
}
