//go:build unix

package storefile_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
)

// TestWritesFollowNoSymlink plants symbolic links where the store writes,
// after it opened its directory, as the owner of a state directory that
// a root daemon uses could: no write may reach the file or directory a link
// points to.
func TestWritesFollowNoSymlink(t *testing.T) {
	tests := []struct {
		name string
		// plant changes the open store's directory dir so that a write
		// would land in victim (a file or directory outside it).
		plant func(t *testing.T, dir, victim string)
		write func(t *testing.T, s hostapi.Store) error
		file  bool // victim is a file (else a directory)
	}{
		{"entry temp file is a link to a file", func(t *testing.T, dir, victim string) {
			must(t, os.Symlink(victim, filepath.Join(dir, "log", ".tmp-entry")))
		}, appendSix, true},
		{"snapshot temp file is a link to a file", func(t *testing.T, dir, victim string) {
			must(t, os.Symlink(victim, filepath.Join(dir, ".tmp-snapshot")))
		}, putSnapshot, true},
		{"log directory swapped for a link to a directory", func(t *testing.T, dir, victim string) {
			must(t, os.Rename(filepath.Join(dir, "log"), filepath.Join(dir, "log.moved")))
			must(t, os.Symlink(victim, filepath.Join(dir, "log")))
		}, appendSix, false},
		{"state directory swapped for a link to a directory", func(t *testing.T, dir, victim string) {
			must(t, os.Rename(dir, dir+".moved"))
			must(t, os.Symlink(victim, dir))
		}, putSnapshot, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "store")
			populate(t, dir)
			victim := filepath.Join(t.TempDir(), "victim")
			if tt.file {
				must(t, os.WriteFile(victim, []byte("not the store's"), 0o600))
			} else {
				must(t, os.Mkdir(victim, 0o700))
			}
			before := snapshotTree(t, victim)
			s := openStore(t, dir)
			tt.plant(t, dir, victim)
			err := tt.write(t, s)
			if diff := cmp.Diff(before, snapshotTree(t, victim)); diff != "" {
				t.Errorf("the write (error %v) reached %s (-before +after):\n%s", err, victim, diff)
			}
		})
	}
}

func appendSix(t *testing.T, s hostapi.Store) error {
	return s.Append(t.Context(), hostapi.LogEntry{Index: 6, Data: entry(6)})
}

func putSnapshot(t *testing.T, s hostapi.Store) error {
	return s.PutSnapshot(t.Context(), hostapi.Snapshot{Index: 5, Data: []byte("new snapshot")})
}

// snapshotTree returns the names and contents of path and everything
// below it.
func snapshotTree(t *testing.T, path string) map[string]string {
	t.Helper()
	out := make(map[string]string)
	err := filepath.Walk(path, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			out[p] = string(b)
		} else {
			out[p] = info.Mode().String()
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
