package conformance

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
)

func storeFileCases() []Case {
	lock := Capability{Store: hostapi.StoreCapLock}
	perms := Capability{Store: hostapi.StoreCapPermissions}
	return []Case{
		{
			ID: "store.lock.second-instance", Level: Must, Needs: lock,
			Rule: "while one instance has a directory open, Open of it by another fails with LOCKED; after Close it succeeds",
			Run:  storeLockSecondInstance,
		},
		{
			ID: "store.permissions.created", Level: Must, Needs: perms,
			Rule: "every directory the store creates, its directory's missing parents included, is mode 0700 and every file 0600",
			Run:  storeCreatedModes,
		},
		{
			ID: "store.permissions.loose-dir", Level: Must, Needs: perms,
			Rule: "Open of a directory that group or others can access fails with PERMISSION and changes nothing",
			Run:  storeLooseDir,
		},
		{
			ID: "store.permissions.loose-file", Level: Must, Needs: perms,
			Rule: "Open of a store holding a file or directory that group or others can access fails with PERMISSION and changes nothing",
			Run:  storeLooseEntry,
		},
	}
}

func storeLockSecondInstance(ctx context.Context, env *Env) error {
	first, dir, err := freshStore(ctx, env)
	if err != nil {
		return err
	}
	if err := appendRange(ctx, first, 1, 2, small); err != nil {
		return err
	}
	second, err := env.StartStore(ctx)
	if err != nil {
		return err
	}
	err = second.Open(ctx, hostapi.StoreConfig{Dir: dir})
	if err == nil {
		_ = second.Close(ctx)
	}
	if err := wantCode("Open by a second instance while the first has it open", err, hostapi.CodeLocked); err != nil {
		return err
	}
	if err := errs(wantHead(ctx, first, 2), appendRange(ctx, first, 3, 3, small)); err != nil {
		return fmt.Errorf("the first instance after the refused Open: %w", err)
	}
	if err := first.Close(ctx); err != nil {
		return fmt.Errorf("Close: %w", err)
	}
	third, err := env.OpenStore(ctx, dir)
	if err != nil {
		return fmt.Errorf("Open by another instance after the first closed: %w", err)
	}
	return errs(wantHead(ctx, third, 3), checkLog(ctx, third, 1, 3, small))
}

// fileState is what the suite can observe of one entry of a directory.
type fileState struct {
	Mode fs.FileMode
	Size int64
	Hash [sha256.Size]byte
}

// tree returns the state of dir and everything below it, by relative path.
func tree(dir string) (map[string]fileState, error) {
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
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		out[rel] = st
		return nil
	})
	return out, err
}

// populatedSnapshot is the snapshot populate puts; its entries are
// small(1) to small(3).
var populatedSnapshot = hostapi.Snapshot{Index: 3, Data: []byte("snapshot")}

// populate makes a closed store at dir with three entries and a snapshot.
func populate(ctx context.Context, env *Env, dir string) error {
	s, err := env.OpenStore(ctx, dir)
	if err != nil {
		return err
	}
	if err := appendRange(ctx, s, 1, 3, small); err != nil {
		return err
	}
	if err := s.PutSnapshot(ctx, populatedSnapshot); err != nil {
		return fmt.Errorf("PutSnapshot: %w", err)
	}
	return closeAndKill(ctx, s)
}

// checkModes fails unless every directory in dir's tree is 0700 and every
// other entry 0600.
func checkModes(dir string) error {
	t, err := tree(dir)
	if err != nil {
		return err
	}
	var bad []string
	for path, st := range t {
		want := fs.FileMode(0o600)
		if st.Mode.IsDir() {
			want = fs.ModeDir | 0o700
		}
		if st.Mode != want {
			bad = append(bad, fmt.Sprintf("%s: got mode %v, want %v", filepath.Join(dir, path), st.Mode, want))
		}
	}
	sort.Strings(bad)
	if len(bad) > 0 {
		return fmt.Errorf("wrong modes:\n%s", strings.Join(bad, "\n"))
	}
	return nil
}

func storeCreatedModes(ctx context.Context, env *Env) error {
	parent, err := env.TempDir()
	if err != nil {
		return err
	}
	// The store creates the missing parents of its directory too.
	created := filepath.Join(parent, "missing")
	dir := filepath.Join(created, "parent", "store")
	s, err := env.OpenStore(ctx, dir)
	if err != nil {
		return err
	}
	if err := appendRange(ctx, s, 1, 3, small); err != nil {
		return err
	}
	if err := s.PutSnapshot(ctx, hostapi.Snapshot{Index: 3, Data: []byte("snapshot")}); err != nil {
		return fmt.Errorf("PutSnapshot: %w", err)
	}
	if err := checkModes(created); err != nil {
		return fmt.Errorf("while open: %w", err)
	}
	if err := s.Close(ctx); err != nil {
		return fmt.Errorf("Close: %w", err)
	}
	if err := checkModes(created); err != nil {
		return fmt.Errorf("after Close: %w", err)
	}
	return nil
}

// refuseLoose checks that Open of dir fails with PERMISSION and leaves the
// tree as it was.
func refuseLoose(ctx context.Context, env *Env, dir, what string) error {
	before, err := tree(dir)
	if err != nil {
		return err
	}
	s, err := env.StartStore(ctx)
	if err != nil {
		return err
	}
	err = s.Open(ctx, hostapi.StoreConfig{Dir: dir})
	if err == nil {
		_ = s.Close(ctx)
	}
	s.Kill()
	if err := wantCode("Open with "+what, err, hostapi.CodePermission); err != nil {
		return err
	}
	after, err := tree(dir)
	if err != nil {
		return err
	}
	if diff := cmp.Diff(before, after); diff != "" {
		return fmt.Errorf("the refused Open with %s changed the directory (-before +after):\n%s", what, diff)
	}
	return nil
}

func storeLooseDir(ctx context.Context, env *Env) error {
	var fails []error
	for _, mode := range []fs.FileMode{0o750, 0o705, 0o710, 0o701, 0o777} {
		dir, err := storeDir(env)
		if err != nil {
			return err
		}
		if err := os.Mkdir(dir, 0o700); err != nil {
			return err
		}
		if err := os.Chmod(dir, mode); err != nil {
			return err
		}
		fails = append(fails, refuseLoose(ctx, env, dir, "an empty directory of mode "+mode.String()))
	}
	return errs(fails...)
}

func storeLooseEntry(ctx context.Context, env *Env) error {
	dir, err := storeDir(env)
	if err != nil {
		return err
	}
	if err := populate(ctx, env, dir); err != nil {
		return err
	}
	t, err := tree(dir)
	if err != nil {
		return err
	}
	paths := make([]string, 0, len(t))
	for rel := range t {
		if rel != "." {
			paths = append(paths, rel)
		}
	}
	sort.Strings(paths)
	var fails []error
	for _, rel := range paths {
		st := t[rel]
		modes := []fs.FileMode{0o640, 0o604}
		if st.Mode.IsDir() {
			modes = []fs.FileMode{0o750, 0o705}
		}
		for _, mode := range modes {
			path := filepath.Join(dir, rel)
			if err := os.Chmod(path, mode); err != nil {
				return err
			}
			fails = append(fails, refuseLoose(ctx, env, dir, fmt.Sprintf("%s of mode %v", rel, mode)))
			if err := os.Chmod(path, st.Mode.Perm()); err != nil {
				return err
			}
		}
	}
	if err := errs(fails...); err != nil {
		return err
	}
	s, err := env.OpenStore(ctx, dir)
	if err != nil {
		return fmt.Errorf("Open once the modes are restored: %w", err)
	}
	return checkLog(ctx, s, 1, 3, small)
}
