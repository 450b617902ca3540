package paths

import (
	"path"
	"strings"
)

// The layouts of every platform are data here, compiled everywhere so
// that one test checks them all; the platform files (paths_*.go) choose
// which applies.

// Service-wide names.
const (
	appName    = "rustynet"
	configName = "rustynet.toml"
	pipeName   = `\\.\pipe\rustynet`
)

// linuxSystem is the system layout on Linux and other Unix systems: the
// FHS locations systemd's StateDirectory=, RuntimeDirectory= and
// ConfigurationDirectory= create.
func linuxSystem() Layout {
	return Layout{
		Scope:         System,
		ConfigFile:    "/etc/rustynet/" + configName,
		StateDir:      "/var/lib/rustynet/state",
		HighWaterDir:  "/var/lib/rustynet/highwater",
		ControlSocket: "/run/rustynet/control.sock",
	}
}

// darwinSystem is the system layout on macOS: Apple's place for daemons'
// data, and /var/run for sockets (emptied at boot, as /run is).
func darwinSystem() Layout {
	const base = "/Library/Application Support/rustynet"
	return Layout{
		Scope:         System,
		ConfigFile:    base + "/" + configName,
		StateDir:      base + "/state",
		HighWaterDir:  base + "/highwater",
		ControlSocket: "/var/run/rustynet/control.sock",
	}
}

// windowsSystem is the system layout on Windows, under %ProgramData%
// (C:\ProgramData when it is not set).
func windowsSystem(getenv func(string) string) Layout {
	pd := getenv("ProgramData")
	if !isAbsWindows(pd) {
		pd = `C:\ProgramData`
	}
	base := strings.TrimRight(pd, `\`) + `\` + appName
	return Layout{
		Scope:         System,
		ConfigFile:    base + `\` + configName,
		StateDir:      base + `\state`,
		HighWaterDir:  base + `\highwater`,
		ControlSocket: pipeName,
	}
}

// userLayout is the user layout: XDG directories, else under the home
// directory that the variable home names. With pipe, the control socket is
// the named pipe (Windows).
func userLayout(getenv func(string) string, home string, pipe bool) (Layout, error) {
	l := Layout{Scope: User}
	h := getenv(home)
	if !isAbs(h) {
		h = ""
	}
	base := func(xdg string, under ...string) string {
		if d := getenv(xdg); isAbs(d) {
			return d
		}
		if h == "" {
			return ""
		}
		return join(append([]string{h}, under...)...)
	}
	var err error
	if cfg := base("XDG_CONFIG_HOME", ".config"); cfg != "" {
		l.ConfigFile = join(cfg, appName, configName)
	} else {
		err = ErrNoHome
	}
	if st := base("XDG_STATE_HOME", ".local", "state"); st != "" {
		l.StateDir = join(st, appName, "state")
		l.HighWaterDir = join(st, appName, "highwater")
	} else {
		err = ErrNoHome
	}
	switch rt := getenv("XDG_RUNTIME_DIR"); {
	case pipe:
		l.ControlSocket = pipeName
	case isAbs(rt):
		l.ControlSocket = join(rt, appName, "control.sock")
	}
	return l, err
}

// isAbs reports whether p is absolute on any platform this layout serves:
// a Unix path, or a Windows drive or UNC path.
func isAbs(p string) bool { return path.IsAbs(p) || isAbsWindows(p) }

// isAbsWindows reports whether p is an absolute Windows path: C:\… or \\host\….
func isAbsWindows(p string) bool {
	if strings.HasPrefix(p, `\\`) {
		return true
	}
	return len(p) >= 3 && p[1] == ':' && (p[2] == '\\' || p[2] == '/') &&
		('a' <= p[0]|0x20 && p[0]|0x20 <= 'z')
}

// join joins path elements with the separator the first one uses: a
// backslash for a Windows path, else a slash.
func join(elem ...string) string {
	if len(elem) > 0 && isAbsWindows(elem[0]) {
		out := strings.TrimRight(elem[0], `\/`)
		for _, e := range elem[1:] {
			out += `\` + e
		}
		return out
	}
	return path.Join(elem...)
}
