package storesqlite_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
	storesqlite "github.com/rustynet/rustynet/plugins/store-sqlite"
)

func entry(i uint64) []byte { return []byte{'e', byte(i)} }

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

func openStore(t *testing.T, dir string) *storesqlite.Store {
	t.Helper()
	s := storesqlite.New(nil)
	if err := s.Open(t.Context(), hostapi.StoreConfig{Dir: dir}); err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// execSQL runs statements on the closed store's database directly.
func execSQL(t *testing.T, dir string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, q := range stmts {
		if _, err := db.ExecContext(t.Context(), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestTamper checks that rows changed behind the store's back read as
// ErrCorrupt, never as wrong data, and that a database without our schema
// is refused.
func TestTamper(t *testing.T) {
	for _, tc := range []struct {
		name     string
		stmts    []string
		open     hostapi.Code // Open's result; the reads are checked only if OK
		head     uint64
		corrupt  []uint64 // entries that must read as ErrCorrupt; the others read back intact
		snapshot hostapi.Code
	}{
		{name: "row moved", stmts: []string{`UPDATE log SET idx = 7 WHERE idx = 3`}, head: 7, corrupt: []uint64{3, 6, 7}},
		{name: "rows swapped", stmts: []string{
			`UPDATE log SET idx = 100 WHERE idx = 2`, `UPDATE log SET idx = 2 WHERE idx = 4`, `UPDATE log SET idx = 4 WHERE idx = 100`,
		}, head: 5, corrupt: []uint64{2, 4}},
		{name: "data changed", stmts: []string{`UPDATE log SET data = x'6502' WHERE idx = 3`}, head: 5, corrupt: []uint64{3}},
		{name: "row deleted", stmts: []string{`DELETE FROM log WHERE idx = 3`}, head: 5, corrupt: []uint64{3}},
		{name: "snapshot changed", stmts: []string{`UPDATE snapshot SET idx = 4`}, head: 5, snapshot: hostapi.CodeCorrupt},
		{name: "log table dropped", stmts: []string{`DROP TABLE log`}, open: hostapi.CodeCorrupt},
		{name: "schema version unknown", stmts: []string{`PRAGMA user_version = 0`}, open: hostapi.CodeCorrupt},
		{name: "schema version from the future", stmts: []string{`PRAGMA user_version = 2`}, open: hostapi.CodeUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			populate(t, dir)
			execSQL(t, dir, tc.stmts...)
			s := storesqlite.New(nil)
			t.Cleanup(func() { s.Close(context.Background()) })
			err := s.Open(t.Context(), hostapi.StoreConfig{Dir: dir})
			if got := hostapi.CodeOf(err); got != tc.open {
				t.Fatalf("Open: got %v (%v), want %v", got, err, tc.open)
			}
			if err != nil {
				return
			}
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
			_, err = s.GetSnapshot(t.Context())
			if got := hostapi.CodeOf(err); got != tc.snapshot {
				t.Errorf("GetSnapshot: got %v (%v), want %v", got, err, tc.snapshot)
			}
		})
	}
}

// TestWALFiles checks that the store really runs in WAL mode with its WAL
// files private, which the shared permission case relies on to cover them.
func TestWALFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	s := openStore(t, dir)
	if err := s.Append(t.Context(), hostapi.LogEntry{Index: 1, Data: entry(1)}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"store.db", "store.db-wal", "store.db-shm"} {
		info, err := os.Lstat(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s while open: %v", name, err)
			continue
		}
		if got := info.Mode(); got != 0o600 {
			t.Errorf("%s: got mode %v, want -rw-------", name, got)
		}
	}
}

// TestStaleNewDatabase checks that a database creation cut short (a
// leftover store.db.new) neither blocks nor leaks into a new store.
func TestStaleNewDatabase(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "store")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"store.db.new", "store.db.new-wal"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("cut short"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	s := openStore(t, dir)
	if h, err := s.Head(t.Context()); err != nil || h != 0 {
		t.Errorf("Head: got %d, %v; want 0, nil", h, err)
	}
	for _, name := range []string{"store.db.new", "store.db.new-wal"} {
		if _, err := os.Lstat(filepath.Join(dir, name)); !os.IsNotExist(err) {
			t.Errorf("%s after Open: got %v, want it removed", name, err)
		}
	}
}
