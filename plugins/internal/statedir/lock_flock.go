//go:build unix && !aix && !zos

package statedir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/atomicfile"
)

const lockCapability = hostapi.StoreCapLock

// lock is an flock(2) on an open file. flock locks belong to the open file
// description, so a second lock attempt conflicts even from the same
// process, and the kernel drops the lock when the holder dies.
type lock struct{ f *os.File }

// lockShared takes a shared lock on root's lock file, if there is one (nil
// if not): it conflicts with a store holding the directory, not with other
// readers. The file is opened read-only, so a read-only copy can be locked.
func lockShared(root *atomicfile.Dir) (*lock, error) {
	f, err := root.OpenFile(LockFileName, os.O_RDONLY, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, PathError("open lock file", lockPath(root), err)
	}
	if err := flock(f, unix.LOCK_SH); err != nil {
		f.Close()
		return nil, lockError(root, err)
	}
	return &lock{f: f}, nil
}

// lockExclusive takes the exclusive lock on root's lock file, creating the
// file (0600, never through a link) if it is missing. held, if not nil, is
// the caller's shared lock on it, which is converted; the conversion is not
// atomic, so on error held may have been given up.
func lockExclusive(root *atomicfile.Dir, held *lock) (*lock, error) {
	if held != nil {
		if err := flock(held.f, unix.LOCK_EX); err != nil {
			return nil, lockError(root, err)
		}
		return held, nil
	}
	f, err := root.OpenFile(LockFileName, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, PathError("open lock file", lockPath(root), err)
	}
	if err := flock(f, unix.LOCK_EX); err != nil {
		f.Close()
		return nil, lockError(root, err)
	}
	return &lock{f: f}, nil
}

// flock locks f without waiting, retrying on EINTR.
func flock(f *os.File, how int) error {
	for {
		err := unix.Flock(int(f.Fd()), how|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			return err
		}
	}
}

func lockError(root *atomicfile.Dir, err error) error {
	if errors.Is(err, unix.EWOULDBLOCK) {
		return hostapi.Errorf(hostapi.CodeLocked, "%s is locked by another store", lockPath(root))
	}
	return PathError("lock", lockPath(root), err)
}

func lockPath(root *atomicfile.Dir) string { return filepath.Join(root.Path(), LockFileName) }

// release closes the file, which drops the lock.
func (l *lock) release() error { return l.f.Close() }
