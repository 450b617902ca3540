package paths

import (
	"errors"
	"os"
)

// Scope says whose node a process runs: the machine's or a user's.
type Scope int

// Scopes.
const (
	User   Scope = iota // a rootless node under the user's XDG directories
	System              // the machine's node, in system locations
)

func (s Scope) String() string {
	if s == System {
		return "system"
	}
	return "user"
}

// Layout is where a node keeps its files by default. Every path is
// absolute; a field is empty only when it cannot be known (ControlSocket,
// see its comment; the user layout's paths without a home directory).
type Layout struct {
	Scope Scope
	// ConfigFile is the configuration `rustynet daemon` reads without
	// --config, and where `rustynet service install` expects it.
	ConfigFile string
	// StateDir is the store's directory (config node.state_dir).
	StateDir string
	// HighWaterDir holds the high-water marks of state directories
	// (ledger.DefaultHighWaterPath), outside every state directory.
	HighWaterDir string
	// ControlSocket is the control API's Unix socket, or named pipe on
	// Windows. Empty in the user layout without XDG_RUNTIME_DIR: the
	// socket is then <state_dir>.sock, beside whatever state directory
	// the configuration names (never inside it).
	ControlSocket string
}

// ErrNoHome is returned by Default for the user layout when neither the
// XDG variables nor the home directory give an absolute base.
var ErrNoHome = errors.New("neither XDG_STATE_HOME nor an absolute home directory is set")

// Default returns the layout of scope on this platform, reading the
// environment through getenv (os.Getenv in production). It is the one
// place that decides a default path. The user layout fails with ErrNoHome
// (and holds whatever it could still decide) when it has no base
// directory; the system layout never fails.
func Default(scope Scope, getenv func(string) string) (Layout, error) {
	if scope == System {
		return systemLayout(getenv), nil
	}
	return userLayout(getenv, homeVar, pipeOnly)
}

// Current returns the layout for this process: Default(CurrentScope(),
// os.Getenv).
func Current() (Layout, error) {
	return Default(CurrentScope(), os.Getenv)
}

// CurrentScope returns the scope this process runs in: System as root (an
// elevated token on Windows), unless XDG_STATE_HOME is set to an absolute
// path, which selects User (see the package documentation).
func CurrentScope() Scope {
	return scopeFor(privileged(), os.Getenv)
}

// scopeFor is CurrentScope's rule on its inputs.
func scopeFor(privileged bool, getenv func(string) string) Scope {
	if privileged && !isAbs(getenv("XDG_STATE_HOME")) {
		return System
	}
	return User
}
