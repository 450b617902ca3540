// Package atomicfile writes files atomically and durably: a reader (or a
// process restarted after a crash or power loss) sees either the old content
// or the new one, never a mixture, and once a write returns the new content
// survives a crash.
package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile replaces path with data: it writes a temporary file in the same
// directory with mode perm, fsyncs it, renames it over path and makes the
// rename durable (an fsync of the directory; write-through on Windows). On
// error path is unchanged and the temporary file is removed.
func WriteFile(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, false)
}

// Create is WriteFile for a file that must not exist yet: it never replaces
// anything, and fails with an error satisfying errors.Is(err, fs.ErrExist)
// if path exists, even if it appears concurrently (the temporary file is
// hard-linked into place, which the OS refuses over an existing name).
func Create(path string, data []byte, perm fs.FileMode) error {
	return write(path, data, perm, true)
}

func write(path string, data []byte, perm fs.FileMode, createOnly bool) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	tmp := f.Name()
	if err := writeSyncClose(f, data, perm); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("atomicfile: writing %s: %w", path, err)
	}
	if createOnly {
		err = os.Link(tmp, path)
		os.Remove(tmp) // the link, if made, now holds the data
	} else if err = Rename(tmp, path); err != nil {
		os.Remove(tmp)
	}
	if err != nil {
		return fmt.Errorf("atomicfile: %w", err)
	}
	return SyncDir(dir)
}

// writeSyncClose sets f's permissions, writes data, syncs and closes f; f is
// closed whatever happens.
func writeSyncClose(f *os.File, data []byte, perm fs.FileMode) error {
	err := f.Chmod(perm)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
