package storefile

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/atomicfile"
	"github.com/rustynet/rustynet/plugins/internal/statedir"
)

// Segment and frame trailer magics; see the package documentation.
var (
	magicSegment = [4]byte{'R', 'N', 'L', '2'}
	magicTrailer = [4]byte{'R', 'N', 'T', '1'}
)

const (
	segHeaderSize = 24
	segCRCOffset  = 20
	trailerSize   = 4
	// entryHeaderSize is the size of a log entry frame's header in a
	// segment: magic, index, length, data CRC, header CRC.
	entryHeaderSize = 28
	segmentPrefix   = "seg-"
	segmentTmpName  = ".tmp-segment"
	// sectorSize is the unit a disk writes whole or not at all: a torn
	// append (one interrupted by a power loss) leaves at least one of the
	// frame's sectors as the zeros it replaced, unless it left the
	// trailer out (see tornAt).
	sectorSize = 512
	// zeroChunk is the size of the zero buffer the store writes from.
	zeroChunk = 64 << 10
	// scanChunk bounds the buffer Open reads a segment's unused end with.
	scanChunk = 1 << 20
)

// segmentSize is the size of a new segment unless its first frame needs
// more. A variable so that tests can make segments small.
var segmentSize int64 = 4 << 20

// zeros is a read-only buffer of zero bytes.
var zeros = make([]byte, zeroChunk)

// frameSize is the size of the frame of an entry of n data bytes.
func frameSize(n int) int64 { return entryHeaderSize + int64(n) + trailerSize }

// segmentName returns the file name of the segment whose first entry is
// first.
func segmentName(first uint64) string { return segmentPrefix + entryName(first) }

// parseSegmentName returns the first entry a segment file name stands for.
func parseSegmentName(name string) (uint64, bool) {
	rest, ok := strings.CutPrefix(name, segmentPrefix)
	if !ok {
		return 0, false
	}
	return parseEntryName(rest)
}

// encodeSegmentHeader returns the header of a segment of size bytes whose
// first entry is first.
func encodeSegmentHeader(first uint64, size int64) [segHeaderSize]byte {
	var h [segHeaderSize]byte
	copy(h[0:4], magicSegment[:])
	binary.BigEndian.PutUint64(h[4:12], first)
	binary.BigEndian.PutUint64(h[12:20], uint64(size))
	binary.BigEndian.PutUint32(h[segCRCOffset:], crc32.Checksum(h[:segCRCOffset], castagnoli))
	return h
}

// encodeFrame returns the whole frame of entry index: header, data,
// trailer.
func encodeFrame(index uint64, data []byte) []byte {
	buf := make([]byte, frameSize(len(data)))
	copy(buf[0:4], magicEntry[:])
	binary.BigEndian.PutUint64(buf[4:12], index)
	binary.BigEndian.PutUint64(buf[12:20], uint64(len(data)))
	binary.BigEndian.PutUint32(buf[20:24], crc32.Checksum(data, castagnoli))
	binary.BigEndian.PutUint32(buf[24:28], crc32.Checksum(buf[:24], castagnoli))
	copy(buf[entryHeaderSize:], data)
	copy(buf[entryHeaderSize+len(data):], magicTrailer[:])
	return buf
}

// frameHeader is an entry frame's header whose magic and header CRC are
// right, so that its fields can be trusted without its data.
type frameHeader struct {
	index, n uint64
	dataCRC  uint32
}

// parseHeader returns the header at the start of b (at least
// entryHeaderSize bytes) if its magic and header CRC are right.
func parseHeader(b []byte) (frameHeader, bool) {
	if [4]byte(b[0:4]) != magicEntry || crc32.Checksum(b[:24], castagnoli) != binary.BigEndian.Uint32(b[24:28]) {
		return frameHeader{}, false
	}
	return frameHeader{
		index:   binary.BigEndian.Uint64(b[4:12]),
		n:       binary.BigEndian.Uint64(b[12:20]),
		dataCRC: binary.BigEndian.Uint32(b[20:24]),
	}, true
}

// decodeEntryFrame checks the whole entry frame buf (header, data,
// trailer) and returns its index and data, which aliases buf.
func decodeEntryFrame(path string, buf []byte) (uint64, []byte, error) {
	if len(buf) < int(frameSize(0)) {
		return 0, nil, corrupt(path, "%d bytes, shorter than a frame", len(buf))
	}
	h, ok := parseHeader(buf)
	switch {
	case !ok:
		return 0, nil, corrupt(path, "bad frame header (magic %q or header CRC-32C)", buf[0:4])
	case h.n != uint64(len(buf))-uint64(frameSize(0)):
		return 0, nil, corrupt(path, "header says %d data bytes, frame holds %d", h.n, len(buf)-int(frameSize(0)))
	case [trailerSize]byte(buf[len(buf)-trailerSize:]) != magicTrailer:
		return 0, nil, corrupt(path, "bad frame trailer %q", buf[len(buf)-trailerSize:])
	}
	data := buf[entryHeaderSize : len(buf)-trailerSize]
	if got := crc32.Checksum(data, castagnoli); got != h.dataCRC {
		return 0, nil, corrupt(path, "data CRC-32C %08x, header says %08x", got, h.dataCRC)
	}
	return h.index, data, nil
}

// wholeFrameAt reports whether b holds a whole, valid entry frame (header,
// data CRC, trailer) starting at p, and returns its header.
func wholeFrameAt(b []byte, p int) (frameHeader, bool) {
	if len(b)-p < int(frameSize(0)) {
		return frameHeader{}, false
	}
	h, ok := parseHeader(b[p:])
	if !ok || h.n > uint64(len(b)-p)-uint64(frameSize(0)) {
		return frameHeader{}, false
	}
	end := p + int(frameSize(int(h.n)))
	if [trailerSize]byte(b[end-trailerSize:end]) != magicTrailer ||
		crc32.Checksum(b[p+entryHeaderSize:end-trailerSize], castagnoli) != h.dataCRC {
		return frameHeader{}, false
	}
	return h, true
}

// segment is one segment file as the store knows it.
type segment struct {
	first uint64
	name  string
	size  int64
	f     *os.File // open for reading, and for writing if the store is writable
	// offsets[k] is where entry first+k's frame starts; end is where the
	// next frame would start. Guarded by segLog.mu once published.
	offsets []int64
	end     int64
}

// last returns the index of the segment's last entry.
func (g *segment) last() uint64 { return g.first + uint64(len(g.offsets)) - 1 }

// span returns where entry i's frame, which the segment holds, starts and
// ends.
func (g *segment) span(i uint64) (int64, int64) {
	k := i - g.first
	end := g.end
	if k+1 < uint64(len(g.offsets)) {
		end = g.offsets[k+1]
	}
	return g.offsets[k], end
}

// segLog is the log as the store knows it: its segments in order, or, for
// a read-first store over the old layout, the fact that entries are one
// file each.
type segLog struct {
	mu     sync.RWMutex // guards segs and every segment's offsets and end
	segs   []*segment
	legacy bool
}

// head returns the index of the last entry the segments hold.
func (l *segLog) head() uint64 {
	if len(l.segs) == 0 {
		return 0
	}
	return l.segs[len(l.segs)-1].last()
}

// find returns the segment holding entry i and the frame's span, or nil.
// The caller holds l.mu.
func (l *segLog) find(i uint64) (*segment, int64, int64) {
	lo, hi := 0, len(l.segs)
	for lo < hi {
		m := (lo + hi) / 2
		if l.segs[m].first <= i {
			lo = m + 1
		} else {
			hi = m
		}
	}
	if lo == 0 {
		return nil, 0, 0
	}
	g := l.segs[lo-1]
	if i > g.last() {
		return nil, 0, 0
	}
	off, end := g.span(i)
	return g, off, end
}

// closeAll closes every segment file.
func (l *segLog) closeAll() {
	for _, g := range l.segs {
		g.f.Close()
	}
}

