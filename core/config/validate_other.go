//go:build !unix

package config

import (
	"errors"
	"io/fs"
)

// checkKeyMode accepts every file: on this platform access control lives in
// ACLs, which permission bits do not reflect.
func (c *Config) checkKeyMode() error { return nil }

// keyModeError accepts every file, as checkKeyMode.
func (c *Config) keyModeError(fs.FileInfo) error { return nil }

// lookupGroup fails: control groups are a Unix feature, and Parse refuses
// them elsewhere.
func lookupGroup(name string) (string, error) {
	return "", errors.New("control groups are not supported on this platform")
}
