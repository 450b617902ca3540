package controlapi

import (
	"fmt"
	"net"

	"golang.org/x/sys/windows"
)

// peerOf reports the client's process id. Who may connect at all is decided
// by the pipe's security descriptor (see Listen).
func peerOf(c net.Conn) (Peer, error) {
	f, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return Peer{}, fmt.Errorf("%T is not a named pipe", c)
	}
	var pid uint32
	if err := windows.GetNamedPipeClientProcessId(windows.Handle(f.Fd()), &pid); err != nil {
		return Peer{}, fmt.Errorf("GetNamedPipeClientProcessId: %w", err)
	}
	return Peer{PID: int(pid)}, nil
}
