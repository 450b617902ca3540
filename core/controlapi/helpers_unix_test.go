//go:build unix

package controlapi

import (
	"os"
	"path/filepath"
	"testing"
)

// testSocketPath returns a socket path in a directory Listen must create.
func testSocketPath(t *testing.T) string {
	return filepath.Join(t.TempDir(), "run", "control.sock")
}

// selfPeer is how the server sees this process.
func selfPeer() Peer {
	return Peer{UID: uint32(os.Getuid()), GID: uint32(os.Getgid()), PID: os.Getpid()}
}