// corrupt returns a hostapi.ErrCorrupt naming path.
func corrupt(path, format string, args ...any) error {
	return hostapi.Errorf(hostapi.CodeCorrupt, "%s: %s", path, fmt.Sprintf(format, args...))
}

// readAt fills b from f at off; a short file is damage.
func readAt(f *os.File, path string, b []byte, off int64) error {
	if _, err := f.ReadAt(b, off); err != nil {
		if errors.Is(err, io.EOF) {
			return corrupt(path, "short read of %d bytes at offset %d", len(b), off)
		}
		return statedir.PathError("read", path, err)
	}
	return nil
}

// openSegment opens the segment file name in log, for writing too if
// write is set, never through a symbolic link.
func openSegment(log *atomicfile.Dir, name string, write bool) (*os.File, error) {
	path := filepath.Join(log.Path(), name)
	flag := os.O_RDONLY
	if write {
		flag = os.O_RDWR
	}
	f, err := log.OpenFile(name, flag|syscall.O_NONBLOCK, 0)
	switch {
	case errors.Is(err, syscall.ELOOP):
		return nil, corrupt(path, "a symbolic link")
	case errors.Is(err, syscall.EISDIR):
		return nil, corrupt(path, "a directory, not a regular file")
	case err != nil:
		return nil, statedir.PathError("open", path, err)
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, statedir.PathError("stat", path, err)
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, corrupt(path, "a %v, not a regular file", info.Mode().Type())
	}
	return f, nil
}

// scanSegment reads the header and frame headers of the segment g.f
// (g.first and g.name set) and fills in g.size, g.offsets and g.end: every
// frame whose header names the next index and whose trailer is present.
// It returns the end of the last non-zero byte after g.end (g.end if
// there is none). Frame data and CRCs are not read here: ReadLog checks
// them.
func scanSegment(g *segment, path string) (int64, error) {
	info, err := g.f.Stat()
	if err != nil {
		return 0, statedir.PathError("stat", path, err)
	}
	size := info.Size()
	if size < segHeaderSize {
		return 0, corrupt(path, "size %d, shorter than a segment header", size)
	}
	var h [segHeaderSize]byte
	if err := readAt(g.f, path, h[:], 0); err != nil {
		return 0, err
	}
	if [4]byte(h[0:4]) != magicSegment {
		return 0, corrupt(path, "bad segment magic %q, want %q", h[0:4], magicSegment[:])
	}
	if got, want := crc32.Checksum(h[:segCRCOffset], castagnoli), binary.BigEndian.Uint32(h[segCRCOffset:]); got != want {
		return 0, corrupt(path, "segment header CRC-32C %08x, header says %08x", got, want)
	}
	if first := binary.BigEndian.Uint64(h[4:12]); first != g.first {
		return 0, corrupt(path, "segment header says its first entry is %d", first)
	}
	if want := binary.BigEndian.Uint64(h[12:20]); uint64(size) != want {
		return 0, corrupt(path, "size %d, segment header says %d", size, want)
	}
	g.size = size
	off, next := int64(segHeaderSize), g.first
	var fh [entryHeaderSize]byte
	var tr [trailerSize]byte
	for size-off >= frameSize(0) {
		if err := readAt(g.f, path, fh[:], off); err != nil {
			return 0, err
		}
		h, ok := parseHeader(fh[:])
		if !ok {
			break
		}
		if h.index != next {
			// A header whose CRC holds is one this store wrote: a frame
			// out of place, never an unfinished append.
			return 0, corrupt(path, "frame at offset %d holds entry %d, want %d", off, h.index, next)
		}
		if h.n > hostapi.MaxEntryBytes || int64(h.n) > size-off-frameSize(0) {
			break
		}
		end := off + frameSize(int(h.n))
		if err := readAt(g.f, path, tr[:], end-trailerSize); err != nil {
			return 0, err
		}
		if tr != magicTrailer {
			break
		}
		g.offsets = append(g.offsets, off)
		off, next = end, next+1
	}
	g.end = off
	return lastNonZero(g.f, path, off, size)
}

