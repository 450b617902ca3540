//go:build unix

package fileperm

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
	"syscall"
)

// Enforced reports whether this platform enforces the rule.
const Enforced = true

// CheckPrivate reports whether info, from an Lstat (or Fstat) of path, is
// a private entry: a regular file or directory, owned by the process's
// effective user or by root, that group and others cannot read, write or
// search (0600 for files, 0700 for directories). The error is an *Error.
func CheckPrivate(path string, info fs.FileInfo) error {
	if err := checkType(path, info); err != nil {
		return err
	}
	if err := checkOwner(path, info); err != nil {
		return err
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return errorf(path, "has mode %#o, want no group or other access (0700 for directories, 0600 for files; run: chmod go-rwx %s)", perm, path)
	}
	return nil
}

// CheckParent reports whether info, from a Stat (or Fstat) of the
// directory path, is fit to hold a private file: a directory owned by the
// process's effective user or by root that group and others cannot write
// (they may read it: a system directory such as /var/lib/rustynet is
// 0755). The error is an *Error.
func CheckParent(path string, info fs.FileInfo) error {
	if !info.IsDir() {
		return errorf(path, "is not a directory")
	}
	if err := checkOwner(path, info); err != nil {
		return err
	}
	if perm := info.Mode().Perm(); perm&0o022 != 0 {
		return errorf(path, "has mode %#o, so group or others may replace what it holds; want it writable by its owner only (run: chmod go-w %s)", perm, path)
	}
	return nil
}

// checkOwner refuses an entry owned by anyone but the effective user or
// root.
func checkOwner(path string, info fs.FileInfo) error {
	st, ok := info.Sys().(*syscall.Stat_t)
	if !ok {
		return errorf(path, "has no owner to check")
	}
	euid := os.Geteuid()
	if int(st.Uid) == euid || st.Uid == 0 {
		return nil
	}
	return errorf(path, "is owned by %s, not by %s (the user this process runs as) or root; refusing to trust it (run: chown %d %s)",
		describeUID(int(st.Uid)), describeUID(euid), euid, path)
}

// describeUID names a uid: "uid 1000 (alice)", or "uid 1000" when the
// user database does not know it.
func describeUID(uid int) string {
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil {
		return fmt.Sprintf("uid %d (%s)", uid, u.Username)
	}
	return fmt.Sprintf("uid %d", uid)
}

// MakePrivate does nothing on Unix, where the mode a private file or
// directory is created with (0600, 0700) is what CheckPrivate checks. It
// exists for Windows, where it sets the owner-only access control list.
func MakePrivate(string) error { return nil }
