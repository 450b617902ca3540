package statedir

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/storelayout"
)

// entries lists dir's entries ("" if dir is missing).
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return []string{""}
	}
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestReadFirstCreatesNothing(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir string)
	}{
		{"missing directory", func(t *testing.T, dir string) {}},
		{"empty directory", func(t *testing.T, dir string) { must(t, os.Mkdir(dir, 0o700)) }},
		{"directory with a lock file", func(t *testing.T, dir string) {
			must(t, os.Mkdir(dir, 0o700))
			must(t, os.WriteFile(filepath.Join(dir, LockFileName), nil, 0o600))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			tc.setup(t, dir)
			before := entries(t, dir)
			d, err := Open(dir, storelayout.File, ReadFirst)
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			defer d.Close()
			if d.Writable() {
				t.Error("a read-first directory is writable before MakeWritable")
			}
			if got := entries(t, dir); !slices.Equal(got, before) {
				t.Errorf("entries after Open: %q, want %q as before", got, before)
			}
			// Readers share.
			other, err := Open(dir, storelayout.File, ReadFirst)
			if err != nil {
				t.Fatalf("a second reader: %v", err)
			}
			other.Close()
			if err := d.MakeWritable(); err != nil {
				t.Fatalf("MakeWritable: %v", err)
			}
			if !d.Writable() || d.Root() == nil {
				t.Fatalf("after MakeWritable: writable %v, root %v", d.Writable(), d.Root())
			}
			if got := entries(t, dir); !slices.Contains(got, LockFileName) {
				t.Errorf("entries after MakeWritable: %q, want the lock file", got)
			}
		})
	}
}

func TestReadFirstLocks(t *testing.T) {
	if !Capabilities.Has(hostapi.StoreCapLock) {
		t.Skip("no inter-process lock on this platform")
	}
	dir := filepath.Join(t.TempDir(), "state")
	writer, err := Open(dir, storelayout.File, Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := Open(dir, storelayout.File, ReadFirst); hostapi.CodeOf(err) != hostapi.CodeLocked {
		d.Close()
		t.Errorf("reader while a store holds the directory: got %v, want LOCKED", err)
	}
	writer.Close()

	reader, err := Open(dir, storelayout.File, ReadFirst)
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	if d, err := Open(dir, storelayout.File, Exclusive); hostapi.CodeOf(err) != hostapi.CodeLocked {
		d.Close()
		t.Errorf("store while a reader holds the directory: got %v, want LOCKED", err)
	}
	second, err := Open(dir, storelayout.File, ReadFirst)
	if err != nil {
		t.Fatal(err)
	}
	if err := reader.MakeWritable(); hostapi.CodeOf(err) != hostapi.CodeLocked {
		t.Errorf("MakeWritable while another reader holds the directory: got %v, want LOCKED", err)
	}
	second.Close()
}

// TestAnotherStoresDirectory checks that a store refuses a directory
// another kind of store keeps, before it creates anything.
func TestAnotherStoresDirectory(t *testing.T) {
	for _, mode := range []Mode{Exclusive, ReadFirst} {
		dir := filepath.Join(t.TempDir(), "state")
		must(t, os.Mkdir(dir, 0o700))
		must(t, os.WriteFile(filepath.Join(dir, "store.db"), nil, 0o600))
		d, err := Open(dir, storelayout.File, mode)
		if hostapi.CodeOf(err) != hostapi.CodeConflict {
			d.Close()
			t.Errorf("mode %d: got %v, want CONFLICT", mode, err)
		}
		if got := entries(t, dir); !slices.Equal(got, []string{"store.db"}) {
			t.Errorf("mode %d: entries after a refused Open: %q, want only store.db", mode, got)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
