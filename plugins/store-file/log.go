package storefile

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/atomicfile"
	"github.com/rustynet/rustynet/plugins/internal/statedir"
	"github.com/rustynet/rustynet/plugins/internal/storerules"
)

// Append writes e at e.Index, which must be Head()+1, as hostapi.Store
// specifies: one write of the whole frame over the zeros at the end of the
// last segment and one fdatasync, or, when the frame does not fit there, a
// new segment holding it (see the package documentation). ctx is checked
// before the write starts; a write in progress runs to completion so that
// an error always means nothing changed.
func (s *Store) Append(ctx context.Context, e hostapi.LogEntry) error {
	return s.gate.Append(ctx, e, func() error {
		if err := s.checkWritable(); err != nil {
			return err
		}
		if err := storerules.NextIndex(e.Index, s.head.Load()); err != nil {
			return err
		}
		f := s.files.Load()
		frame := encodeFrame(e.Index, e.Data)
		// Appends are serialised (the gate) and only they change the
		// segments beside readers, so the last segment is read unlocked.
		var last *segment
		if n := len(f.entries.segs); n > 0 {
			last = f.entries.segs[n-1]
		}
		if last == nil || last.end+int64(len(frame)) > last.size {
			return s.appendSegment(f, e.Index, frame)
		}
		off := last.end
		_, err := last.f.WriteAt(frame, off)
		if err == nil {
			err = appendSync(last.f)
		}
		if err != nil {
			cause := statedir.PathError("write", framePath(s.logPath, last, off), err)
			if uerr := eraseFrame(last.f, off, off+int64(len(frame))); uerr != nil {
				return s.fail(errors.Join(cause, statedir.PathError("erase the failed append in", framePath(s.logPath, last, off), uerr)))
			}
			return cause
		}
		f.entries.mu.Lock()
		last.offsets = append(last.offsets, off)
		last.end = off + int64(len(frame))
		f.entries.mu.Unlock()
		s.head.Store(e.Index)
		return nil
	})
}

// appendSync makes an in-place append durable: atomicfile.Datasync, a variable so
// that tests can make it fail.
var appendSync = atomicfile.Datasync

// appendSegment appends the frame of entry index as the first of a new
// segment, preallocated with zeros: written to a temp file, synced,
// renamed, and the log directory synced.
func (s *Store) appendSegment(f *files, index uint64, frame []byte) error {
	size := max(segmentSize, segHeaderSize+int64(len(frame)))
	h := encodeSegmentHeader(index, size)
	parts := [][]byte{h[:], frame}
	for pad := size - segHeaderSize - int64(len(frame)); pad > 0; {
		n := min(pad, zeroChunk)
		parts = append(parts, zeros[:n])
		pad -= n
	}
	name := segmentName(index)
	if err := f.log.Replace(segmentTmpName, name, 0o600, parts...); err != nil {
		return statedir.PathError("write", f.log.Path(), err)
	}
	file, err := openSegment(f.log, name, true)
	if err != nil {
		return s.undoAppend(f.log, name, err)
	}
	if err := f.log.Sync(); err != nil {
		file.Close()
		return s.undoAppend(f.log, name, statedir.PathError("sync directory", s.logPath, err))
	}
	g := &segment{first: index, name: name, size: size, f: file, offsets: []int64{segHeaderSize}, end: segHeaderSize + int64(len(frame))}
	f.entries.mu.Lock()
	f.entries.segs = append(f.entries.segs, g)
	f.entries.mu.Unlock()
	s.head.Store(index)
	return nil
}

// undoAppend removes a new segment whose rename could not be made durable,
// so the failed Append stays unobservable. If that fails too, the store
// cannot tell what a reopen will see and refuses further writes.
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
// hostapi.Store specifies. A missing or damaged entry fails with
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

// readEntry reads entry i, which must exist since i <= head: its one
// frame, with one read, checked whole (magic, index, length, CRC-32C,
// trailer).
func (s *Store) readEntry(i uint64) ([]byte, error) {
	f := s.files.Load()
	if f.entries.legacy {
		return s.readLegacyEntry(f, i)
	}
	f.entries.mu.RLock()
	g, off, end := f.entries.find(i)
	var file *os.File
	if g != nil {
		file = g.f
	}
	f.entries.mu.RUnlock()
	if g == nil {
		return nil, hostapi.Errorf(hostapi.CodeCorrupt, "entry %d is missing (head is %d)", i, s.head.Load())
	}
	path := framePath(s.logPath, g, off)
	buf := make([]byte, end-off)
	if err := readAt(file, path, buf, off); err != nil {
		return nil, err
	}
	index, data, err := decodeEntryFrame(path, buf)
	switch {
	case err != nil:
		return nil, err
	case index != i:
		return nil, corrupt(path, "holds entry %d, want %d", index, i)
	}
	return data, nil
}

// readLegacyEntry reads entry i of a log still in the old layout, one file
// per entry (a read-first store's, f).
func (s *Store) readLegacyEntry(f *files, i uint64) ([]byte, error) {
	path := filepath.Join(s.logPath, entryName(i))
	index, data, err := readFrame(f.log, entryName(i), magicEntry, hostapi.MaxEntryBytes)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		// The store's first write may be converting the log (makeWritable,
		// under upgradeMu), which removes the entry files once the
		// segments hold them and are published: wait for it, and read
		// the entry from the converted log.
		s.upgradeMu.Lock()
		now := s.files.Load()
		s.upgradeMu.Unlock()
		if now != nil && now != f && now.entries != nil && !now.entries.legacy {
			return s.readEntry(i)
		}
		return nil, hostapi.Errorf(hostapi.CodeCorrupt, "entry %d is missing (head is %d)", i, s.head.Load())
	case err != nil:
		return nil, err
	case index != i:
		return nil, hostapi.Errorf(hostapi.CodeCorrupt, "%s holds entry %d", path, index)
	}
	return data, nil
}
