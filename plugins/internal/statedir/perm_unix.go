//go:build unix

package statedir

import (
	"io/fs"

	"github.com/rustynet/rustynet/hostapi"
)

const permCapability = hostapi.StoreCapPermissions

// checkMode refuses an entry that group or others can read, write or search.
func checkMode(path string, info fs.FileInfo) error {
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return hostapi.Errorf(hostapi.CodePermission, "%s has mode %#o, want no group or other access (0700 for directories, 0600 for files)", path, perm)
	}
	return nil
}