// lastNonZero returns the end of the last non-zero byte of f in
// [from, to), or from if they are all zero.
func lastNonZero(f *os.File, path string, from, to int64) (int64, error) {
	if to <= from {
		return from, nil
	}
	buf := make([]byte, min(to-from, scanChunk))
	for end := to; end > from; {
		start := max(from, end-int64(len(buf)))
		b := buf[:end-start]
		if err := readAt(f, path, b, start); err != nil {
			return 0, err
		}
		for i := len(b) - 1; i >= 0; i-- {
			if b[i] != 0 {
				return start + int64(i) + 1, nil
			}
		}
		end = start
	}
	return from, nil
}

// torn is an unfinished append found past the head: the bytes in
// [from, to) of the last segment, to be saved aside and zeroed by a
// writable Open.
type torn struct {
	g        *segment
	from, to int64
	bytes    []byte // the bytes in [from, to)
}

// judgeTail decides whether r, the bytes after the last whole frame of
// the last segment up to its last non-zero byte, all of them at offset off
// of the segment, are an unfinished append of entry next (see the package
// documentation, "Torn tail"), and returns hostapi.ErrCorrupt if not: a
// whole valid frame anywhere in r is damage in the middle of the log, a
// trusted header of another entry at its start a frame out of place.
func judgeTail(path string, off int64, r []byte, next uint64) error {
	for p := range r {
		if p+int(frameSize(0)) > len(r) {
			break
		}
		if [4]byte(r[p:p+4]) != magicEntry {
			continue
		}
		if h, ok := wholeFrameAt(r, p); ok {
			return corrupt(path, "a whole frame of entry %d at offset %d, after the damaged frame of entry %d at offset %d", h.index, off+int64(p), next, off)
		}
	}
	if len(r) >= entryHeaderSize {
		if h, ok := parseHeader(r); ok && h.index != next {
			return corrupt(path, "frame at offset %d holds entry %d, want %d", off, h.index, next)
		}
	}
	return nil
}

// tornLast decides whether the last frame of g, whole with its trailer
// and followed only by zeros, is an append a power loss interrupted: its
// data CRC fails and one of the 512-byte sectors (aligned to the file)
// wholly inside its data holds only zeros (the zeros it was written
// over). A segment's first frame never is. It returns the frame's bytes
// if so.
func tornLast(g *segment, path string) ([]byte, error) {
	if len(g.offsets) < 2 {
		return nil, nil
	}
	off, end := g.span(g.last())
	buf := make([]byte, end-off)
	if err := readAt(g.f, path, buf, off); err != nil {
		return nil, err
	}
	if _, _, err := decodeEntryFrame(path, buf); err == nil {
		return nil, nil
	}
	from, to := off+entryHeaderSize, end-trailerSize
	for s := (from + sectorSize - 1) &^ (sectorSize - 1); s+sectorSize <= to; s += sectorSize {
		if allZero(buf[s-off : s-off+sectorSize]) {
			return buf, nil
		}
	}
	return nil, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// writeZeros writes zeros over [from, to) of f.
func writeZeros(f *os.File, from, to int64) error {
	for from < to {
		n := min(to-from, zeroChunk)
		if _, err := f.WriteAt(zeros[:n], from); err != nil {
			return err
		}
		from += n
	}
	return nil
}

// eraseFrame zeroes the unfinished frame in [from, to) of f, durably and
// so that a crash at any point leaves something a later Open still takes
// for a torn append (judgeTail, tornLast): the trailer first, then the
// data, then the header, each synced before the next begins.
func eraseFrame(f *os.File, from, to int64) error {
	steps := [][2]int64{
		{max(from+entryHeaderSize, to-trailerSize), to},
		{from + entryHeaderSize, to - trailerSize},
		{from, from + entryHeaderSize},
	}
	for _, st := range steps {
		a, b := st[0], min(st[1], to)
		if a >= b {
			continue
		}
		if err := writeZeros(f, a, b); err != nil {
			return err
		}
		if err := atomicfile.Datasync(f); err != nil {
			return err
		}
	}
	return nil
}
