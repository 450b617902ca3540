package storesqlite_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/storelayout"
)

// TestTruncate checks what Truncate leaves in the database, read back by a
// new store: the rows up to after, and the snapshot only if its index, as
// a uint64, is at most after.
func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		after    uint64
		snapshot uint64
		wantSnap bool
	}{
		{"to the middle, snapshot above", 2, 5, false},
		{"to the middle, snapshot at the new head", 2, 2, true},
		{"to empty", 0, 1, false},
		// Stored as a negative integer; compared as the uint64 it is.
		{"snapshot index with the high bit set", 4, 1<<63 + 5, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			populate(t, dir)
			s := openStore(t, dir)
			snap := hostapi.Snapshot{Index: tc.snapshot, Data: []byte("s")}
			if err := s.PutSnapshot(t.Context(), snap); err != nil {
				t.Fatal(err)
			}
			if err := s.Truncate(t.Context(), tc.after); err != nil {
				t.Fatalf("Truncate(%d): %v", tc.after, err)
			}
			if h, err := s.Head(t.Context()); err != nil || h != tc.after {
				t.Errorf("Head: got %d, %v; want %d, nil", h, err, tc.after)
			}
			// The in-memory head follows: the next append goes at after+1.
			if err := s.Append(t.Context(), hostapi.LogEntry{Index: tc.after + 1, Data: entry(9)}); err != nil {
				t.Fatalf("Append(%d) after Truncate: %v", tc.after+1, err)
			}
			if err := s.Close(t.Context()); err != nil {
				t.Fatal(err)
			}
			again := openStore(t, dir)
			got, err := again.ReadLog(t.Context(), 1, 10)
			if err != nil {
				t.Fatal(err)
			}
			var want []hostapi.LogEntry
			for i := uint64(1); i <= tc.after; i++ {
				want = append(want, hostapi.LogEntry{Index: i, Data: entry(i)})
			}
			want = append(want, hostapi.LogEntry{Index: tc.after + 1, Data: entry(9)})
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("log after reopening (-want +got):\n%s", diff)
			}
			gotSnap, err := again.GetSnapshot(t.Context())
			switch {
			case tc.wantSnap && (err != nil || gotSnap.Index != snap.Index):
				t.Errorf("GetSnapshot: got %+v, %v; want index %d", gotSnap, err, snap.Index)
			case !tc.wantSnap && hostapi.CodeOf(err) != hostapi.CodeNotFound:
				t.Errorf("GetSnapshot: got %+v, %v; want NOT_FOUND", gotSnap, err)
			}
		})
	}
}

// TestTruncateEditedDatabase checks that a log whose last row moved behind
// the store's back makes Truncate fail with CONFLICT and change nothing.
func TestTruncateEditedDatabase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	populate(t, dir)
	s := openStore(t, dir)
	// Another writer of the file (the directory lock keeps stores out).
	execSQL(t, dir, `DELETE FROM log WHERE idx = 5`)
	if err := s.Truncate(t.Context(), 2); hostapi.CodeOf(err) != hostapi.CodeConflict {
		t.Errorf("Truncate: got %v, want CONFLICT", err)
	}
	if got, err := s.ReadLog(t.Context(), 1, 4); err != nil || len(got) != 4 {
		t.Errorf("ReadLog(1, 4): got %d entries, %v; want 4", len(got), err)
	}
	if _, err := s.GetSnapshot(t.Context()); err != nil {
		t.Errorf("GetSnapshot: %v, want the snapshot kept", err)
	}
}

// TestTruncateReadFirst checks a read-first store: a Truncate that removes
// nothing (or is refused) creates nothing; one that removes takes the
// directory for writing.
func TestTruncateReadFirst(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	populate(t, dir)
	if err := os.Remove(filepath.Join(dir, "LOCK")); err != nil { // as in a copy
		t.Fatal(err)
	}
	before := listing(t, dir)
	t.Setenv(storelayout.ReadFirstEnv, "1")
	s := openStore(t, dir)
	if err := s.Truncate(t.Context(), 5); err != nil {
		t.Errorf("Truncate at the head: %v", err)
	}
	if err := s.Truncate(t.Context(), 6); hostapi.CodeOf(err) != hostapi.CodeConflict {
		t.Errorf("Truncate beyond the head: got %v, want CONFLICT", err)
	}
	if diff := cmp.Diff(before, listing(t, dir)); diff != "" {
		t.Errorf("files after Truncates that remove nothing (-before +after):\n%s", diff)
	}
	if err := s.Truncate(t.Context(), 3); err != nil {
		t.Fatalf("Truncate(3): %v", err)
	}
	if h, err := s.Head(t.Context()); err != nil || h != 3 {
		t.Errorf("Head: got %d, %v; want 3, nil", h, err)
	}
}
