//go:build !unix

package config

import (
	"errors"
	"io/fs"
	"os"

	"github.com/rustynet/rustynet/internal/fileperm"
)

// checkPrivateMode refuses a secret file (the private key, the proxy
// password) at path, named by key, that others may access: on Windows, an
// access control list open to anyone but its owner, SYSTEM and
// Administrators (fileperm.CheckPrivate).
func (c *Config) checkPrivateMode(key, path string) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return c.errorf(key, "%s: %v", path, describe(err))
	}
	return c.privateModeError(key, path)(fi)
}

// privateModeError returns a check that refuses the secret file at path,
// named by key, if others may access it.
func (c *Config) privateModeError(key, path string) func(fs.FileInfo) error {
	return func(fi fs.FileInfo) error {
		if err := fileperm.CheckPrivate(path, fi); err != nil {
			return c.errorf(key, "%v", err)
		}
		return nil
	}
}

// lookupGroup fails: control groups are a Unix feature, and Parse refuses
// them elsewhere.
func lookupGroup(name string) (string, error) {
	return "", errors.New("control groups are not supported on this platform")
}
