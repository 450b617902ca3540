package wgtun

import (
	"net"

	"golang.zx2c4.com/wireguard/ipc"
)

// listenUAPI listens on the named pipe
// \\.\pipe\ProtectedPrefix\Administrators\WireGuard\NAME, where wg looks
// for userspace interfaces.
func listenUAPI(name string) (net.Listener, error) { return ipc.UAPIListen(name) }
