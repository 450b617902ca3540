//go:build unix && !aix && !zos

package statedir

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"

	"github.com/rustynet/rustynet/hostapi"
)

const lockCapability = hostapi.StoreCapLock

// lock is an flock(2) on an open file. flock locks belong to the open file
// description, so a second lock attempt conflicts even from the same
// process, and the kernel drops the lock when the holder dies.
type lock struct{ f *os.File }

func lockFile(path string) (*lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, PathError("open lock file", path, err)
	}
	for {
		err = unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if !errors.Is(err, unix.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, hostapi.Errorf(hostapi.CodeLocked, "%s is locked by another store", path)
		}
		return nil, PathError("lock", path, err)
	}
	return &lock{f: f}, nil
}

// release closes the file, which drops the lock.
func (l *lock) release() error { return l.f.Close() }
