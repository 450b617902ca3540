package netstack

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// readReset reads c until its stream ends and returns nil if it ended with
// a reset, the way a client of a proxied connection learns that the
// destination is gone; an error says what happened instead.
func readReset(c net.Conn) error {
	_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
	_, err := io.ReadAll(c)
	switch {
	case errors.Is(err, syscall.ECONNRESET):
		return nil
	case isTimeout(err):
		return errors.New("still open, silent")
	case err == nil:
		return errors.New("ended in order, not reset")
	}
	return err
}

// TestRemovedPeerConnectionsReset checks that removing a peer resets at
// once every connection proxied to it or from it, whichever call removes
// it, and leaves the connections of other peers alone.
func TestRemovedPeerConnectionsReset(t *testing.T) {
	removals := []struct {
		name   string
		remove func(n *testNode, k hostapi.Key) error
	}{
		{"RemovePeers", func(n *testNode, k hostapi.Key) error {
			return n.b.RemovePeers(context.Background(), []hostapi.Key{k})
		}},
		{"ApplyPeers", func(n *testNode, k hostapi.Key) error {
			return n.b.ApplyPeers(context.Background(), hostapi.PeerChanges{Remove: []hostapi.Key{k}})
		}},
		// The peer stays, but its allowed IPs no longer cover the far
		// end: its flows end too.
		{"ApplyPeers taking the allowed IPs", func(n *testNode, k hostapi.Key) error {
			return n.b.ApplyPeers(context.Background(), hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{
				{PublicKey: k, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("192.0.2.1/32")}}}})
		}},
	}
	for _, rm := range removals {
		t.Run(rm.name, func(t *testing.T) {
			// B exposes a port whose host side the test holds; C is a
			// second peer that stays.
			exposed, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { exposed.Close() })
			b := newTestNode(t, "100.64.0.2", &hostapi.ProxyConfig{Exposes: []hostapi.Expose{
				{Proto: hostapi.ProtoTCP, MeshPort: tcpEchoPort, Target: startTCPEcho(t)},
				{Proto: hostapi.ProtoTCP, MeshPort: webPort, Target: netip.MustParseAddrPort(exposed.Addr().String())},
			}})
			c := newTestNode(t, "100.64.0.3", &hostapi.ProxyConfig{Exposes: []hostapi.Expose{
				{Proto: hostapi.ProtoTCP, MeshPort: tcpEchoPort, Target: startTCPEcho(t)},
			}})
			loop := netip.AddrPortFrom(loopback, 0)
			a := newTestNode(t, "100.64.0.1", &hostapi.ProxyConfig{SOCKS5: loop, HTTP: loop, Forwards: []hostapi.Forward{
				{Proto: hostapi.ProtoTCP, Listen: loop, Target: b.mesh(tcpEchoPort)},
				{Proto: hostapi.ProtoTCP, Listen: loop, Target: b.mesh(webPort)},
			}})
			connect(t, a, b)
			connect(t, a, c)
			socks := serviceAddr(t, a, "socks5 127.0.0.1:0")

			toB := map[string]net.Conn{}
			rep, sc := socksDial(t, socks, b.ip.String(), tcpEchoPort)
			if rep != socksRepSucceeded {
				t.Fatalf("SOCKS5 CONNECT: got reply %d, want %d", rep, socksRepSucceeded)
			}
			toB["SOCKS5"] = sc
			code, body, hc := httpConnect(t, serviceAddr(t, a, "http 127.0.0.1:0"), b.mesh(tcpEchoPort))
			if code != http.StatusOK {
				t.Fatalf("HTTP CONNECT: got %d %q, want 200", code, body)
			}
			toB["HTTP CONNECT"] = hc
			toB["TCP forward"] = dialHost(t, serviceAddr(t, a, "forward tcp 127.0.0.1:0->"+b.mesh(tcpEchoPort).String()))
			for name, conn := range toB {
				if err := tryEcho(conn, []byte("before")); err != nil {
					t.Fatalf("%s before the removal: %v", name, err)
				}
			}
			// A connection from A into B's exposed port, whose host side on
			// B the test holds: when B removes A, B resets it.
			fromA := dialHost(t, serviceAddr(t, a, "forward tcp 127.0.0.1:0->"+b.mesh(webPort).String()))
			if _, err := fromA.Write([]byte("x")); err != nil {
				t.Fatal(err)
			}
			_ = exposed.(*net.TCPListener).SetDeadline(time.Now().Add(ioTimeout))
			onB, err := exposed.Accept()
			if err != nil {
				t.Fatalf("B's exposed port: %v", err)
			}
			t.Cleanup(func() { onB.Close() })

			rep, toC := socksDial(t, socks, c.ip.String(), tcpEchoPort)
			if rep != socksRepSucceeded {
				t.Fatalf("SOCKS5 CONNECT to C: got reply %d, want %d", rep, socksRepSucceeded)
			}
			echo(t, toC, []byte("before"))

			if err := rm.remove(a, b.pub); err != nil {
				t.Fatalf("removing B from A: %v", err)
			}
			for name, conn := range toB {
				if err := readReset(conn); err != nil {
					t.Errorf("%s to B after A removed B: %v, want a reset", name, err)
				}
			}
			echo(t, toC, []byte("C stays"))

			if err := rm.remove(b, a.pub); err != nil {
				t.Fatalf("removing A from B: %v", err)
			}
			if err := readReset(onB); err != nil {
				t.Errorf("B's exposed connection from A after B removed A: %v, want a reset", err)
			}
		})
	}
}
