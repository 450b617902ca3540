package controlapi

import (
	"fmt"
	"net"

	"golang.org/x/sys/unix"
)

// peerOf reads the peer credentials of a Unix socket connection
// (LOCAL_PEERCRED: uid and groups; LOCAL_PEERPID: pid).
func peerOf(c net.Conn) (Peer, error) {
	var p Peer
	err := control(c, func(fd uintptr) error {
		cred, err := unix.GetsockoptXucred(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERCRED)
		if err != nil {
			return err
		}
		if cred.Ngroups < 1 || int(cred.Ngroups) > len(cred.Groups) {
			return fmt.Errorf("LOCAL_PEERCRED reported %d groups", cred.Ngroups)
		}
		p.UID, p.GID = cred.Uid, cred.Groups[0]
		p.Groups = append([]uint32(nil), cred.Groups[1:cred.Ngroups]...)
		// The pid is only for logs: a failure leaves it 0.
		if pid, err := unix.GetsockoptInt(int(fd), unix.SOL_LOCAL, unix.LOCAL_PEERPID); err == nil {
			p.PID = pid
		}
		return nil
	})
	if err != nil {
		return Peer{}, fmt.Errorf("reading peer credentials (LOCAL_PEERCRED): %w", err)
	}
	return p, nil
}
