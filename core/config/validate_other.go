//go:build !unix

package config

import (
	"errors"
	"io/fs"
	"os"

	"github.com/rustynet/rustynet/internal/fileperm"
)

// checkKeyMode refuses a private key file that others may access: on
// Windows, an access control list open to anyone but its owner, SYSTEM and
// Administrators (fileperm.CheckPrivate).
func (c *Config) checkKeyMode() error {
	fi, err := os.Lstat(c.Node.PrivateKeyFile)
	if err != nil {
		return c.errorf("node.private_key_file", "%s: %v", c.Node.PrivateKeyFile, describe(err))
	}
	return c.keyModeError(fi)
}

// keyModeError refuses the private key file fi describes if others may
// access it.
func (c *Config) keyModeError(fi fs.FileInfo) error {
	if err := fileperm.CheckPrivate(c.Node.PrivateKeyFile, fi); err != nil {
		return c.errorf("node.private_key_file", "%v", err)
	}
	return nil
}

// lookupGroup fails: control groups are a Unix feature, and Parse refuses
// them elsewhere.
func lookupGroup(name string) (string, error) {
	return "", errors.New("control groups are not supported on this platform")
}
