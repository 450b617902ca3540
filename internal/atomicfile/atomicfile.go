// Package atomicfile writes files atomically and durably: a reader (or a
// process restarted after a crash or power loss) sees either the old content
// or the new one, never a mixture, and once a write returns the new content
// survives a crash. No write ever goes through a symbolic link: temporary
// files are created exclusively without following one, renames replace the
// name they are given, and a Dir does everything relative to the directory
// it opened (see Dir), so that whoever can plant links in, or rename, a
// directory a privileged process writes to cannot point its writes
// elsewhere.
package atomicfile

import (
	"io/fs"
	"path/filepath"
)

// WriteFile replaces path with data: it writes a temporary file in the same
// directory with mode perm, fsyncs it, renames it over path and makes the
// rename durable (an fsync of the directory; write-through on Windows). On
// error path is unchanged and the temporary file is removed. The directory
// is resolved once (see Dir): a symbolic link at path is replaced, never
// written through.
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
	d, err := openDir(filepath.Dir(path), true)
	if err != nil {
		return err
	}
	defer d.Close()
	if createOnly {
		return d.Create(filepath.Base(path), data, perm)
	}
	return d.WriteFile(filepath.Base(path), data, perm)
}
