package netstack

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"testing"

	"go.uber.org/goleak"

	"github.com/rustynet/rustynet/hostapi"
)

func TestGatewayPolicy(t *testing.T) {
	exit := newGatewayPolicy(hostapi.GatewayConfig{Prefixes: mustPrefixes("0.0.0.0/0", "::/0")}, mustPrefixes("100.64.0.2/32", "fd7a::2/128"))
	router := newGatewayPolicy(hostapi.GatewayConfig{Prefixes: mustPrefixes("10.20.0.0/24", "127.77.0.0/16")}, mustPrefixes("100.64.0.2/32"))
	odd := newGatewayPolicy(hostapi.GatewayConfig{Prefixes: mustPrefixes("::/16", "224.0.0.0/4")}, nil)
	tests := []struct {
		name   string
		p      *gatewayPolicy
		addr   string
		claims bool // the gateway's stack takes the packet
		allows bool // and forwards it
	}{
		{"exit: the internet", exit, "8.8.8.8", true, true},
		{"exit: an address of the host", exit, "192.0.2.2", true, true},
		{"exit: another node's mesh address", exit, "100.64.0.3", true, true},
		{"exit: IPv6", exit, "2001:db8::1", true, true},
		{"exit: the node's own mesh address", exit, "100.64.0.2", true, false},
		{"exit: the node's own IPv6 mesh address", exit, "fd7a::2", true, false},
		{"exit: loopback", exit, "127.0.0.1", true, false},
		{"exit: IPv6 loopback", exit, "::1", true, false},
		{"exit: link-local (cloud metadata)", exit, "169.254.169.254", true, false},
		{"exit: IPv6 link-local", exit, "fe80::1", true, false},
		{"exit: IPv4-mapped loopback", exit, "::ffff:127.0.0.1", false, false},
		{"exit: multicast", exit, "224.0.0.251", false, false},
		{"exit: IPv6 multicast", exit, "ff02::1", false, false},
		{"exit: unspecified", exit, "0.0.0.0", false, false},
		{"exit: this network", exit, "0.1.2.3", true, false},
		{"exit: broadcast", exit, "255.255.255.255", false, false},
		{"router: a served address", router, "10.20.0.5", true, true},
		{"router: a loopback prefix it names", router, "127.77.0.5", true, true},
		{"router: next to a served prefix", router, "10.20.1.5", false, false},
		{"router: the internet", router, "8.8.8.8", false, false},
		{"router: loopback it does not name", router, "127.0.0.1", false, false},
		{"IPv4-mapped, whatever the prefix", odd, "::ffff:8.8.8.8", false, false},
		{"multicast, whatever the prefix", odd, "224.0.0.1", false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := netip.MustParseAddr(tt.addr)
			if got := tt.p.claims(a); got != tt.claims {
				t.Errorf("claims(%s): got %v, want %v", a, got, tt.claims)
			}
			if got := tt.p.allows(a); got != tt.allows {
				t.Errorf("allows(%s): got %v, want %v", a, got, tt.allows)
			}
		})
	}
}

// TestSubnetRouter checks a router: A routes B's prefix 127.77.0.0/16 into
// the mesh; B forwards it to servers on this host's loopback that A can
// reach only through B.
func TestSubnetRouter(t *testing.T) {
	lanEcho := startTCPEchoOn(t, "127.77.0.5:0")
	lanUDP := startUDPEchoOn(t, "127.77.0.5:0")
	otherEcho := startTCPEchoOn(t, "127.78.0.5:0") // routed by A into B, not served by B
	ownEcho := startTCPEcho(t)
	b := newTestNode(t, "100.64.0.2", &hostapi.ProxyConfig{Exposes: []hostapi.Expose{{Proto: hostapi.ProtoTCP, MeshPort: tcpEchoPort, Target: ownEcho}}},
		withGateway("127.77.0.0/16"))
	loop := netip.AddrPortFrom(loopback, 0)
	a := newTestNode(t, "100.64.0.1", &hostapi.ProxyConfig{SOCKS5: loop, HTTP: loop,
		Forwards: []hostapi.Forward{{Proto: hostapi.ProtoUDP, Listen: loop, Target: lanUDP}}}, withDialTimeout(shortDial))
	addPeer(t, b, a.peer())
	addPeer(t, a, b.peer("127.77.0.0/16", "127.78.0.0/16"))
	socks := serviceAddr(t, a, "socks5 127.0.0.1:0")
	httpProxy := serviceAddr(t, a, "http 127.0.0.1:0")
	fwdUDP := serviceAddr(t, a, fmt.Sprintf("forward udp 127.0.0.1:0->%s", lanUDP))

	var open net.Conn // a forwarded connection kept open across subtests
	t.Run("TCP through the router, with a half-close", func(t *testing.T) {
		rep, c := socksDial(t, socks, lanEcho.Addr().Addr().String(), lanEcho.Addr().Port())
		if rep != socksRepSucceeded {
			t.Fatalf("got reply %d, want %d", rep, socksRepSucceeded)
		}
		echo(t, c, []byte("to the router's LAN"))
		if err := c.(*boundConn).Conn.(*net.TCPConn).CloseWrite(); err != nil {
			t.Fatal(err)
		}
		if err := readClosed(c); err != nil {
			t.Errorf("after the client's half-close, the server's end did not come back: %v", err)
		}
		rep, open = socksDial(t, socks, lanEcho.Addr().Addr().String(), lanEcho.Addr().Port())
		if rep != socksRepSucceeded {
			t.Fatalf("second connection: got reply %d, want %d", rep, socksRepSucceeded)
		}
		echo(t, open, []byte("stays open"))
	})
	t.Run("HTTP CONNECT through the router", func(t *testing.T) {
		code, body, c := httpConnect(t, httpProxy, lanEcho.Addr())
		if code != http.StatusOK {
			t.Fatalf("got %d %q, want 200", code, body)
		}
		echo(t, c, []byte("over HTTP CONNECT"))
	})
	t.Run("UDP through the router", func(t *testing.T) {
		c, err := net.Dial("udp", fwdUDP)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		udpRoundTrip(t, c, []byte("datagram to the router's LAN"))
	})
	t.Run("a refused target resets the client", func(t *testing.T) {
		if rep, _ := socksDial(t, socks, "127.77.0.5", unusedPort(t, netip.MustParseAddr("127.77.0.5"))); rep != socksRepConnectionRefused {
			t.Errorf("got reply %d, want %d (connection refused)", rep, socksRepConnectionRefused)
		}
	})
	t.Run("a destination A does not route fails at once", func(t *testing.T) {
		if rep, _ := socksDial(t, socks, "127.79.0.5", 7); rep != socksRepNetworkUnreachable {
			t.Errorf("got reply %d, want %d (network unreachable)", rep, socksRepNetworkUnreachable)
		}
	})
	// Each waits for a dial to time out: they wait together.
	addPeer(t, a, b.peer("127.77.0.0/16", "127.78.0.0/16", "127.0.0.1/32"))
	t.Run("dropped", func(t *testing.T) {
		t.Run("a destination outside the router's prefixes is not forwarded", func(t *testing.T) {
			t.Parallel()
			if rep, _ := socksDial(t, socks, otherEcho.Addr().Addr().String(), otherEcho.Addr().Port()); rep != socksRepTTLExpired {
				t.Errorf("got reply %d, want %d (TTL expired: B drops the packets)", rep, socksRepTTLExpired)
			}
			if n := otherEcho.Accepted(); n != 0 {
				t.Errorf("the server outside B's prefixes accepted %d connections, want 0", n)
			}
		})
		t.Run("loopback sent to the router reaches neither its forwarders nor its exposes", func(t *testing.T) {
			t.Parallel()
			// A routes 127.0.0.1 into B, which serves 127.77.0.0/16 only and
			// exposes tcpEchoPort: the packets are dropped.
			if rep, _ := socksDial(t, socks, "127.0.0.1", tcpEchoPort); rep != socksRepTTLExpired {
				t.Errorf("got reply %d, want %d (TTL expired: B drops the packets)", rep, socksRepTTLExpired)
			}
		})
	})
	t.Run("the router's own exposed port still works", func(t *testing.T) {
		rep, c := socksDial(t, socks, b.ip.String(), tcpEchoPort)
		if rep != socksRepSucceeded {
			t.Fatalf("got reply %d, want %d", rep, socksRepSucceeded)
		}
		echo(t, c, []byte("to B itself"))
	})
	t.Run("new prefixes close the flows they no longer allow, and keep the session", func(t *testing.T) {
		if open == nil {
			t.Skip("no forwarded connection: the first subtest failed")
		}
		before, _ := peerState(t, b, a.pub)
		b.gateway = &hostapi.GatewayConfig{Prefixes: mustPrefixes("127.78.0.0/16")}
		if err := b.b.Configure(context.Background(), b.config(b.b.cfg.Proxy)); err != nil {
			t.Fatalf("Configure: %v", err)
		}
		after, _ := peerState(t, b, a.pub)
		if !after.LastHandshake.Equal(before.LastHandshake) {
			t.Errorf("got last handshake %v, want the unchanged %v", after.LastHandshake, before.LastHandshake)
		}
		if err := readClosed(open); err != nil {
			t.Errorf("the connection to a prefix no longer served: %v", err)
		}
		rep, c := socksDial(t, socks, otherEcho.Addr().Addr().String(), otherEcho.Addr().Port())
		if rep != socksRepSucceeded {
			t.Fatalf("to the newly served prefix: got reply %d, want %d", rep, socksRepSucceeded)
		}
		echo(t, c, []byte("to the new prefix"))
		if rep, _ := socksDial(t, socks, lanEcho.Addr().Addr().String(), lanEcho.Addr().Port()); rep != socksRepTTLExpired {
			t.Errorf("to the prefix no longer served: got reply %d, want %d (TTL expired)", rep, socksRepTTLExpired)
		}
	})
}

