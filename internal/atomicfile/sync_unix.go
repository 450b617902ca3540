//go:build unix

package atomicfile

import (
	"fmt"
	"os"
)

// SyncDir makes changes to the entries of directory dir (a rename, a new
// link, a new file) durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("atomicfile: syncing directory %s: %w", dir, err)
	}
	return nil
}

// Rename atomically replaces newpath with oldpath; SyncDir on the parent
// directory makes it durable.
func Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }
