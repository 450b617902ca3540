//go:build !windows && (!unix || aix || zos)

package statedir

import (
	"os"

	"github.com/rustynet/rustynet/hostapi"
)

// This platform has no advisory lock that x/sys exposes, so Open takes none
// and the capability is not advertised.
const lockCapability hostapi.StoreCapabilities = 0

type lock struct{ f *os.File }

func lockFile(path string) (*lock, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, PathError("open lock file", path, err)
	}
	return &lock{f: f}, nil
}

func (l *lock) release() error { return l.f.Close() }
