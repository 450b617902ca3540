package storefile

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

// legacyLog makes at dir a store in the layout before segments whose
// entries 1 to n hold data(i, size(i)).
func legacyLog(t *testing.T, dir string, n uint64, size func(uint64) int) {
	t.Helper()
	s := open(t, dir)
	if err := s.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= n; i++ {
		d := data(i, size(i))
		h := encodeHeader(magicEntry, i, d)
		if err := os.WriteFile(filepath.Join(dir, "log", entryName(i)), append(h[:], d...), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// TestMigrateBoundedSegments checks that the conversion of the old layout
// writes segments of at most the segment size, a frame larger than that
// in a segment of its own, as appends do.
func TestMigrateBoundedSegments(t *testing.T) {
	smallSegments(t)
	dir := filepath.Join(t.TempDir(), "store")
	size := func(i uint64) int {
		if i == 5 {
			return 10000
		}
		return 1000
	}
	legacyLog(t, dir, 9, size)
	checkLog(t, dir, 9, size)
	want := []string{segmentName(1), segmentName(4), segmentName(5), segmentName(6), segmentName(9)}
	if got := segNames(t, dir); !slices.Equal(got, want) {
		t.Errorf("segments: got %v, want %v", got, want)
	}
	for _, name := range want {
		info, err := os.Stat(filepath.Join(dir, "log", name))
		if err != nil {
			t.Fatal(err)
		}
		wantSize := segmentSize
		if name == segmentName(5) {
			wantSize = segHeaderSize + frameSize(10000)
		}
		if info.Size() != wantSize {
			t.Errorf("%s: %d bytes, want %d", name, info.Size(), wantSize)
		}
	}
}

// TestMigrateAgain checks that segments a crashed conversion left without
// the segment of entry 1 (which it publishes last) are taken for an
// unfinished conversion: a read-first Open reads the old layout, a
// writable one converts again and drops them.
func TestMigrateAgain(t *testing.T) {
	smallSegments(t)
	dir := filepath.Join(t.TempDir(), "store")
	size := func(uint64) int { return 1000 }
	legacyLog(t, dir, 9, size)
	for _, name := range []string{segmentName(4), segmentName(8)} {
		if err := os.WriteFile(filepath.Join(dir, "log", name), []byte("left by a crash"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	checkLog(t, dir, 9, size)
	if got, want := segNames(t, dir), []string{segmentName(1), segmentName(4), segmentName(7)}; !slices.Equal(got, want) {
		t.Errorf("segments: got %v, want %v", got, want)
	}
}

// TestTruncateFailsAfterRemoval checks that a Truncate whose cut of a
// segment fails after it removed a later segment leaves the store failed
// (its head was lowered), and that the head is what the disk holds.
func TestTruncateFailsAfterRemoval(t *testing.T) {
	smallSegments(t)
	s, dir := openFilled(t, 9, 1000)
	// Segments 1, 4, 7. Make the copy of segment 4 fail: its file closed.
	g := s.files.Load().entries.segs[1]
	real := g.f
	closed, err := os.Open(real.Name())
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	g.f = closed
	err = s.Truncate(t.Context(), 5)
	real.Close()
	if err == nil {
		t.Fatal("Truncate with a failing copy: got nil, want an error")
	}
	if h, _ := s.Head(t.Context()); h != 6 {
		t.Errorf("Head after the failed Truncate: got %d, want 6", h)
	}
	if err := s.Append(t.Context(), hostapi.LogEntry{Index: 7, Data: data(7, 1000)}); hostapi.CodeOf(err) != hostapi.CodeInternal {
		t.Errorf("Append after a failed Truncate that removed a segment: got %v, want INTERNAL (the store failed)", err)
	}
	if err := s.Close(t.Context()); err != nil && !errors.Is(err, os.ErrClosed) {
		t.Fatal(err)
	}
	checkLog(t, dir, 6, func(uint64) int { return 1000 })
}
