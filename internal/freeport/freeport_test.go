package freeport

import (
	"fmt"
	"net"
	"testing"
)

// TestPick checks that Pick hands out distinct ports per network, each
// one that can be listened on, and refuses an unknown network.
func TestPick(t *testing.T) {
	for _, network := range []string{"tcp", "udp"} {
		seen := make(map[uint16]bool)
		for range 300 {
			port, err := Pick(network)
			if err != nil {
				t.Fatal(err)
			}
			if seen[port] {
				t.Fatalf("%s port %d handed out twice", network, port)
			}
			seen[port] = true
		}
		port, err := Pick(network)
		if err != nil {
			t.Fatal(err)
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		if network == "tcp" {
			l, err := net.Listen(network, addr)
			if err != nil {
				t.Fatalf("listen on the picked %s: %v", addr, err)
			}
			l.Close()
		} else {
			c, err := net.ListenPacket(network, addr)
			if err != nil {
				t.Fatalf("listen on the picked %s: %v", addr, err)
			}
			c.Close()
		}
	}
	if _, err := Pick("sctp"); err == nil {
		t.Error("Pick of an unknown network: no error")
	}
}
