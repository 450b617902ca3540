package config

import (
	"github.com/rustynet/rustynet/core/ledger"
	"github.com/rustynet/rustynet/core/paths"
)

// currentLayout is the default layout of this process (paths.Current); a
// user layout without a home directory leaves the paths it cannot decide
// empty, and Parse then reports them as required.
func currentLayout() paths.Layout {
	l, _ := paths.Current()
	return l
}

// fillDerived sets the defaults that depend on other settings: the
// high-water mark and the control socket follow the state directory
// unless the layout l fixes them.
func (c *Config) fillDerived(l paths.Layout) error {
	if c.Control.Socket == "" {
		c.Control.Socket = l.ControlSocket
	}
	if c.Control.Socket == "" {
		c.Control.Socket = defaultSocket(c.Node.StateDir)
	}
	if c.Node.HighWaterFile == "" && c.Node.StateDir != "" {
		if l.HighWaterDir == "" {
			return paths.ErrNoHome
		}
		p, err := ledger.HighWaterPathIn(l.HighWaterDir, c.Node.StateDir)
		if err != nil {
			return err
		}
		c.Node.HighWaterFile = p
	}
	return nil
}
