package controlapi

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// peerOf reads the peer credentials of a Unix socket connection
// (SO_PEERCRED: the client's pid, uid and gid when it connected).
func peerOf(c net.Conn) (Peer, error) {
	var cred *unix.Ucred
	err := control(c, func(fd uintptr) error {
		var err error
		cred, err = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
		return err
	})
	if err != nil {
		return Peer{}, fmt.Errorf("reading peer credentials (SO_PEERCRED): %w", err)
	}
	return Peer{UID: cred.Uid, GID: cred.Gid, PID: int(cred.Pid)}, nil
}
