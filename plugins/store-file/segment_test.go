package storefile

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

// smallSegments makes new segments 4 KiB for the rest of the test.
func smallSegments(t *testing.T) {
	old := segmentSize
	segmentSize = 4 << 10
	t.Cleanup(func() { segmentSize = old })
}

func data(i uint64, n int) []byte {
	return bytes.Repeat(fmt.Appendf(nil, "%d,", i), n)[:n]
}

func open(t *testing.T, dir string) *Store {
	t.Helper()
	s := New(nil)
	if err := s.Open(t.Context(), hostapi.StoreConfig{Dir: dir}); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// openFilled opens a new store in a fresh directory and appends entries 1
// to n, each data(i, size) bytes; it returns the store and its directory.
func openFilled(t *testing.T, n uint64, size int) (*Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "store")
	s := open(t, dir)
	for i := uint64(1); i <= n; i++ {
		if err := s.Append(t.Context(), hostapi.LogEntry{Index: i, Data: data(i, size)}); err != nil {
			t.Fatalf("Append(%d): %v", i, err)
		}
	}
	return s, dir
}

// checkLog reads entries 1 to head, sized by size, back from a new store
// opened at dir.
func checkLog(t *testing.T, dir string, head uint64, size func(uint64) int) {
	t.Helper()
	s := open(t, dir)
	if h, _ := s.Head(t.Context()); h != head {
		t.Fatalf("Head: got %d, want %d", h, head)
	}
	got, err := s.ReadLog(t.Context(), 1, int(head)+1)
	if err != nil || uint64(len(got)) != head {
		t.Fatalf("ReadLog: %d entries, %v; want %d", len(got), err, head)
	}
	for _, e := range got {
		if !bytes.Equal(e.Data, data(e.Index, size(e.Index))) {
			t.Errorf("entry %d: wrong data", e.Index)
		}
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func segNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(filepath.Join(dir, "log"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// TestSegments appends across many segments, one of them larger than the
// rest for a frame that needs it, and truncates within a segment and at
// a segment's end.
func TestSegments(t *testing.T) {
	smallSegments(t)
	dir := filepath.Join(t.TempDir(), "store")
	size := func(i uint64) int {
		if i == 25 {
			return 10000
		}
		return 1000
	}
	s := open(t, dir)
	for i := uint64(1); i <= 40; i++ {
		if err := s.Append(t.Context(), hostapi.LogEntry{Index: i, Data: data(i, size(i))}); err != nil {
			t.Fatalf("Append(%d): %v", i, err)
		}
	}
	// Three 1000-byte frames fit in a 4 KiB segment: 1-3, 4-6, …, 22-24,
	// then 25 alone in a larger one, then 26-28, ….
	names := segNames(t, dir)
	if len(names) != 14 || names[8] != segmentName(25) || names[9] != segmentName(26) {
		t.Fatalf("segments: %v", names)
	}
	info, err := os.Stat(filepath.Join(dir, "log", segmentName(25)))
	if err != nil || info.Size() != segHeaderSize+frameSize(10000) {
		t.Errorf("the segment of entry 25: %v, %v; want %d bytes", info.Size(), err, segHeaderSize+frameSize(10000))
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkLog(t, dir, 40, size)

	s = open(t, dir)
	if err := s.Truncate(t.Context(), 20); err != nil { // within 19-21
		t.Fatal(err)
	}
	if got := segNames(t, dir); len(got) != 7 || got[6] != segmentName(19) {
		t.Errorf("segments after Truncate(20): %v", got)
	}
	if err := s.Truncate(t.Context(), 18); err != nil { // at the end of 16-18
		t.Fatal(err)
	}
	for i := uint64(19); i <= 30; i++ {
		if err := s.Append(t.Context(), hostapi.LogEntry{Index: i, Data: data(i, size(i))}); err != nil {
			t.Fatalf("Append(%d): %v", i, err)
		}
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkLog(t, dir, 30, size)
	s = open(t, dir)
	if err := s.Truncate(t.Context(), 1); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	checkLog(t, dir, 1, size)
}

// TestSegmentDamage checks the damage only several segments can show.
func TestSegmentDamage(t *testing.T) {
	smallSegments(t)
	for _, tc := range []struct {
		name   string
		damage func(log string) error
	}{
		{"a segment missing", func(log string) error { return os.Remove(filepath.Join(log, segmentName(4))) }},
		{"the first segment missing", func(log string) error { return os.Remove(filepath.Join(log, segmentName(1))) }},
		{"a segment renamed", func(log string) error {
			return os.Rename(filepath.Join(log, segmentName(4)), filepath.Join(log, segmentName(5)))
		}},
		{"garbage in a segment's unused end", func(log string) error {
			return writeAt(filepath.Join(log, segmentName(4)), segmentSize-1, []byte{1})
		}},
		{"a torn frame in a segment's unused end", func(log string) error {
			f := encodeFrame(7, data(7, 1000))
			return writeAt(filepath.Join(log, segmentName(4)), segHeaderSize+3*frameSize(1000), f[:100])
		}},
		{"a segment holding no frame", func(log string) error {
			h := encodeSegmentHeader(10, segmentSize)
			return os.WriteFile(filepath.Join(log, segmentName(10)), append(h[:], make([]byte, segmentSize-segHeaderSize)...), 0o600)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, dir := openFilled(t, 9, 1000)
			if err := s.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			if err := tc.damage(filepath.Join(dir, "log")); err != nil {
				t.Fatal(err)
			}
			again := New(nil)
			err := again.Open(t.Context(), hostapi.StoreConfig{Dir: dir})
			if hostapi.CodeOf(err) != hostapi.CodeCorrupt {
				t.Errorf("Open: got %v, want CORRUPT", err)
			}
			if err == nil {
				again.Close(t.Context())
			}
		})
	}
}

func writeAt(path string, off int64, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteAt(b, off)
	return err
}
