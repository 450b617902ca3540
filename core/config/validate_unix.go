//go:build unix

package config

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
)

// checkPrivateMode refuses a secret file (the private key, the proxy
// password) at path, named by key, that group or others may read, write
// or search, as ssh does.
func (c *Config) checkPrivateMode(key, path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return c.errorf(key, "%s: %v", path, describe(err))
	}
	return c.privateModeError(key, path)(fi)
}

// privateModeError returns a check that refuses the secret file at path,
// named by key, if group or others may access it.
func (c *Config) privateModeError(key, path string) func(fs.FileInfo) error {
	return func(fi fs.FileInfo) error {
		if perm := fi.Mode().Perm(); perm&0o077 != 0 {
			return c.errorf(key, "%s has mode %#o, so others may access it; it must be 0600 (run: chmod 600 %s)", path, perm, path)
		}
		return nil
	}
}

// lookupGroup resolves a group name to its gid; a numeric gid is taken as
// it is, as the control API's authorizer takes it.
func lookupGroup(name string) (string, error) {
	if _, err := strconv.ParseUint(name, 10, 32); err == nil {
		return name, nil
	}
	g, err := user.LookupGroup(name)
	if err != nil {
		return "", fmt.Errorf("group %q: %v", name, err)
	}
	return g.Gid, nil
}
