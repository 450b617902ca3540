package storefile_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
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

func TestLayout(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	populate(t, dir)
	want := []string{
		".", "LOCK", "log",
		"log/00000000000000000001", "log/00000000000000000002", "log/00000000000000000003",
		"log/00000000000000000004", "log/00000000000000000005",
		"snapshot",
	}
	if diff := cmp.Diff(want, names(t, dir)); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	b, err := os.ReadFile(filepath.Join(dir, "log", "00000000000000000002"))
	if err != nil {
		t.Fatal(err)
	}
	// The frame documented in doc.go: magic, index, length, CRC, data.
	wantFrame := []byte{'R', 'N', 'E', '1', 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 2}
	if len(b) != 26 || !slices.Equal(b[:20], wantFrame) || !slices.Equal(b[24:], entry(2)) {
		t.Errorf("entry 2 file: got %x, want %x, a CRC, then %x", b, wantFrame, entry(2))
	}
}

func TestStaleTempFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	populate(t, dir)
	for _, p := range []string{filepath.Join(dir, ".tmp-snapshot"), filepath.Join(dir, "log", ".tmp-entry")} {
		if err := os.WriteFile(p, []byte("half-written"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := openStore(t, dir)
	for _, p := range []string{filepath.Join(dir, ".tmp-snapshot"), filepath.Join(dir, "log", ".tmp-entry")} {
		if _, err := os.Lstat(p); !os.IsNotExist(err) {
			t.Errorf("%s after Open: got %v, want it removed", p, err)
		}
	}
	if h, err := s.Head(t.Context()); err != nil || h != 5 {
		t.Errorf("Head: got %d, %v; want 5, nil", h, err)
	}
}

// TestTamper checks that entry files moved, removed or replaced behind the
// store's back read as ErrCorrupt, never as the wrong entry.
func TestTamper(t *testing.T) {
	logFile := func(dir string, i int) string {
		return filepath.Join(dir, "log", "0000000000000000000"+string(rune('0'+i)))
	}
	for _, tc := range []struct {
		name    string
		tamper  func(dir string) error
		head    uint64
		corrupt []uint64 // entries that must read as ErrCorrupt; the others read back intact
	}{
		{
			name: "swapped",
			tamper: func(dir string) error {
				tmp := filepath.Join(dir, "x")
				return firstErr(os.Rename(logFile(dir, 2), tmp), os.Rename(logFile(dir, 4), logFile(dir, 2)), os.Rename(tmp, logFile(dir, 4)))
			},
			head: 5, corrupt: []uint64{2, 4},
		},
		{
			name:   "copied over another",
			tamper: func(dir string) error { return copyFile(logFile(dir, 1), logFile(dir, 3)) },
			head:   5, corrupt: []uint64{3},
		},
		{
			name:   "removed",
			tamper: func(dir string) error { return os.Remove(logFile(dir, 3)) },
			head:   5, corrupt: []uint64{3},
		},
		{
			name:   "renamed past the head",
			tamper: func(dir string) error { return os.Rename(logFile(dir, 3), logFile(dir, 7)) },
			head:   7, corrupt: []uint64{3, 6, 7},
		},
		{
			name:   "unknown files ignored",
			tamper: func(dir string) error { return os.WriteFile(filepath.Join(dir, "log", "notes"), []byte("x"), 0o600) },
			head:   5,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			populate(t, dir)
			if err := tc.tamper(dir); err != nil {
				t.Fatal(err)
			}
			s := openStore(t, dir)
			if h, err := s.Head(t.Context()); err != nil || h != tc.head {
				t.Fatalf("Head: got %d, %v; want %d, nil", h, err, tc.head)
			}
			for i := uint64(1); i <= tc.head; i++ {
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

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o600)
}
