//go:build unix && !linux && !darwin

package controlapi

import (
	"errors"
	"net"
)

// peerOf fails: peer credentials are read only on Linux and macOS, so on
// other systems every client is refused (fail closed).
func peerOf(net.Conn) (Peer, error) {
	return Peer{}, errors.New("peer credentials are not supported on this system")
}
