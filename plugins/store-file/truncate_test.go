package storefile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/storelayout"
)

// TestTruncateLayout checks what Truncate leaves on disk: the entry files
// up to after, and the snapshot only if its index is at most after.
func TestTruncateLayout(t *testing.T) {
	for _, tc := range []struct {
		name     string
		after    uint64
		snapshot uint64
		want     []string
	}{
		{"to the middle, snapshot above", 2, 5, []string{".", "LOCK", "log", "log/seg-00000000000000000001"}},
		{"to the middle, snapshot at the new head", 2, 2, []string{".", "LOCK", "log", "log/seg-00000000000000000001", "snapshot"}},
		{"to empty", 0, 1, []string{".", "LOCK", "log"}},
		{"snapshot index with the high bit set", 4, 1<<63 + 5, []string{".", "LOCK", "log", "log/seg-00000000000000000001"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			populate(t, dir)
			s := openStore(t, dir)
			must(t, s.PutSnapshot(t.Context(), hostapi.Snapshot{Index: tc.snapshot, Data: []byte("s")}))
			must(t, s.Truncate(t.Context(), tc.after))
			if h, err := s.Head(t.Context()); err != nil || h != tc.after {
				t.Errorf("Head: got %d, %v; want %d, nil", h, err, tc.after)
			}
			must(t, s.Append(t.Context(), hostapi.LogEntry{Index: tc.after + 1, Data: entry(9)}))
			must(t, s.Truncate(t.Context(), tc.after))
			must(t, s.Close(t.Context()))
			if diff := cmp.Diff(tc.want, names(t, dir)); diff != "" {
				t.Errorf("files after Truncate(%d) (-want +got):\n%s", tc.after, diff)
			}
			if tc.after > 0 {
				b, err := os.ReadFile(seg1(dir))
				must(t, err)
				if len(b) != segSize || !allZero(b[frameOffset(tc.after+1):]) {
					t.Errorf("segment after Truncate(%d): %d bytes, want %d, zeros from offset %d", tc.after, len(b), segSize, frameOffset(tc.after+1))
				}
			}
			again := openStore(t, dir)
			if h, err := again.Head(t.Context()); err != nil || h != tc.after {
				t.Errorf("Head after reopening: got %d, %v; want %d, nil", h, err, tc.after)
			}
		})
	}
}

// TestTruncateDamagedSnapshot checks that a snapshot whose index cannot be
// read makes Truncate fail with CORRUPT before it removes anything.
func TestTruncateDamagedSnapshot(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	populate(t, dir)
	must(t, os.WriteFile(filepath.Join(dir, "snapshot"), []byte("not a frame, but long enough to look like one"), 0o600))
	before := names(t, dir)
	s := openStore(t, dir)
	if err := s.Truncate(t.Context(), 2); hostapi.CodeOf(err) != hostapi.CodeCorrupt {
		t.Errorf("Truncate: got %v, want CORRUPT", err)
	}
	if h, err := s.Head(t.Context()); err != nil || h != 5 {
		t.Errorf("Head: got %d, %v; want 5, nil", h, err)
	}
	must(t, s.Close(t.Context()))
	if diff := cmp.Diff(before, names(t, dir)); diff != "" {
		t.Errorf("files after the refused Truncate (-before +after):\n%s", diff)
	}
}

// TestTruncateReadFirst checks a read-first store: a Truncate that removes
// nothing (or is refused) creates nothing; one that removes takes the
// directory for writing.
func TestTruncateReadFirst(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	populate(t, dir)
	must(t, os.Remove(filepath.Join(dir, "LOCK"))) // as in a copy
	before := names(t, dir)
	t.Setenv(storelayout.ReadFirstEnv, "1")
	s := openStore(t, dir)
	must(t, s.Truncate(t.Context(), 5))
	if err := s.Truncate(t.Context(), 6); hostapi.CodeOf(err) != hostapi.CodeConflict {
		t.Errorf("Truncate beyond the head: got %v, want CONFLICT", err)
	}
	if diff := cmp.Diff(before, names(t, dir)); diff != "" {
		t.Errorf("files after Truncates that remove nothing (-before +after):\n%s", diff)
	}
	must(t, s.Truncate(t.Context(), 3))
	must(t, s.Close(t.Context()))
	want := []string{".", "LOCK", "log", "log/seg-00000000000000000001"}
	if diff := cmp.Diff(want, names(t, dir)); diff != "" {
		t.Errorf("files after Truncate(3) (-want +got):\n%s", diff)
	}
}
