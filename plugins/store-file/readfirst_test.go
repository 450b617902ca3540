package storefile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/storelayout"
	storefile "github.com/rustynet/rustynet/plugins/store-file"
)

// TestReadFirst opens stores as the CLI's reading commands do
// (storelayout.ReadFirstEnv): they read everything and create nothing, and
// take the directory for writing only when they write.
func TestReadFirst(t *testing.T) {
	t.Run("a populated directory reads whole and stays as it was", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "store")
		populate(t, dir)
		must(t, os.Remove(filepath.Join(dir, "LOCK"))) // as in a copy
		before := names(t, dir)
		t.Setenv(storelayout.ReadFirstEnv, "1")
		s := openStore(t, dir)
		if head, err := s.Head(t.Context()); err != nil || head != 5 {
			t.Fatalf("Head: %d, %v, want 5", head, err)
		}
		got, err := s.ReadLog(t.Context(), 1, 10)
		if err != nil || len(got) != 5 {
			t.Fatalf("ReadLog: %d entries, %v, want 5", len(got), err)
		}
		if _, err := s.GetSnapshot(t.Context()); err != nil {
			t.Fatalf("GetSnapshot: %v", err)
		}
		must(t, s.Close(t.Context()))
		if diff := cmp.Diff(before, names(t, dir)); diff != "" {
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
		if _, err := os.Lstat(dir); !os.IsNotExist(err) {
			t.Fatalf("directory after a read-first Open: %v, want none", err)
		}
		if err := s.Append(t.Context(), hostapi.LogEntry{Index: 1, Data: entry(1)}); err != nil {
			t.Fatalf("Append: %v", err)
		}
		if diff := cmp.Diff([]string{".", "LOCK", "log", "log/seg-00000000000000000001"}, names(t, dir)); diff != "" {
			t.Errorf("files after the first write (-want +got):\n%s", diff)
		}
	})
	t.Run("a write after another store's is refused", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "store")
		populate(t, dir)
		must(t, os.Remove(filepath.Join(dir, "LOCK"))) // no lock file: nothing to share
		t.Setenv(storelayout.ReadFirstEnv, "1")
		reader := openStore(t, dir)
		t.Setenv(storelayout.ReadFirstEnv, "")
		writer := openStore(t, dir)
		must(t, writer.Append(t.Context(), hostapi.LogEntry{Index: 6, Data: entry(6)}))
		must(t, writer.Close(t.Context()))
		err := reader.Append(t.Context(), hostapi.LogEntry{Index: 6, Data: entry(66)})
		if hostapi.CodeOf(err) != hostapi.CodeConflict {
			t.Errorf("Append after another store appended: got %v, want CONFLICT", err)
		}
		if err := reader.Append(t.Context(), hostapi.LogEntry{Index: 7, Data: entry(7)}); err == nil {
			t.Errorf("a second Append after the conflict succeeded, want it refused too")
		}
		must(t, reader.Close(t.Context()))
		check := storefile.New(nil)
		must(t, check.Open(t.Context(), hostapi.StoreConfig{Dir: dir}))
		defer check.Close(t.Context())
		got, err := check.ReadLog(t.Context(), 6, 1)
		if err != nil || len(got) != 1 || string(got[0].Data) != string(entry(6)) {
			t.Errorf("entry 6: %v, %v, want the other store's", got, err)
		}
	})
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
