//go:build !unix

package storefiles

import (
	"os"
	"path/filepath"

	"github.com/rustynet/rustynet/hostapi"
)

// Elsewhere the example takes no lock and cannot vouch for modes, and says
// so in Info.
const capabilities = hostapi.StoreCapTruncate

func lockDir(dir string) (*os.File, error) {
	f, err := os.OpenFile(filepath.Join(dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, hostapi.Errorf(hostapi.CodeInternal, "lock file: %v", err)
	}
	return f, nil
}

// syncDir: directories cannot be synced here; renames are durable once the
// file system has them.
func syncDir(string) error { return nil }
