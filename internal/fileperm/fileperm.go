// Package fileperm is the one rule for the files and directories that keep
// a node's trusted state (a store's state directory and everything in it,
// the high-water mark, the node's key): they must be what they claim to be
// (a regular file or a directory, never a symbolic link or a device), owned
// by the user the process runs as or by root, and closed to group and
// others. A file that another user owns or may write could be swapped
// under the daemon, and a daemon running as root would then write, or
// trust, whatever that user chose.
//
// On Unix the rule reads ownership and permission bits. On Windows it reads
// the security descriptor: owned by the process's user, SYSTEM or
// Administrators, and an access control list that admits nobody else
// (CheckACL, testable on every platform); MakePrivate gives a new entry
// such a list. Elsewhere only the entry's type is checked.
package fileperm

import (
	"fmt"
	"io/fs"
)

// Error is a file or directory that breaks the rule. It matches
// fs.ErrPermission with errors.Is, so callers that map errors to codes
// report it as a permission problem.
type Error struct {
	Path    string
	Problem string // what is wrong, e.g. "is owned by uid 1000 (alice), ..."
}

func (e *Error) Error() string { return e.Path + " " + e.Problem }

// Unwrap returns fs.ErrPermission.
func (e *Error) Unwrap() error { return fs.ErrPermission }

// checkType refuses anything but a regular file or a directory: a
// symbolic link could point a write anywhere, whatever its own bits say.
func checkType(path string, info fs.FileInfo) error {
	if !info.IsDir() && !info.Mode().IsRegular() {
		return errorf(path, "is a %v, want a regular file or directory", info.Mode().Type())
	}
	return nil
}

func errorf(path, format string, args ...any) error {
	return &Error{Path: path, Problem: fmt.Sprintf(format, args...)}
}
