package main

import (
	"errors"
	"io/fs"
	"os"

	"github.com/rustynet/rustynet/core/config"
	"github.com/rustynet/rustynet/core/paths"
)

// defaultSocket finds the local daemon's control socket when no flag
// names it (see localDaemon).
func defaultSocket() (string, error) {
	socket, _, err := localDaemon()
	return socket, err
}

// localDaemon finds the local daemon's control socket when no flag names
// it, as the daemon itself would choose it: the socket of the default
// configuration file of this process's layout, else of the system's (a
// user in the control group talking to the machine's node), else the
// first default socket that exists. With nothing there, it returns this
// layout's default, which the error then names. cfg is the configuration
// the socket was found through; nil for a default socket.
func localDaemon() (socket string, cfg *config.Config, err error) {
	cur, _ := paths.Current()
	sys, _ := paths.Default(paths.System, os.Getenv)
	var sockets []string
	configs := map[string]*config.Config{}
	for _, l := range []paths.Layout{cur, sys} {
		if l.ConfigFile == "" {
			continue
		}
		cfg, err := config.Load(l.ConfigFile)
		switch {
		case err == nil:
			sockets = append(sockets, cfg.Control.Socket)
			if _, ok := configs[cfg.Control.Socket]; !ok {
				configs[cfg.Control.Socket] = cfg
			}
		case errors.Is(err, fs.ErrNotExist), errors.Is(err, fs.ErrPermission) && l.Scope != cur.Scope:
			// not there, or the system's and not readable: try the next
		default:
			return "", nil, usageErrorf("%v", err)
		}
	}
	sockets = append(sockets, config.Default().Control.Socket, sys.ControlSocket)
	socket = pickSocket(sockets, func(p string) bool { _, err := os.Stat(p); return err == nil })
	return socket, configs[socket], nil
}

// pickSocket returns the first non-empty candidate that exists, else the
// first non-empty one.
func pickSocket(candidates []string, exists func(string) bool) string {
	first := ""
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if first == "" {
			first = c
		}
		if exists(c) {
			return c
		}
	}
	return first
}