// TestExitNode checks an exit: A routes 0.0.0.0/0 and ::/0 into B, which
// forwards to this host's own addresses as it would to the internet, and
// never to its loopback.
func TestExitNode(t *testing.T) {
	host4 := hostAddr(t, false)
	hostEcho := startTCPEchoOn(t, netip.AddrPortFrom(host4, 0).String())
	loopEcho := startTCPEchoOn(t, "127.0.0.1:0")
	b := newTestNode(t, "100.64.0.2", nil, withGateway("0.0.0.0/0", "::/0"), withIPv6("fd7a::2"))
	loop := netip.AddrPortFrom(loopback, 0)
	a := newTestNode(t, "100.64.0.1", &hostapi.ProxyConfig{SOCKS5: loop, HTTP: loop}, withDialTimeout(shortDial), withIPv6("fd7a::1"))
	addPeer(t, b, a.peer())
	addPeer(t, a, b.peer("0.0.0.0/0", "::/0"))
	socks := serviceAddr(t, a, "socks5 127.0.0.1:0")
	httpProxy := serviceAddr(t, a, "http 127.0.0.1:0")

	var open net.Conn
	t.Run("TCP through the exit to an address of this host", func(t *testing.T) {
		var rep byte
		rep, open = socksDial(t, socks, host4.String(), hostEcho.Addr().Port())
		if rep != socksRepSucceeded {
			t.Fatalf("got reply %d, want %d", rep, socksRepSucceeded)
		}
		echo(t, open, []byte("through the exit"))
		code, body, c := httpConnect(t, httpProxy, hostEcho.Addr())
		if code != http.StatusOK {
			t.Fatalf("HTTP CONNECT: got %d %q, want 200", code, body)
		}
		echo(t, c, []byte("through the exit over HTTP CONNECT"))
	})
	t.Run("IPv6 through the exit", func(t *testing.T) {
		host6 := hostAddr(t, true)
		e := startTCPEchoOn(t, netip.AddrPortFrom(host6, 0).String())
		rep, c := socksDial(t, socks, host6.String(), e.Addr().Port())
		if rep != socksRepSucceeded {
			t.Fatalf("got reply %d, want %d", rep, socksRepSucceeded)
		}
		echo(t, c, []byte("through the exit over IPv6"))
	})
	t.Run("the default route does not carry loopback", func(t *testing.T) {
		if rep, _ := socksDial(t, socks, "127.0.0.1", loopEcho.Addr().Port()); rep != socksRepNetworkUnreachable {
			t.Errorf("got reply %d, want %d (network unreachable)", rep, socksRepNetworkUnreachable)
		}
	})
	t.Run("the exit refuses loopback sent to it", func(t *testing.T) {
		// A routes loopback into B explicitly; B, an exit, resets it.
		addPeer(t, a, b.peer("0.0.0.0/0", "::/0", "127.0.0.0/8"))
		if rep, _ := socksDial(t, socks, "127.0.0.1", loopEcho.Addr().Port()); rep != socksRepConnectionRefused {
			t.Errorf("got reply %d, want %d (connection refused)", rep, socksRepConnectionRefused)
		}
		if n := loopEcho.Accepted(); n != 0 {
			t.Errorf("the loopback server accepted %d connections through the exit, want 0", n)
		}
	})
	t.Run("withdrawing the gateway closes forwarded connections and fails new ones", func(t *testing.T) {
		if open == nil {
			t.Skip("no forwarded connection: the first subtest failed")
		}
		b.gateway = nil
		if err := b.b.Configure(context.Background(), b.config(nil)); err != nil {
			t.Fatalf("Configure: %v", err)
		}
		if err := readClosed(open); err != nil {
			t.Errorf("the forwarded connection: %v", err)
		}
		if rep, _ := socksDial(t, socks, host4.String(), hostEcho.Addr().Port()); rep != socksRepTTLExpired {
			t.Errorf("got reply %d, want %d (TTL expired: B drops the packets)", rep, socksRepTTLExpired)
		}
	})
}

