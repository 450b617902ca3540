//go:build !unix && !windows

package atomicfile

import "os"

// SyncDir does nothing: this platform offers no way to sync a directory.
func SyncDir(string) error { return nil }

// Rename replaces newpath with oldpath.
func Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }
