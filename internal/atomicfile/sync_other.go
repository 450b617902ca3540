//go:build !unix && !windows

package atomicfile

import "os"

// SyncDir does nothing: this platform offers no way to sync a directory.
func SyncDir(string) error { return nil }

// renameReplace replaces newpath with oldpath.
func renameReplace(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }
