package storefile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/atomicfile"
	"github.com/rustynet/rustynet/plugins/internal/statedir"
)

// listing is what the log directory holds: the segments' first indices
// and the entry files of the old layout, each sorted.
type listing struct {
	segs, legacy []uint64
}

// listLog lists the log directory once.
func (s *Store) listLog(log *atomicfile.Dir) (listing, error) {
	entries, err := log.ReadDir()
	if err != nil {
		return listing{}, statedir.PathError("list", s.logPath, err)
	}
	var ls listing
	for _, e := range entries {
		name := e.Name()
		if i, ok := parseSegmentName(name); ok {
			ls.segs = append(ls.segs, i) // openSegment refuses anything but a regular file
			continue
		}
		if i, ok := parseEntryName(name); ok && e.Type().IsRegular() {
			ls.legacy = append(ls.legacy, i)
			continue
		}
		if strings.HasPrefix(name, tornPrefix) || atomicfile.IsTemp(name) {
			continue // torn tails kept aside (saveTorn), and their temp files
		}
		if name != entryTmpName && name != segmentTmpName {
			s.logger.Warn("ignoring unexpected entry in log directory", "path", filepath.Join(s.logPath, name))
		}
	}
	slices.Sort(ls.segs)
	slices.Sort(ls.legacy)
	return ls, nil
}

// loadLog opens and scans the log in log. Opened to write (write set), it
// first converts a log in the old layout into a segment (migrate), zeroes
// an unfinished append past the head and removes old entry files a
// conversion left; to read, it changes nothing: a log in the old layout
// is read as such and an unfinished append is ignored.
func (s *Store) loadLog(log *atomicfile.Dir, write bool) (*segLog, uint64, error) {
	ls, err := s.listLog(log)
	if err != nil {
		return nil, 0, err
	}
	if len(ls.legacy) > 0 && (len(ls.segs) == 0 || ls.segs[0] != 1) {
		// The old layout, whole: a conversion publishes the segment of
		// entry 1 last, and removes no entry file before it has.
		if !write {
			return &segLog{legacy: true}, ls.legacy[len(ls.legacy)-1], nil
		}
		segs, err := s.migrate(log, ls.legacy, ls.segs)
		if err != nil {
			return nil, 0, err
		}
		ls.segs = segs
	}
	l := &segLog{}
	var tail *torn
	for k, first := range ls.segs {
		name := segmentName(first)
		path := filepath.Join(s.logPath, name)
		if want := l.head() + 1; first != want {
			l.closeAll()
			return nil, 0, corrupt(path, "first entry %d, want %d (segments must follow each other)", first, want)
		}
		f, err := openSegment(log, name, write)
		if err != nil {
			l.closeAll()
			return nil, 0, err
		}
		g := &segment{first: first, name: name, f: f}
		l.segs = append(l.segs, g)
		t, err := scanTail(g, path, k == len(ls.segs)-1)
		if err != nil {
			l.closeAll()
			return nil, 0, err
		}
		tail = t
	}
	if tail != nil {
		s.logger.Warn("ignoring an unfinished append past the head", "path", filepath.Join(s.logPath, tail.g.name),
			"offset", tail.from, "bytes", tail.to-tail.from, "head", l.head(), "erased", write)
		if write {
			if err := s.saveTorn(log, l.head()+1, tail.bytes); err != nil {
				l.closeAll()
				return nil, 0, err
			}
			if err := eraseFrame(tail.g.f, tail.from, tail.to); err != nil {
				l.closeAll()
				return nil, 0, statedir.PathError("erase unfinished append in", filepath.Join(s.logPath, tail.g.name), err)
			}
		}
	}
	if write && len(ls.legacy) > 0 {
		if err := s.removeLegacy(log, ls.legacy, l.head()); err != nil {
			l.closeAll()
			return nil, 0, err
		}
	}
	if write {
		// The head Open reports may be marked by the ledger as trusted
		// (core/ledger/highwater.go), so it must be durable: an earlier
		// process may have written it and died before its fdatasync, or
		// a segment's rename before log/ was synced.
		if n := len(l.segs); n > 0 {
			g := l.segs[n-1]
			if err := headSync(g.f); err != nil {
				l.closeAll()
				return nil, 0, statedir.PathError("sync", filepath.Join(s.logPath, g.name), err)
			}
		}
		if err := log.Sync(); err != nil {
			l.closeAll()
			return nil, 0, statedir.PathError("sync directory", s.logPath, err)
		}
	}
	return l, l.head(), nil
}

// headSync makes the last segment durable when a writable Open loads it:
// atomicfile.Datasync, a variable so that tests can watch it.
var headSync = atomicfile.Datasync

// scanTail scans the segment g and decides what follows its last frame:
// zeros, an unfinished append (only in the last segment, returned), or
// damage (hostapi.ErrCorrupt).
func scanTail(g *segment, path string, last bool) (*torn, error) {
	nz, err := scanSegment(g, path)
	if err != nil {
		return nil, err
	}
	if len(g.offsets) == 0 {
		return nil, corrupt(path, "no entry frame after the segment header")
	}
	if nz > g.end {
		if !last {
			return nil, corrupt(path, "the bytes at offset %d, after entry %d, are neither its next frame nor zeros", g.end, g.last())
		}
		r := make([]byte, nz-g.end)
		if err := readAt(g.f, path, r, g.end); err != nil {
			return nil, err
		}
		if err := judgeTail(path, g.end, r, g.last()+1); err != nil {
			return nil, err
		}
		return &torn{g: g, from: g.end, to: nz, bytes: r}, nil
	}
	if !last {
		return nil, nil
	}
	r, err := tornLast(g, path)
	if err != nil || r == nil {
		return nil, err
	}
	off, end := g.span(g.last())
	g.offsets = g.offsets[:len(g.offsets)-1]
	g.end = off
	return &torn{g: g, from: off, to: end, bytes: r}, nil
}

// tornPrefix starts the name of a file holding the bytes of a torn tail
// that a writable Open erased (saveTorn).
const tornPrefix = "torn-"

// saveTorn keeps the bytes of a torn tail, found where entry next would
// be, in log/torn-<next>-<unix nanoseconds> (mode 0600, synced, and the
// directory synced) before Open erases them, so that no evidence is ever
// destroyed.
func (s *Store) saveTorn(log *atomicfile.Dir, next uint64, b []byte) error {
	name := fmt.Sprintf("%s%d-%d", tornPrefix, next, time.Now().UnixNano())
	if err := log.Create(name, b, 0o600); err != nil {
		return statedir.PathError("save the unfinished append to", filepath.Join(s.logPath, name), err)
	}
	s.logger.Warn("kept the bytes of an unfinished append", "path", filepath.Join(s.logPath, name), "bytes", len(b))
	return nil
}

