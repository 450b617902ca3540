//go:build linux || darwin

package wgtun

import (
	"fmt"
	"net"

	"golang.zx2c4.com/wireguard/ipc"
)

// listenUAPI listens on /var/run/wireguard/NAME.sock, where wg looks for
// userspace interfaces; the socket file is removed when the listener closes.
// (ipc.UAPIListen is not used: its socket watcher leaks a goroutine on
// close, which a long-lived backend cannot afford.)
func listenUAPI(name string) (net.Listener, error) {
	f, err := ipc.UAPIOpen(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ln, err := net.FileListener(f)
	if err != nil {
		return nil, err
	}
	ul, ok := ln.(*net.UnixListener)
	if !ok {
		ln.Close()
		return nil, fmt.Errorf("UAPI socket is a %T, not a unix socket", ln)
	}
	ul.SetUnlinkOnClose(true)
	return ul, nil
}
