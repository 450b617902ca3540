package storefile

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"io/fs"
	"path/filepath"
	"syscall"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/atomicfile"
	"github.com/rustynet/rustynet/plugins/internal/statedir"
)

// Frame magics; see the package documentation for the frame layout.
var (
	magicEntry    = [4]byte{'R', 'N', 'E', '1'}
	magicSnapshot = [4]byte{'R', 'N', 'S', '1'}
)

const (
	headerSize = 24
	crcOffset  = 20
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// encodeHeader returns the frame header for data.
func encodeHeader(magic [4]byte, index uint64, data []byte) [headerSize]byte {
	var h [headerSize]byte
	copy(h[0:4], magic[:])
	binary.BigEndian.PutUint64(h[4:12], index)
	binary.BigEndian.PutUint64(h[12:20], uint64(len(data)))
	crc := crc32.Update(crc32.Checksum(h[:crcOffset], castagnoli), castagnoli, data)
	binary.BigEndian.PutUint32(h[crcOffset:], crc)
	return h
}

// readFrame reads the frame in the file name in dir (never through a
// symbolic link) and returns its index and data. A missing file returns an
// error wrapping fs.ErrNotExist; any damage, a link or anything but a
// regular file included, returns hostapi.ErrCorrupt. maxData bounds the
// allocation, so a damaged length or a grown file cannot make the store
// allocate without limit.
func readFrame(dir *atomicfile.Dir, name string, magic [4]byte, maxData int) (uint64, []byte, error) {
	path := filepath.Join(dir.Path(), name)
	f, err := dir.Open(name)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return 0, nil, err
	case errors.Is(err, syscall.ELOOP):
		return 0, nil, hostapi.Errorf(hostapi.CodeCorrupt, "%s is a symbolic link", path)
	case err != nil:
		return 0, nil, statedir.PathError("open", path, err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return 0, nil, statedir.PathError("stat", path, err)
	}
	if !info.Mode().IsRegular() {
		return 0, nil, hostapi.Errorf(hostapi.CodeCorrupt, "%s is a %v, not a regular file", path, info.Mode().Type())
	}
	size := info.Size()
	if size < headerSize || size-headerSize > int64(maxData) {
		return 0, nil, hostapi.Errorf(hostapi.CodeCorrupt, "%s: size %d is outside [%d, %d]", path, size, headerSize, headerSize+maxData)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(f, buf); err != nil {
		// The file shrank under us, which nothing of ours ever does.
		return 0, nil, hostapi.Errorf(hostapi.CodeCorrupt, "%s: read: %v", path, err)
	}
	return decodeFrame(path, magic, buf)
}

// decodeFrame checks a whole frame and returns its index and data, which
// aliases buf.
func decodeFrame(path string, magic [4]byte, buf []byte) (uint64, []byte, error) {
	if [4]byte(buf[0:4]) != magic {
		return 0, nil, hostapi.Errorf(hostapi.CodeCorrupt, "%s: bad magic %q, want %q", path, buf[0:4], magic[:])
	}
	index := binary.BigEndian.Uint64(buf[4:12])
	n := binary.BigEndian.Uint64(buf[12:20])
	data := buf[headerSize:]
	if n != uint64(len(data)) {
		return 0, nil, hostapi.Errorf(hostapi.CodeCorrupt, "%s: header says %d data bytes, file holds %d", path, n, len(data))
	}
	want := binary.BigEndian.Uint32(buf[crcOffset:headerSize])
	got := crc32.Update(crc32.Checksum(buf[:crcOffset], castagnoli), castagnoli, data)
	if got != want {
		return 0, nil, hostapi.Errorf(hostapi.CodeCorrupt, "%s: CRC-32C %08x, header says %08x", path, got, want)
	}
	return index, data, nil
}
