//go:build !unix && !windows

package statedir

import "os"

// Rename atomically replaces newpath with oldpath.
func Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }
