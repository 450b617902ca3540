package statedir

import (
	"errors"
	"os"
	"path/filepath"

	"golang.org/x/sys/windows"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/atomicfile"
)

const lockCapability = hostapi.StoreCapLock

// lock is a LockFileEx byte-range lock on an open file. It conflicts with any
// other handle, in this process or another, and Windows drops it when the
// holder dies.
type lock struct{ f *os.File }

// lockShared takes a shared lock on root's lock file, if there is one (nil
// if not).
func lockShared(root *atomicfile.Dir) (*lock, error) {
	f, err := root.OpenFile(LockFileName, os.O_RDONLY, 0)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, PathError("open lock file", lockPath(root), err)
	}
	if err := lockFileEx(f, 0); err != nil {
		f.Close()
		return nil, lockError(root, err)
	}
	return &lock{f: f}, nil
}

// lockExclusive takes the exclusive lock on root's lock file, creating it if
// it is missing. held, if not nil, is the caller's shared lock, which is
// given up first.
func lockExclusive(root *atomicfile.Dir, held *lock) (*lock, error) {
	if held != nil {
		held.release()
	}
	f, err := root.OpenFile(LockFileName, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, PathError("open lock file", lockPath(root), err)
	}
	if err := lockFileEx(f, windows.LOCKFILE_EXCLUSIVE_LOCK); err != nil {
		f.Close()
		return nil, lockError(root, err)
	}
	return &lock{f: f}, nil
}

func lockFileEx(f *os.File, flags uint32) error {
	var ol windows.Overlapped
	return windows.LockFileEx(windows.Handle(f.Fd()), flags|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
}

func lockError(root *atomicfile.Dir, err error) error {
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
		return hostapi.Errorf(hostapi.CodeLocked, "%s is locked by another store", lockPath(root))
	}
	return PathError("lock", lockPath(root), err)
}

func lockPath(root *atomicfile.Dir) string { return filepath.Join(root.Path(), LockFileName) }

// release closes the handle, which drops the lock.
func (l *lock) release() error { return l.f.Close() }
