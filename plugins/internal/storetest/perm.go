package storetest

import (
	"crypto/sha256"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
)

// fileState is what a test can observe of one entry of a store directory.
type fileState struct {
	Mode fs.FileMode
	Size int64
	Hash [sha256.Size]byte
}

// tree returns the state of dir and everything below it, by relative path.
func tree(t testing.TB, dir string) map[string]fileState {
	t.Helper()
	out := map[string]fileState{}
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := fileState{Mode: info.Mode()}
		if info.Mode().IsRegular() {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			st.Size, st.Hash = int64(len(b)), sha256.Sum256(b)
		}
		rel, _ := filepath.Rel(dir, path)
		out[rel] = st
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", dir, err)
	}
	return out
}

// populated and populatedSnapshot are what populate writes.
var (
	populated = []hostapi.LogEntry{
		{Index: 1, Data: small(1)}, {Index: 2, Data: small(2)}, {Index: 3, Data: small(3)},
	}
	populatedSnapshot = hostapi.Snapshot{Index: 3, Data: []byte("snapshot")}
)

// populate creates a closed store at dir with a small log and a snapshot.
func (h *harness) populate(t testing.TB, dir string) {
	t.Helper()
	s := h.open(t, dir)
	appendRange(t, s, 1, 3, small)
	if err := s.PutSnapshot(t.Context(), populatedSnapshot); err != nil {
		t.Fatalf("PutSnapshot: got error %v, want nil", err)
	}
	closeStore(t, s)
}

func (h *harness) needPermissions(t *testing.T) {
	if !h.caps.Has(hostapi.StoreCapPermissions) {
		t.Skip("the store does not advertise StoreCapPermissions on this platform")
	}
}

// checkModes fails unless every directory in the tree is 0700 and every
// file 0600.
func checkModes(t testing.TB, dir string) {
	t.Helper()
	for path, st := range tree(t, dir) {
		want := fs.FileMode(0o600)
		if st.Mode.IsDir() {
			want = fs.ModeDir | 0o700
		}
		if st.Mode != want {
			t.Errorf("%s: got mode %v, want %v", filepath.Join(dir, path), st.Mode, want)
		}
	}
}

func testCreatedModes(t *testing.T, h *harness) {
	h.needPermissions(t)
	dir := filepath.Join(t.TempDir(), "missing", "parent", "store")
	s := h.open(t, dir)
	appendRange(t, s, 1, 3, small)
	if err := s.PutSnapshot(t.Context(), hostapi.Snapshot{Index: 3, Data: []byte("snapshot")}); err != nil {
		t.Fatalf("PutSnapshot: got error %v, want nil", err)
	}
	checkModes(t, filepath.Dir(filepath.Dir(dir)))
	closeStore(t, s)
	checkModes(t, dir)
}

func testLooseDir(t *testing.T, h *harness) {
	h.needPermissions(t)
	for _, mode := range []fs.FileMode{0o750, 0o705, 0o710, 0o701, 0o777} {
		t.Run(mode.String(), func(t *testing.T) {
			dir := newDir(t)
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(dir, mode); err != nil {
				t.Fatal(err)
			}
			before := tree(t, dir)
			err := h.newStore().Open(t.Context(), hostapi.StoreConfig{Dir: dir})
			wantCode(t, "Open", err, hostapi.CodePermission)
			if diff := cmp.Diff(before, tree(t, dir)); diff != "" {
				t.Errorf("directory changed by the failed Open (-before +after):\n%s", diff)
			}
		})
	}
}

// testLooseEntry loosens, one at a time, each file and directory a
// populated store consists of, whatever the store's layout.
func testLooseEntry(t *testing.T, h *harness) {
	h.needPermissions(t)
	dir := newDir(t)
	h.populate(t, dir)
	for rel, st := range tree(t, dir) {
		if rel == "." {
			continue
		}
		modes := []fs.FileMode{0o640, 0o604, 0o660}
		if st.Mode.IsDir() {
			modes = []fs.FileMode{0o750, 0o705}
		}
		for _, mode := range modes {
			t.Run(rel+"/"+mode.String(), func(t *testing.T) {
				path := filepath.Join(dir, rel)
				if err := os.Chmod(path, mode); err != nil {
					t.Fatal(err)
				}
				defer os.Chmod(path, st.Mode.Perm())
				before := tree(t, dir)
				err := h.newStore().Open(t.Context(), hostapi.StoreConfig{Dir: dir})
				wantCode(t, "Open", err, hostapi.CodePermission)
				if diff := cmp.Diff(before, tree(t, dir)); diff != "" {
					t.Errorf("directory changed by the failed Open (-before +after):\n%s", diff)
				}
			})
		}
	}
	s := h.open(t, dir)
	checkLog(t, s, 1, 3, small)
}
