package storesqlite_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/storelayout"
)

// listing returns the names in dir, sorted.
func listing(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

// TestReadFirst opens stores as the CLI's reading commands do
// (storelayout.ReadFirstEnv): they read everything and create nothing, and
// take the directory for writing only when they write.
func TestReadFirst(t *testing.T) {
	t.Run("a populated directory reads whole and stays as it was", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "store")
		populate(t, dir)
		if err := os.Remove(filepath.Join(dir, "LOCK")); err != nil { // as in a copy
			t.Fatal(err)
		}
		before := listing(t, dir)
		t.Setenv(storelayout.ReadFirstEnv, "1")
		s := openStore(t, dir)
		if head, err := s.Head(t.Context()); err != nil || head != 5 {
			t.Fatalf("Head: %d, %v, want 5", head, err)
		}
		if got, err := s.ReadLog(t.Context(), 1, 10); err != nil || len(got) != 5 {
			t.Fatalf("ReadLog: %d entries, %v, want 5", len(got), err)
		}
		if _, err := s.GetSnapshot(t.Context()); err != nil {
			t.Fatalf("GetSnapshot: %v", err)
		}
		if err := s.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(before, listing(t, dir)); diff != "" {
			t.Errorf("files after reading (-before +after):\n%s", diff)
		}
	})
	t.Run("a missing directory reads as empty and is created by the first write", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "store")
		t.Setenv(storelayout.ReadFirstEnv, "1")
		s := openStore(t, dir)
		if head, err := s.Head(t.Context()); err != nil || head != 0 {
			t.Fatalf("Head: %d, %v, want 0", head, err)
		}
		if _, err := s.GetSnapshot(t.Context()); hostapi.CodeOf(err) != hostapi.CodeNotFound {
			t.Fatalf("GetSnapshot: %v, want NOT_FOUND", err)
		}
		if _, err := os.Lstat(dir); !os.IsNotExist(err) {
			t.Fatalf("directory after a read-first Open: %v, want none", err)
		}
		if err := s.Append(t.Context(), hostapi.LogEntry{Index: 1, Data: entry(1)}); err != nil {
			t.Fatalf("Append: %v", err)
		}
		if got, err := s.ReadLog(t.Context(), 1, 1); err != nil || len(got) != 1 {
			t.Fatalf("ReadLog after the first write: %v, %v", got, err)
		}
	})
	t.Run("a write after another store's is refused", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "store")
		populate(t, dir)
		if err := os.Remove(filepath.Join(dir, "LOCK")); err != nil {
			t.Fatal(err)
		}
		t.Setenv(storelayout.ReadFirstEnv, "1")
		reader := openStore(t, dir)
		t.Setenv(storelayout.ReadFirstEnv, "")
		writer := openStore(t, dir)
		if err := writer.Append(t.Context(), hostapi.LogEntry{Index: 6, Data: entry(6)}); err != nil {
			t.Fatal(err)
		}
		if err := writer.Close(t.Context()); err != nil {
			t.Fatal(err)
		}
		err := reader.Append(t.Context(), hostapi.LogEntry{Index: 6, Data: entry(66)})
		if hostapi.CodeOf(err) != hostapi.CodeConflict {
			t.Errorf("Append after another store appended: got %v, want CONFLICT", err)
		}
		if err := reader.Append(t.Context(), hostapi.LogEntry{Index: 7, Data: entry(7)}); err == nil {
			t.Errorf("a second Append after the conflict succeeded, want it refused too")
		}
	})
}