// hostAddr returns a unicast address of an interface of this host that is
// up and not loopback, IPv6 if v6, or skips the test.
func hostAddr(t *testing.T, v6 bool) netip.Addr {
	t.Helper()
	ifs, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range ifs {
		if i.Flags&net.FlagUp == 0 || i.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := i.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipn, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(ipn.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			if ip.Is6() == v6 && ip.IsGlobalUnicast() && !hostScoped(ip) {
				return ip
			}
		}
	}
	family := "IPv4"
	if v6 {
		family = "IPv6"
	}
	t.Skipf("this host has no %s address beside loopback: nothing for an exit to reach that is not refused", family)
	return netip.Addr{}
}

func TestGatewayCloseLeavesNoGoroutines(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Run("open flows", func(t *testing.T) {
		// Cleanup closes both backends while a forwarded TCP connection and
		// a UDP flow are open.
		lanEcho := startTCPEchoOn(t, "127.77.0.5:0")
		lanUDP := startUDPEchoOn(t, "127.77.0.5:0")
		b := newTestNode(t, "100.64.0.2", nil, withGateway("127.77.0.0/16"))
		loop := netip.AddrPortFrom(loopback, 0)
		a := newTestNode(t, "100.64.0.1", &hostapi.ProxyConfig{SOCKS5: loop,
			Forwards: []hostapi.Forward{{Proto: hostapi.ProtoUDP, Listen: loop, Target: lanUDP}}})
		addPeer(t, b, a.peer())
		addPeer(t, a, b.peer("127.77.0.0/16"))
		rep, c := socksDial(t, serviceAddr(t, a, "socks5 127.0.0.1:0"), lanEcho.Addr().Addr().String(), lanEcho.Addr().Port())
		if rep != socksRepSucceeded {
			t.Fatalf("got reply %d, want %d", rep, socksRepSucceeded)
		}
		echo(t, c, []byte("open forwarded connection"))
		u, err := net.Dial("udp", serviceAddr(t, a, fmt.Sprintf("forward udp 127.0.0.1:0->%s", lanUDP)))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { u.Close() })
		udpRoundTrip(t, u, []byte("open forwarded UDP flow"))
	})
	goleak.VerifyNone(t, ignore)
}
