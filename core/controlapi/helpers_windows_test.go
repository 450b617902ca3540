package controlapi

import (
	"crypto/rand"
	"os"
	"testing"
)

// testSocketPath returns a fresh named pipe name.
func testSocketPath(*testing.T) string {
	return `\\.\pipe\rustynet-test-` + rand.Text()
}

// selfPeer is how the server sees this process.
func selfPeer() Peer { return Peer{PID: os.Getpid()} }
