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

// SyncDir flushes the entries of the directory at path to stable storage.
func SyncDir(path string) error {
	d, err := NewDirSyncer(path)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return PathError("sync directory", path, err)
	}
	return nil
}

// Rename atomically replaces newpath with oldpath. The caller makes it
// durable with a DirSyncer on the parent directory.
func Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }
