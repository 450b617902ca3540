//go:build unix

package statedir

import "os"

// DirSyncer makes changes to a directory's entries (creations, renames,
// removals) durable.
type DirSyncer struct{ f *os.File }

// NewDirSyncer opens the directory at path for syncing.
func NewDirSyncer(path string) (*DirSyncer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, PathError("open directory", path, err)
	}
	return &DirSyncer{f: f}, nil
}

// Sync flushes the directory's entries to stable storage.
func (d *DirSyncer) Sync() error { return d.f.Sync() }

// Close releases the directory handle.
func (d *DirSyncer) Close() error { return d.f.Close() }
