// Package statedir prepares a store plugin's state directory: it creates the
// directory with mode 0700, refuses one that other users can reach, and holds
// an exclusive inter-process lock on it for as long as the store is open.
//
// Both built-in stores (plugins/store-file and plugins/store-sqlite) open
// their directory through this package, so the permission and lock rules of
// hostapi.Store are implemented once.
package statedir

import (
	"errors"
	"github.com/rustynet/rustynet/internal/atomicfile"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/rustynet/rustynet/hostapi"
)

// LockFileName is the name of the lock file Open creates inside the
// directory. It is part of the on-disk layout of every store built on this
// package.
const LockFileName = "LOCK"

// Capabilities are the hostapi store capabilities that Open provides on this
// platform: StoreCapLock where the platform has an inter-process file lock,
// StoreCapPermissions where it has Unix permission bits.
const Capabilities = lockCapability | permCapability

// Dir is a state directory opened for exclusive use. Its lock lasts until
// Close or process exit.
type Dir struct {
	path string
	lock *lock
}

// Open prepares dir for exclusive use by one store and returns it locked.
//
// If dir does not exist it is created with mode 0700 (and so are missing
// parents). If it exists, it and every entry below it must be a directory or
// a regular file that neither group nor others can access; otherwise Open
// fails with hostapi.ErrPermission before it changes anything. It then
// creates (mode 0600) and locks dir/LOCK; a lock held by another process, or
// by another Dir in this process, fails with hostapi.ErrLocked.
//
// dir must be absolute (hostapi.ErrInvalidArgument otherwise).
func Open(dir string) (*Dir, error) {
	if dir == "" || !filepath.IsAbs(dir) {
		return nil, hostapi.Errorf(hostapi.CodeInvalidArgument, "state directory %q is not an absolute path", dir)
	}
	dir = filepath.Clean(dir)
	if err := prepare(dir); err != nil {
		return nil, err
	}
	l, err := lockFile(filepath.Join(dir, LockFileName))
	if err != nil {
		return nil, err
	}
	return &Dir{path: dir, lock: l}, nil
}

// Path returns the directory's cleaned absolute path.
func (d *Dir) Path() string { return d.path }

// Close releases the lock. It is idempotent, and a nil *Dir (what a failed
// Open returns) may be closed too.
func (d *Dir) Close() error {
	if d == nil || d.lock == nil {
		return nil
	}
	err := d.lock.release()
	d.lock = nil
	if err != nil {
		return hostapi.Errorf(hostapi.CodeInternal, "release lock on %s: %v", d.path, err)
	}
	return nil
}

// prepare checks an existing directory tree or creates the directory.
func prepare(dir string) error {
	info, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return create(dir)
	case err != nil:
		return PathError("stat", dir, err)
	case !info.IsDir():
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "state directory %s is not a directory", dir)
	}
	if err := checkMode(dir, info); err != nil {
		return err
	}
	return CheckTree(dir)
}

// create makes dir (and missing parents) with mode 0700 and makes the new
// entry durable in its parent.
func create(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return PathError("create", dir, err)
	}
	// MkdirAll leaves an existing parent alone and umask can only remove
	// bits, so dir is now 0700 at most; insist on the owner bits we need.
	if err := os.Chmod(dir, 0o700); err != nil {
		return PathError("chmod", dir, err)
	}
	return atomicfile.SyncDir(filepath.Dir(dir))
}

// CheckTree walks every entry below root (not root itself) and fails with
// hostapi.ErrPermission on the first one that is not a directory or regular
// file, or that group or others can access. Entries that vanish during the
// walk are skipped.
func CheckTree(root string) error {
	return filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return PathError("read", path, err)
		}
		if path == root {
			return nil
		}
		info, err := d.Info()
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return PathError("stat", path, err)
		}
		if !info.IsDir() && !info.Mode().IsRegular() {
			return hostapi.Errorf(hostapi.CodePermission, "%s is a %v, want a regular file or directory", path, info.Mode().Type())
		}
		return checkMode(path, info)
	})
}

// PathError converts a failed file operation on path into a hostapi error
// with the closest stable code.
func PathError(op, path string, err error) error {
	code := hostapi.CodeInternal
	switch {
	case errors.Is(err, fs.ErrPermission):
		code = hostapi.CodePermission
	case errors.Is(err, fs.ErrNotExist):
		code = hostapi.CodeNotFound
	}
	return hostapi.Errorf(code, "%s %s: %v", op, path, err)
}
