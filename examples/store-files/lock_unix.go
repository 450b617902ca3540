//go:build unix

package storefiles

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"

	"github.com/rustynet/rustynet/hostapi"
)

const capabilities = hostapi.StoreCapLock | hostapi.StoreCapPermissions | hostapi.StoreCapTruncate

// lockDir takes an exclusive flock on dir/LOCK, which dies with the process.
func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, hostapi.Errorf(hostapi.CodeInternal, "lock file: %v", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, hostapi.Errorf(hostapi.CodeLocked, "%s is open in another process", dir)
		}
		return nil, hostapi.Errorf(hostapi.CodeInternal, "lock %s: %v", dir, err)
	}
	return f, nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}
