//go:build unix

package config

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"strconv"
)

// checkKeyMode refuses a private key file that group or others may read,
// write or search, as ssh does.
func (c *Config) checkKeyMode() error {
	fi, err := os.Stat(c.Node.PrivateKeyFile)
	if err != nil {
		return c.errorf("node.private_key_file", "%s: %v", c.Node.PrivateKeyFile, describe(err))
	}
	return c.keyModeError(fi)
}

// keyModeError refuses the private key file fi describes if group or
// others may access it.
func (c *Config) keyModeError(fi fs.FileInfo) error {
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return c.errorf("node.private_key_file", "%s has mode %#o, so others may access it; it must be 0600 (run: chmod 600 %s)", c.Node.PrivateKeyFile, perm, c.Node.PrivateKeyFile)
	}
	return nil
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
