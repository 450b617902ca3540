package config

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/rustynet/rustynet/core/ledger"
)

// defaultStateDir returns $XDG_STATE_HOME/rustynet/state, else
// ~/.local/state/rustynet/state. A relative XDG_STATE_HOME is ignored, as the
// XDG base directory specification requires.
func defaultStateDir() (string, error) {
	base := os.Getenv("XDG_STATE_HOME")
	if !filepath.IsAbs(base) {
		home, err := os.UserHomeDir()
		if err != nil {
			return "", err
		}
		if !filepath.IsAbs(home) {
			return "", errors.New("the home directory is not an absolute path")
		}
		base = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(base, "rustynet", "state"), nil
}

// fillDerived sets the defaults that depend on other settings: the
// high-water mark and the control socket follow the state directory.
func (c *Config) fillDerived() error {
	if c.Control.Socket == "" {
		c.Control.Socket = defaultSocket(c.Node.StateDir)
	}
	if c.Node.HighWaterFile == "" && c.Node.StateDir != "" {
		p, err := ledger.DefaultHighWaterPath(c.Node.StateDir)
		if err != nil {
			return err
		}
		c.Node.HighWaterFile = p
	}
	return nil
}
