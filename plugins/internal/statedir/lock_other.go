//go:build !windows && (!unix || aix || zos)

package statedir

import (
	"os"
	"path/filepath"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/atomicfile"
)

// This platform has no advisory lock that x/sys exposes, so Open takes none
// and the capability is not advertised.
const lockCapability hostapi.StoreCapabilities = 0

type lock struct{ f *os.File }

// lockShared takes no lock: there is none to take.
func lockShared(root *atomicfile.Dir) (*lock, error) { return nil, nil }

// lockExclusive creates the lock file, part of the layout, and locks
// nothing.
func lockExclusive(root *atomicfile.Dir, held *lock) (*lock, error) {
	if held != nil {
		return held, nil
	}
	f, err := root.OpenFile(LockFileName, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, PathError("open lock file", filepath.Join(root.Path(), LockFileName), err)
	}
	return &lock{f: f}, nil
}

func (l *lock) release() error { return l.f.Close() }
