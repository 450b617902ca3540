package storefile_test

import (
	"context"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/storelayout"
	storefile "github.com/rustynet/rustynet/plugins/store-file"
)

// populate creates a closed store at dir with entries 1..5 and a snapshot.
func populate(t *testing.T, dir string) {
	t.Helper()
	s := openStore(t, dir)
	for i := uint64(1); i <= 5; i++ {
		if err := s.Append(t.Context(), hostapi.LogEntry{Index: i, Data: entry(i)}); err != nil {
			t.Fatalf("Append(%d): %v", i, err)
		}
	}
	if err := s.PutSnapshot(t.Context(), hostapi.Snapshot{Index: 5, Data: []byte("snapshot")}); err != nil {
		t.Fatalf("PutSnapshot: %v", err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatalf("Close: %v", err)
	}
}

func entry(i uint64) []byte { return []byte{'e', byte(i)} }

func openStore(t *testing.T, dir string) *storefile.Store {
	t.Helper()
	s := storefile.New(nil)
	if err := s.Open(t.Context(), hostapi.StoreConfig{Dir: dir}); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

func names(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// seg1 is the path of the first segment below the store directory dir.
func seg1(dir string) string { return filepath.Join(dir, "log", "seg-00000000000000000001") }

// segSize is the size of a new segment.
const segSize = 4 << 20

// frame returns the frame doc.go documents for entry index holding data:
// magic, index, length, CRC-32C of data, CRC-32C of the header before
// it, data, trailer.
func frame(index uint64, data []byte) []byte {
	b := []byte("RNE1")
	b = binary.BigEndian.AppendUint64(b, index)
	b = binary.BigEndian.AppendUint64(b, uint64(len(data)))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(data, crc32.MakeTable(crc32.Castagnoli)))
	b = binary.BigEndian.AppendUint32(b, crc32.Checksum(b, crc32.MakeTable(crc32.Castagnoli)))
	b = append(b, data...)
	return append(b, "RNT1"...)
}

// frameOffset is where the frame of entry i (i <= 6) of a populated store
// starts: after the segment header and the frames before it.
func frameOffset(i uint64) int64 { return 24 + int64(i-1)*int64(len(frame(1, entry(1)))) }

func TestLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	populate(t, dir)
	want := []string{".", "LOCK", "log", "log/seg-00000000000000000001", "snapshot"}
	if diff := cmp.Diff(want, names(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	b, err := os.ReadFile(seg1(dir))
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != segSize {
		t.Fatalf("segment size %d, want %d", len(b), segSize)
	}
	// The segment header documented in doc.go: magic, first index, size,
	// CRC-32C of those.
	hdr := append([]byte("RNL2"), 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0x40, 0, 0)
	hdr = binary.BigEndian.AppendUint32(hdr, crc32.Checksum(hdr, crc32.MakeTable(crc32.Castagnoli)))
	if !slices.Equal(b[:24], hdr) {
		t.Errorf("segment header: got %x, want %x", b[:24], hdr)
	}
	off := 24
	for i := uint64(1); i <= 5; i++ {
		f := frame(i, entry(i))
		if got := b[off : off+len(f)]; !slices.Equal(got, f) {
			t.Errorf("entry %d's frame: got %x, want %x", i, got, f)
		}
		off += len(f)
	}
	if int64(off) != frameOffset(6) {
		t.Errorf("frames end at %d, frameOffset(6) is %d", off, frameOffset(6))
	}
	if !allZero(b[off:]) {
		t.Errorf("the segment after its frames is not all zeros")
	}
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

func TestStaleTempFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	populate(t, dir)
	temps := []string{filepath.Join(dir, ".tmp-snapshot"), filepath.Join(dir, "log", ".tmp-entry"), filepath.Join(dir, "log", ".tmp-segment")}
	for _, p := range temps {
		if err := os.WriteFile(p, []byte("half-written"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := openStore(t, dir)
	for _, p := range temps {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s after Open: got %v, want it removed", p, err)
		}
	}
	if h, err := s.Head(t.Context()); err != nil || h != 5 {
		t.Errorf("Head: got %d, %v; want 5, nil", h, err)
	}
}

// patch writes b at off of the file at path.
func patch(path string, off int64, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.WriteAt(b, off)
	return errors.Join(err, f.Close())
}

// TestTamper checks that a segment changed behind the store's back makes
// Open or the read of the damaged entry fail with ErrCorrupt, never read
// as the wrong entry.
func TestTamper(t *testing.T) {
	fsize := int64(len(frame(1, entry(1))))
	for _, tc := range []struct {
		name    string
		tamper  func(dir string) error
		open    bool     // Open fails with CORRUPT
		corrupt []uint64 // entries that must read as ErrCorrupt; the others read back intact
	}{
		{
			name:    "a data byte flipped",
			tamper:  func(dir string) error { return patch(seg1(dir), frameOffset(3)+28, []byte{'x'}) },
			corrupt: []uint64{3},
		},
		{
			name:    "the last entry's data byte flipped",
			tamper:  func(dir string) error { return patch(seg1(dir), frameOffset(5)+28, []byte{'x'}) },
			corrupt: []uint64{5},
		},
		{
			name: "frames swapped",
			tamper: func(dir string) error {
				return firstErr(patch(seg1(dir), frameOffset(2), frame(4, entry(4))), patch(seg1(dir), frameOffset(4), frame(2, entry(2))))
			},
			open: true,
		},
		{
			name:   "a frame copied over another",
			tamper: func(dir string) error { return patch(seg1(dir), frameOffset(3), frame(1, entry(1))) },
			open:   true,
		},
		{
			name:   "a frame's trailer damaged",
			tamper: func(dir string) error { return patch(seg1(dir), frameOffset(3)+fsize-1, []byte{'x'}) },
			open:   true,
		},
		{
			name:   "a frame zeroed",
			tamper: func(dir string) error { return patch(seg1(dir), frameOffset(3), make([]byte, fsize)) },
			open:   true,
		},
		{
			// Not a frame: taken for a torn append (see TestTornTail).
			name:   "garbage after the last frame",
			tamper: func(dir string) error { return patch(seg1(dir), frameOffset(6)+100, []byte{1}) },
		},
		{
			name:   "garbage at the segment's end",
			tamper: func(dir string) error { return patch(seg1(dir), segSize-1, []byte{1}) },
		},
		{
			name:   "a middle frame's length damaged",
			tamper: func(dir string) error { return patch(seg1(dir), frameOffset(3)+18, []byte{0x10}) },
			open:   true,
		},
		{
			name: "the next entry's frame after garbage",
			tamper: func(dir string) error {
				return patch(seg1(dir), frameOffset(6), append([]byte{1, 2, 3}, frame(6, entry(6))...))
			},
			open: true,
		},
		{
			name:   "the next entry's frame after a gap",
			tamper: func(dir string) error { return patch(seg1(dir), frameOffset(6)+8, frame(6, entry(6))) },
			open:   true,
		},
		{
			name:   "the segment header damaged",
			tamper: func(dir string) error { return patch(seg1(dir), 11, []byte{2}) },
			open:   true,
		},
		{
			name:   "the segment shortened",
			tamper: func(dir string) error { return os.Truncate(seg1(dir), segSize-1) },
			open:   true,
		},
		{
			name:   "the segment extended with zeros",
			tamper: func(dir string) error { return os.Truncate(seg1(dir), segSize+1) },
			open:   true,
		},
		{
			name: "the segment renamed",
			tamper: func(dir string) error {
				return os.Rename(seg1(dir), filepath.Join(dir, "log", "seg-00000000000000000002"))
			},
			open: true,
		},
		{
			name:   "unknown files ignored",
			tamper: func(dir string) error { return os.WriteFile(filepath.Join(dir, "log", "notes"), []byte("x"), 0o600) },
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			populate(t, dir)
			if err := tc.tamper(dir); err != nil {
				t.Fatal(err)
			}
			for _, readFirst := range []string{"", "1"} {
				t.Setenv(storelayout.ReadFirstEnv, readFirst)
				s := storefile.New(nil)
				err := s.Open(t.Context(), hostapi.StoreConfig{Dir: dir})
				if tc.open {
					if hostapi.CodeOf(err) != hostapi.CodeCorrupt {
						t.Errorf("Open (read first %q): got %v, want CORRUPT", readFirst, err)
					}
					if err == nil {
						s.Close(t.Context())
					}
					continue
				}
				if err != nil {
					t.Fatalf("Open (read first %q): %v", readFirst, err)
				}
				if h, err := s.Head(t.Context()); err != nil || h != 5 {
					t.Fatalf("Head: got %d, %v; want 5, nil", h, err)
				}
				for i := uint64(1); i <= 5; i++ {
					got, err := s.ReadLog(t.Context(), i, 1)
					if slices.Contains(tc.corrupt, i) {
						if hostapi.CodeOf(err) != hostapi.CodeCorrupt {
							t.Errorf("ReadLog(%d): got %v, %v; want CORRUPT", i, got, err)
						}
						continue
					}
					if want := []hostapi.LogEntry{{Index: i, Data: entry(i)}}; err != nil || !cmp.Equal(got, want) {
						t.Errorf("ReadLog(%d): got %v, %v; want %v, nil", i, got, err, want)
					}
				}
				must(t, s.Close(t.Context()))
			}
		})
	}
}

func TestLogNotADirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	populate(t, dir)
	logDir := filepath.Join(dir, "log")
	if err := os.RemoveAll(logDir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logDir, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	err := storefile.New(nil).Open(t.Context(), hostapi.StoreConfig{Dir: dir})
	if got := hostapi.CodeOf(err); got != hostapi.CodeCorrupt {
		t.Errorf("Open with log as a file: got %v (%v), want CORRUPT", got, err)
	}
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
