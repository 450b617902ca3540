//go:build !unix

package statedir

import "os"

// DirSyncer makes changes to a directory's entries durable. On this platform
// a directory cannot be opened for syncing; durability of renames comes from
// atomicfile.Rename (write-through where the platform has it), so Sync
// does nothing.
type DirSyncer struct{}

// NewDirSyncer returns a syncer for the directory at path after checking
// that it exists.
func NewDirSyncer(path string) (*DirSyncer, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, PathError("stat directory", path, err)
	}
	return &DirSyncer{}, nil
}

// Sync does nothing on this platform; see DirSyncer.
func (d *DirSyncer) Sync() error { return nil }

// Close does nothing on this platform.
func (d *DirSyncer) Close() error { return nil }
