package netnstest

import (
	"net"
	"net/netip"
	"testing"

	"github.com/rustynet/rustynet/internal/echoserver"
)

// EchoTCP serves TCP echo (package echoserver) on addr inside the namespace
// until tb ends, and returns the address it listens on (addr with the
// port it got, for port 0).
func (n *Namespace) EchoTCP(tb testing.TB, addr netip.AddrPort) netip.AddrPort {
	tb.Helper()
	var ln net.Listener
	if err := n.Do(func() (err error) {
		ln, err = net.Listen("tcp", addr.String())
		return err
	}); err != nil {
		tb.Fatalf("listening on TCP %v in %s: %v", addr, n.Name, err)
	}
	s := echoserver.ServeTCP(ln, nil)
	tb.Cleanup(func() { s.Close() })
	return s.Addr()
}

// EchoUDP serves UDP echo (package echoserver) on addr inside the namespace
// until tb ends, and returns the address it listens on.
func (n *Namespace) EchoUDP(tb testing.TB, addr netip.AddrPort) netip.AddrPort {
	tb.Helper()
	var pc net.PacketConn
	if err := n.Do(func() (err error) {
		pc, err = net.ListenPacket("udp", addr.String())
		return err
	}); err != nil {
		tb.Fatalf("listening on UDP %v in %s: %v", addr, n.Name, err)
	}
	u := echoserver.ServeUDP(pc)
	tb.Cleanup(func() { u.Close() })
	return u.Addr()
}
