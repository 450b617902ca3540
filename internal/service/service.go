// Package service installs the node agent as a system service and controls
// it: a systemd unit on Linux, a launchd daemon on macOS, a Service Control
// Manager service on Windows. `rustynet service install|uninstall|start|
// stop|status` drives it.
//
// Every service runs `rustynet daemon --config FILE` as the system (root,
// LocalSystem), so the daemon uses the system layout (core/paths); it
// restarts the node when it fails, not when it stops cleanly; and it stops
// the node with one signal to the daemon alone, which stops its plugins in
// order (systemd's KillMode=mixed: the plugins get SIGKILL only if they
// outlive the daemon).
//
// The files each manager writes are produced by pure functions (Unit,
// Plist, WindowsConfig), so that they are tested on every platform and
// shipped as they are under packaging/; the managers take the root of the
// file system and the command runner as values, so that installing and
// uninstalling are tested without touching the machine.
package service

import (
	"errors"
	"os/exec"
	"strings"
)

// Name is the service's name: the systemd unit rustynet.service, the
// Windows service "rustynet"; launchd's label is Label.
const Name = "rustynet"

// Spec describes the service to install.
type Spec struct {
	// Binary is the absolute path of the rustynet executable.
	Binary string
	// ConfigFile is the absolute path of the node's configuration.
	ConfigFile string
	// Capabilities are the Linux capabilities the daemon keeps (its
	// bounding set): none for the netstack backend.
	Capabilities []string
	// Devices are device nodes the daemon may open (/dev/net/tun for the
	// TUN backend); without any, it sees only pseudo-devices.
	Devices []string
	// Netlink allows AF_NETLINK sockets (the TUN and kernel backends
	// configure interfaces, addresses and routes over netlink).
	Netlink bool
	// ReadWritePaths are paths the daemon writes besides the system
	// layout's directories (a state directory configured elsewhere).
	ReadWritePaths []string
	// RuntimeDirectories are directories under /run the daemon needs
	// besides its own, which systemd creates (RuntimeDirectory=): the
	// WireGuard UAPI directory "wireguard" for the TUN backend.
	RuntimeDirectories []string
	// LogFile is where launchd and the Windows service write the daemon's
	// log (systemd sends it to the journal).
	LogFile string
}

// Manager installs and controls the service on one service manager.
type Manager interface {
	// Install writes the service definition for spec, registers it to
	// start at boot and returns what it did, for the operator. It does
	// not start the service.
	Install(spec Spec) (string, error)
	// Uninstall stops the service, unregisters it and removes its
	// definition; the configuration and the node's state stay.
	Uninstall() (string, error)
	Start() (string, error)
	Stop() (string, error)
	// Status returns the manager's own report of the service.
	Status() (string, error)
}

// Runner runs a command and returns its combined output.
type Runner func(name string, args ...string) (string, error)

// Exec runs commands for real.
func Exec(name string, args ...string) (string, error) {
	out, err := exec.Command(name, args...).CombinedOutput()
	s := strings.TrimSpace(string(out))
	if err != nil {
		if s != "" {
			err = errors.New(err.Error() + ": " + s)
		}
		return s, err
	}
	return s, nil
}

// ErrUnsupported is returned by Native where no service manager is
// supported.
var ErrUnsupported = errors.New("installing a service is supported on Linux (systemd), macOS (launchd) and Windows only")
