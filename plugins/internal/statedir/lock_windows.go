package statedir

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"

	"github.com/rustynet/rustynet/hostapi"
)

const lockCapability = hostapi.StoreCapLock

// lock is a LockFileEx byte-range lock on an open file. It conflicts with any
// other handle, in this process or another, and Windows drops it when the
// holder dies.
type lock struct{ f *os.File }

func lockFile(path string) (*lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, PathError("open lock file", path, err)
	}
	var ol windows.Overlapped
	err = windows.LockFileEx(windows.Handle(f.Fd()),
		windows.LOCKFILE_EXCLUSIVE_LOCK|windows.LOCKFILE_FAIL_IMMEDIATELY, 0, 1, 0, &ol)
	if err != nil {
		f.Close()
		if errors.Is(err, windows.ERROR_LOCK_VIOLATION) {
			return nil, hostapi.Errorf(hostapi.CodeLocked, "%s is locked by another store", path)
		}
		return nil, PathError("lock", path, err)
	}
	return &lock{f: f}, nil
}

// release closes the handle, which drops the lock.
func (l *lock) release() error { return l.f.Close() }
