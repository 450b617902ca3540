//go:build !unix && !windows

package fileperm

import "io/fs"

// Enforced reports whether this platform enforces ownership and
// permission bits: not here, where access is kept in ACLs.
const Enforced = false

// CheckPrivate reports whether info, from an Lstat of path, is a regular
// file or a directory; ownership and access are not checked on this
// platform (see the package documentation).
func CheckPrivate(path string, info fs.FileInfo) error { return checkType(path, info) }

// CheckParent reports whether info is a directory; ownership and access are
// not checked on this platform.
func CheckParent(path string, info fs.FileInfo) error {
	if !info.IsDir() {
		return errorf(path, "is not a directory")
	}
	return nil
}

// MakePrivate does nothing on this platform.
func MakePrivate(string) error { return nil }