// migrate converts a log in the old layout (one file per entry, 1 to the
// last of legacy) into segments of at most segmentSize bytes (a frame
// larger than that gets a segment of its own, as an append does) and
// returns their first entries. Every entry is read and checked first: a
// damaged or missing one fails with hostapi.ErrCorrupt and changes
// nothing. The segments are then written and published (temp file,
// synced, renamed) from the last to the first, stale ones a crashed
// conversion left (stale, not in the new list) removed, log/ synced, and
// the segment of entry 1 published last and log/ synced again: until it
// is, Open takes the log for the old layout and converts it again. The
// entry files are removed only after that (removeLegacy), so a crash at
// any point leaves either the old layout whole or segments holding every
// entry beside entry files they hold, which the next writable Open
// removes.
func (s *Store) migrate(log *atomicfile.Dir, legacy, stale []uint64) ([]uint64, error) {
	head := legacy[len(legacy)-1]
	if uint64(len(legacy)) != head {
		return nil, hostapi.Errorf(hostapi.CodeCorrupt, "%s: the old layout's entry files are not 1 to %d (%d files)", s.logPath, head, len(legacy))
	}
	read := func(i uint64) ([]byte, error) {
		index, data, err := readFrame(log, entryName(i), magicEntry, hostapi.MaxEntryBytes)
		switch {
		case errors.Is(err, os.ErrNotExist):
			return nil, hostapi.Errorf(hostapi.CodeCorrupt, "entry %d is missing (head is %d)", i, head)
		case err != nil:
			return nil, err
		case index != i:
			return nil, hostapi.Errorf(hostapi.CodeCorrupt, "%s holds entry %d", filepath.Join(s.logPath, entryName(i)), index)
		}
		return data, nil
	}
	// Check every entry and place the segments' boundaries.
	type span struct {
		first, last uint64
		size        int64
	}
	var spans []span
	for i := uint64(1); i <= head; i++ {
		data, err := read(i)
		if err != nil {
			return nil, err
		}
		n := frameSize(len(data))
		if k := len(spans) - 1; k >= 0 && spans[k].size+n <= segmentSize {
			spans[k].last, spans[k].size = i, spans[k].size+n
			continue
		}
		spans = append(spans, span{first: i, last: i, size: segHeaderSize + n})
	}
	var firsts []uint64
	for _, sp := range spans {
		firsts = append(firsts, sp.first)
	}
	publish := func(sp span) error {
		size := max(segmentSize, sp.size)
		err := s.writeSegmentTmp(log, sp.first, size, func(f *os.File) (int64, error) {
			off := int64(segHeaderSize)
			for i := sp.first; i <= sp.last; i++ {
				data, err := read(i)
				if err != nil {
					return 0, err
				}
				frame := encodeFrame(i, data)
				if _, err := f.WriteAt(frame, off); err != nil {
					return 0, err
				}
				off += int64(len(frame))
			}
			return off, nil
		})
		if err == nil {
			err = log.Rename(segmentTmpName, segmentName(sp.first))
		}
		if err != nil {
			log.Remove(segmentTmpName)
		}
		return err
	}
	for k := len(spans) - 1; k >= 1; k-- {
		if err := publish(spans[k]); err != nil {
			return nil, err
		}
	}
	for _, first := range stale {
		if !slices.Contains(firsts, first) {
			if err := log.Remove(segmentName(first)); err != nil {
				return nil, statedir.PathError("remove", filepath.Join(s.logPath, segmentName(first)), err)
			}
		}
	}
	if err := log.Sync(); err != nil {
		return nil, statedir.PathError("sync directory", s.logPath, err)
	}
	if err := publish(spans[0]); err != nil {
		return nil, err
	}
	if err := log.Sync(); err != nil {
		return nil, statedir.PathError("sync directory", s.logPath, err)
	}
	s.logger.Info("converted the log to segments", "dir", s.logPath, "entries", head, "segments", len(spans))
	return firsts, nil
}

// writeSegmentTmp writes log/.tmp-segment, a segment of size bytes whose
// first entry is first: its header, what fill writes after it (up to the
// offset fill returns) and zeros to size, and syncs it. The caller renames
// it; on error it is removed.
func (s *Store) writeSegmentTmp(log *atomicfile.Dir, first uint64, size int64, fill func(*os.File) (int64, error)) error {
	tmpPath := filepath.Join(s.logPath, segmentTmpName)
	if err := log.Remove(segmentTmpName); err != nil {
		return statedir.PathError("remove", tmpPath, err)
	}
	f, err := log.OpenFile(segmentTmpName, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return statedir.PathError("create", tmpPath, err)
	}
	err = func() error {
		if err := f.Chmod(0o600); err != nil {
			return err
		}
		h := encodeSegmentHeader(first, size)
		if _, err := f.WriteAt(h[:], 0); err != nil {
			return err
		}
		end, err := fill(f)
		if err != nil {
			return err
		}
		if err := writeZeros(f, end, size); err != nil {
			return err
		}
		return f.Sync()
	}()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		log.Remove(segmentTmpName)
		if hostapi.CodeOf(err) == hostapi.CodeCorrupt {
			return err
		}
		return statedir.PathError("write", tmpPath, err)
	}
	return nil
}

// removeLegacy removes the old layout's entry files once a segment holds
// their entries, and syncs the directory.
func (s *Store) removeLegacy(log *atomicfile.Dir, legacy []uint64, head uint64) error {
	if last := legacy[len(legacy)-1]; last > head {
		return hostapi.Errorf(hostapi.CodeCorrupt, "%s: an old entry file names entry %d, beyond the segments' head %d", s.logPath, last, head)
	}
	for _, i := range legacy {
		if err := log.Remove(entryName(i)); err != nil {
			return statedir.PathError("remove", filepath.Join(s.logPath, entryName(i)), err)
		}
	}
	if err := log.Sync(); err != nil {
		return statedir.PathError("sync directory", s.logPath, err)
	}
	return nil
}

// framePath names where a frame lives, for errors.
func framePath(logPath string, g *segment, off int64) string {
	return fmt.Sprintf("%s (offset %d)", filepath.Join(logPath, g.name), off)
}
