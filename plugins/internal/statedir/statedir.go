// Package statedir prepares a store plugin's state directory: it creates the
// directory with mode 0700, refuses one that is not private to this
// process's user (see package fileperm: owned by it or root, closed to
// group and others, nothing but directories and regular files) or that
// another kind of store keeps (see package storelayout), and holds an
// inter-process lock on it for as long as the store is open.
//
// The directory is opened once: every later write goes through the open
// directory (an atomicfile.Dir), never through a symbolic link, so that
// whoever can change the directory's path or plant links in it cannot
// point the store's writes elsewhere.
//
// Both built-in stores (plugins/store-file and plugins/store-sqlite) open
// their directory through this package, so the permission, layout and lock
// rules of hostapi.Store are implemented once.
package statedir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/atomicfile"
	"github.com/rustynet/rustynet/internal/fileperm"
	"github.com/rustynet/rustynet/internal/storelayout"
)

// LockFileName is the name of the lock file Open creates inside the
// directory. It is part of the on-disk layout of every store built on this
// package.
const LockFileName = "LOCK"

// Capabilities are the hostapi store capabilities that Open provides on this
// platform: StoreCapLock where the platform has an inter-process file lock,
// StoreCapPermissions where it has Unix permission bits.
const Capabilities = lockCapability | permCapability

// Mode is how Open takes a directory.
type Mode int

const (
	// Exclusive creates the directory if it is missing and holds its
	// exclusive lock until Close: a store that writes (the daemon's).
	Exclusive Mode = iota
	// ReadFirst creates nothing and holds a shared lock, where the lock
	// file exists, until MakeWritable (see storelayout.ReadFirstEnv): a
	// store that may only read, on a stopped node's directory or a
	// read-only copy.
	ReadFirst
)

// ModeFromEnv returns ReadFirst if the plugin's host asked for it
// (storelayout.ReadFirstEnv), else Exclusive.
func ModeFromEnv() Mode {
	if storelayout.ReadFirst() {
		return ReadFirst
	}
	return Exclusive
}

// Dir is a state directory opened for one store. Its lock lasts until
// Close or process exit.
type Dir struct {
	path string // as given, cleaned
	kind string

	// mu guards the fields below (MakeWritable against Close and Root).
	mu       sync.Mutex
	root     *atomicfile.Dir // nil while a ReadFirst directory does not exist
	lock     *lock           // nil: no lock held
	writable bool
}

// Open prepares dir for one store of kind (a storelayout kind) and returns
// it locked as mode says.
//
// dir must be absolute (hostapi.ErrInvalidArgument otherwise). If it
// exists, it and every entry below it must pass fileperm.CheckPrivate,
// else Open fails with hostapi.ErrPermission naming the entry; and it must
// not be another kind of store's directory, else hostapi.ErrConflict; both
// before anything is created. A symbolic link naming dir itself is
// resolved once, when it is opened; links inside it are refused.
//
// Exclusive: a missing dir is created with mode 0700 (and so are missing
// parents); then dir/LOCK is created (0600) and locked, and a lock held by
// another process, or by another Dir in this process, fails with
// hostapi.ErrLocked. ReadFirst: a missing dir stays missing (the store
// reads as empty) and nothing is created; an existing lock file is locked
// shared, which fails with hostapi.ErrLocked while a store holds it.
func Open(dir, kind string, mode Mode) (*Dir, error) {
	if dir == "" || !filepath.IsAbs(dir) {
		return nil, hostapi.Errorf(hostapi.CodeInvalidArgument, "state directory %q is not an absolute path", dir)
	}
	d := &Dir{path: filepath.Clean(dir), kind: kind}
	switch info, err := os.Stat(d.path); {
	case errors.Is(err, fs.ErrNotExist) && mode == ReadFirst:
		return d, nil
	case errors.Is(err, fs.ErrNotExist):
		if err := create(d.path); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, PathError("stat", d.path, err)
	case !info.IsDir():
		return nil, hostapi.Errorf(hostapi.CodeInvalidArgument, "state directory %s is not a directory", d.path)
	}
	if err := d.openRoot(); err != nil {
		return nil, err
	}
	var err error
	if mode == ReadFirst {
		d.lock, err = lockShared(d.root)
	} else {
		d.lock, err = lockExclusive(d.root, nil)
		d.writable = err == nil
	}
	if err != nil {
		d.root.Close()
		return nil, err
	}
	return d, nil
}

// openRoot opens the existing directory and checks it, its entries and its
// layout.
func (d *Dir) openRoot() error {
	real, err := filepath.EvalSymlinks(d.path)
	if err != nil {
		return PathError("resolve", d.path, err)
	}
	root, err := atomicfile.OpenDir(real)
	if err != nil {
		return PathError("open", d.path, err)
	}
	if err := check(d.path, real, root, d.kind); err != nil {
		root.Close()
		return err
	}
	d.root = root
	return nil
}

// check checks the opened directory root (at path, resolved to real): the
// directory itself, every entry below it, and its layout.
func check(path, real string, root *atomicfile.Dir, kind string) error {
	info, err := root.Stat()
	if err != nil {
		return PathError("stat", path, err)
	}
	if err := fileperm.CheckPrivate(path, info); err != nil {
		return permissionError(err)
	}
	if err := CheckTree(real); err != nil {
		return err
	}
	if kind == "" {
		return nil
	}
	if err := storelayout.Mismatch(path, kind); err != nil {
		return hostapi.Errorf(hostapi.CodeConflict, "%v; open it with that store", err)
	}
	return nil
}

// Path returns the directory's cleaned absolute path, as given to Open.
func (d *Dir) Path() string { return d.path }

// Root returns the open directory, through which every write goes; nil
// while a ReadFirst directory does not exist. It stays valid until Close.
func (d *Dir) Root() *atomicfile.Dir {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.root
}

// Writable reports whether the directory is held for writing: opened
// Exclusive, or made writable since.
func (d *Dir) Writable() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.writable
}

// MakeWritable takes a ReadFirst directory for writing, as Open Exclusive
// would have: it creates the directory if it is missing, and the lock file,
// and takes the exclusive lock (hostapi.ErrLocked if another process holds
// the lock, or any lock once this one gave up its shared lock). The store
// must then check that what it read is still what the directory holds. A
// writable directory needs nothing.
func (d *Dir) MakeWritable() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.writable {
		return nil
	}
	if d.root == nil {
		if err := create(d.path); err != nil {
			return err
		}
		if err := d.openRoot(); err != nil {
			return err
		}
	}
	l, err := lockExclusive(d.root, d.lock)
	if err != nil {
		if d.lock != nil {
			d.lock.release() // lockExclusive may have dropped it already
			d.lock = nil
		}
		return err
	}
	d.lock, d.writable = l, true
	return nil
}

// Close releases the lock and the directory. It is idempotent, and a nil
// *Dir (what a failed Open returns) may be closed too.
func (d *Dir) Close() error {
	if d == nil {
		return nil
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	var err error
	if d.lock != nil {
		err = d.lock.release()
		d.lock = nil
	}
	if d.root != nil {
		d.root.Close()
		d.root = nil
	}
	d.writable = false
	if err != nil {
		return hostapi.Errorf(hostapi.CodeInternal, "release lock on %s: %v", d.path, err)
	}
	return nil
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
	// On Windows, the owner-only access control list that the store's
	// files inherit (0700 is what Unix checks).
	if err := fileperm.MakePrivate(dir); err != nil {
		return PathError("restrict", dir, err)
	}
	return atomicfile.SyncDir(filepath.Dir(dir))
}

// CheckTree walks every entry below root (not root itself) and fails with
// hostapi.ErrPermission on the first one that breaks fileperm.CheckPrivate:
// not a directory or regular file, owned by another user, or open to group
// or others. Entries that vanish during the walk are skipped.
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
		if err := fileperm.CheckPrivate(path, info); err != nil {
			return permissionError(err)
		}
		return nil
	})
}

// permissionError reports a fileperm.Error as hostapi.ErrPermission.
func permissionError(err error) error {
	return hostapi.Errorf(hostapi.CodePermission, "%v", err)
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
