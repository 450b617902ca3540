package netstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/rustynet/rustynet/hostapi"
)

// shortDial bounds the dials into the mesh of nodes whose tests wait for a
// destination that does not answer: long enough for a handshake on a busy
// machine, short enough to wait for.
const shortDial = 2 * time.Second

var cmpPrefix = cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })

func TestHostScoped(t *testing.T) {
	tests := []struct {
		addr string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.77.0.5", true},
		{"::1", true},
		{"169.254.169.254", true},
		{"fe80::1", true},
		{"224.0.0.251", true},
		{"ff02::1", true},
		{"ff01::1", true},
		{"0.0.0.0", true},
		{"0.1.2.3", true},
		{"255.255.255.255", true},
		{"::", true},
		{"::ffff:127.0.0.1", true},
		{"::ffff:8.8.8.8", true}, // IPv4-mapped: dialled as IPv4, around IPv4's rules
		{"8.8.8.8", false},
		{"10.1.2.3", false},
		{"100.64.0.1", false},
		{"192.0.2.2", false},
		{"2001:db8::1", false},
		{"fd00::2", false},
	}
	for _, tt := range tests {
		if got := hostScoped(netip.MustParseAddr(tt.addr)); got != tt.want {
			t.Errorf("hostScoped(%s): got %v, want %v", tt.addr, got, tt.want)
		}
	}
}

func TestCovers(t *testing.T) {
	tests := []struct {
		name   string
		routes []string
		addr   string
		want   bool
	}{
		{"nothing routed", nil, "10.1.2.3", false},
		{"inside a route", []string{"10.0.0.0/8"}, "10.1.2.3", true},
		{"outside every route", []string{"10.0.0.0/8", "100.64.0.2/32"}, "11.0.0.1", false},
		{"a host route", []string{"100.64.0.2/32"}, "100.64.0.2", true},
		{"default route, global address", []string{"0.0.0.0/0"}, "8.8.8.8", true},
		{"default route, loopback", []string{"0.0.0.0/0"}, "127.0.0.1", false},
		{"default route, link-local", []string{"0.0.0.0/0"}, "169.254.169.254", false},
		{"default route, multicast", []string{"0.0.0.0/0"}, "224.0.0.251", false},
		{"default route and a loopback route", []string{"0.0.0.0/0", "127.0.0.0/8"}, "127.0.0.1", true},
		{"a route naming loopback", []string{"127.77.0.0/16"}, "127.77.0.5", true},
		{"IPv6 default route", []string{"::/0"}, "2001:db8::1", true},
		{"IPv6 default route, loopback", []string{"::/0"}, "::1", false},
		{"IPv6 default route, IPv4-mapped", []string{"::/0"}, "::ffff:8.8.8.8", false},
		{"IPv6 default route, IPv4 address", []string{"::/0"}, "8.8.8.8", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := covers(mustPrefixes(tt.routes...), netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("covers(%v, %s): got %v, want %v", tt.routes, tt.addr, got, tt.want)
			}
		})
	}
}

// TestRouteSet checks routeSet against covers, the rule it implements
// faster, on every case of TestCovers and after removals.
func TestRouteSet(t *testing.T) {
	routes := mustPrefixes("0.0.0.0/0", "10.0.0.0/8", "10.1.0.0/16", "100.64.0.2/32", "127.77.0.0/16", "::/0", "fd7a::/64", "fd7a::5/128")
	addrs := []string{"10.1.2.3", "10.2.0.1", "11.0.0.1", "100.64.0.2", "100.64.0.3", "127.0.0.1", "127.77.0.5", "169.254.169.254",
		"224.0.0.251", "8.8.8.8", "::1", "2001:db8::1", "fd7a::5", "fd7a::6", "fd7b::1", "::ffff:8.8.8.8"}
	var s routeSet
	for _, p := range routes {
		s.add(p)
	}
	s.add(routes[1]) // twice: still one route
	for n := len(routes); n >= 0; n-- {
		held := routes[:n]
		if diff := cmp.Diff(held, s.list(), cmpPrefix, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("list (-want +got):\n%s", diff)
		}
		for _, a := range addrs {
			if got, want := s.covers(netip.MustParseAddr(a)), covers(held, netip.MustParseAddr(a)); got != want {
				t.Errorf("routes %v, address %s: covers = %v, want %v", held, a, got, want)
			}
		}
		if n > 0 {
			s.remove(routes[n-1])
			s.remove(routes[n-1]) // absent: not an error
		}
	}
	// list keeps its sorted routes: an add after a list shows in the next.
	s.add(routes[2])
	s.list()[0] = routes[0] // the caller's own slice
	s.add(routes[1])
	if diff := cmp.Diff(routes[1:3], s.list(), cmpPrefix); diff != "" {
		t.Fatalf("list after adds (-want +got):\n%s", diff)
	}
}

func TestPacketDestination(t *testing.T) {
	v4 := make([]byte, 20)
	v4[0], v4[9] = 0x45, 6
	copy(v4[16:], []byte{10, 20, 0, 5})
	v6 := make([]byte, 40)
	v6[0], v6[6] = 0x60, 17
	copy(v6[24:], netip.MustParseAddr("2001:db8::7").AsSlice())
	tests := []struct {
		name      string
		packet    []byte
		dst       string
		transport uint8
		ok        bool
	}{
		{"IPv4 TCP", v4, "10.20.0.5", 6, true},
		{"IPv6 UDP", v6, "2001:db8::7", 17, true},
		{"short IPv4", v4[:19], "", 0, false},
		{"short IPv6", v6[:39], "", 0, false},
		{"IPv6 header on an IPv4-sized packet", append([]byte{0x60}, v4[1:]...), "", 0, false},
		{"version 5", append([]byte{0x50}, v6[1:]...), "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst, transport, ok := packetDestination(tt.packet)
			var want netip.Addr
			if tt.dst != "" {
				want = netip.MustParseAddr(tt.dst)
			}
			if dst != want || transport != tt.transport || ok != tt.ok {
				t.Errorf("got %v %d %v, want %v %d %v", dst, transport, ok, want, tt.transport, tt.ok)
			}
		})
	}
}

func TestSOCKSReply(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want byte
	}{
		{"no route", fmt.Errorf("%w for 10.1.2.3", errNoRoute), socksRepNetworkUnreachable},
		{"no resolver", errNoResolver, socksRepHostUnreachable},
		{"name not found", &net.DNSError{Err: "no such host", Name: "x.mesh", IsNotFound: true}, socksRepHostUnreachable},
		{"reset", &net.OpError{Op: "connect", Err: errors.New("connection was refused")}, socksRepConnectionRefused},
		{"ICMP host unreachable", &net.OpError{Op: "connect", Err: errors.New("no route to host")}, socksRepHostUnreachable},
		{"ICMP network unreachable", &net.OpError{Op: "connect", Err: errors.New("network is unreachable")}, socksRepNetworkUnreachable},
		{"no answer", context.DeadlineExceeded, socksRepTTLExpired},
	}
	for _, tt := range tests {
		if got := socksReply(tt.err); got != tt.want {
			t.Errorf("%s: got reply %d, want %d", tt.name, got, tt.want)
		}
	}
}

// TestRoutes checks that the proxies and forwards reach exactly what the
// stack routes, with routes changed by difference.
func TestRoutes(t *testing.T) {
	echoAddr := startTCPEcho(t)
	b := newTestNode(t, "100.64.0.2", &hostapi.ProxyConfig{Exposes: []hostapi.Expose{{Proto: hostapi.ProtoTCP, MeshPort: tcpEchoPort, Target: echoAddr}}})
	loop := netip.AddrPortFrom(loopback, 0)
	target := b.mesh(tcpEchoPort)
	a := newTestNode(t, "100.64.0.1", &hostapi.ProxyConfig{SOCKS5: loop, HTTP: loop,
		Forwards: []hostapi.Forward{{Proto: hostapi.ProtoTCP, Listen: loop, Target: target}}})
	socks := serviceAddr(t, a, "socks5 127.0.0.1:0")
	httpProxy := serviceAddr(t, a, "http 127.0.0.1:0")
	fwd := serviceAddr(t, a, fmt.Sprintf("forward tcp 127.0.0.1:0->%s", target))
	// B routes A; A knows B as a peer but routes nothing yet.
	addPeer(t, b, a.peer())
	if err := a.b.ApplyPeers(context.Background(), hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{b.peer()}}); err != nil {
		t.Fatalf("ApplyPeers: %v", err)
	}
	applyRoutes := func(t *testing.T, c hostapi.RouteChanges, want ...string) {
		t.Helper()
		if err := a.b.ApplyRoutes(context.Background(), c); err != nil {
			t.Fatalf("ApplyRoutes: %v", err)
		}
		st, err := a.b.State(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(mustPrefixes(want...), st.Routes, cmpPrefix); diff != "" {
			t.Errorf("State routes (-want +got):\n%s", diff)
		}
	}
	unreachable := func(t *testing.T) {
		t.Helper()
		if rep, _ := socksDial(t, socks, target.Addr().String(), target.Port()); rep != socksRepNetworkUnreachable {
			t.Errorf("SOCKS5 CONNECT: got reply %d, want %d (network unreachable)", rep, socksRepNetworkUnreachable)
		}
		if code, body, _ := httpConnect(t, httpProxy, target); code != http.StatusBadGateway || !strings.Contains(body, "no route") {
			t.Errorf("HTTP CONNECT: got %d %q, want %d and a reason naming the missing route", code, body, http.StatusBadGateway)
		}
		c, err := net.DialTimeout("tcp", fwd, ioTimeout)
		if errors.Is(err, syscall.ECONNRESET) {
			return // reset before the dial returned: closed at once
		}
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(ioTimeout))
		if _, err := c.Read(make([]byte, 1)); err == nil || isTimeout(err) {
			t.Errorf("TCP forward: got read error %v, want the connection closed", err)
		}
	}
	reachable := func(t *testing.T) {
		t.Helper()
		rep, c := socksDial(t, socks, target.Addr().String(), target.Port())
		if rep != socksRepSucceeded {
			t.Fatalf("SOCKS5 CONNECT: got reply %d, want %d", rep, socksRepSucceeded)
		}
		echo(t, c, []byte("routed"))
	}

	t.Run("before any route, nothing is reached and everything says so at once", unreachable)
	t.Run("routes added", func(t *testing.T) {
		applyRoutes(t, hostapi.RouteChanges{Add: mustPrefixes("fd7a::/64", "100.64.0.2/32", "10.9.0.0/16")}, "10.9.0.0/16", "100.64.0.2/32", "fd7a::/64")
		reachable(t)
	})
	t.Run("absent removed, present added: no error", func(t *testing.T) {
		applyRoutes(t, hostapi.RouteChanges{Remove: mustPrefixes("10.9.0.0/16", "10.8.0.0/16"), Add: mustPrefixes("100.64.0.2/32")}, "100.64.0.2/32", "fd7a::/64")
		reachable(t)
	})
	t.Run("route removed", func(t *testing.T) {
		applyRoutes(t, hostapi.RouteChanges{Remove: mustPrefixes("100.64.0.2/32")}, "fd7a::/64")
		unreachable(t)
	})
	t.Run("a route implied by an address is not recorded", func(t *testing.T) {
		cfg := a.config(a.b.cfg.Proxy)
		cfg.Addresses = mustPrefixes("100.64.0.1/24")
		if err := a.b.Configure(context.Background(), cfg); err != nil {
			t.Fatalf("Configure: %v", err)
		}
		applyRoutes(t, hostapi.RouteChanges{Add: mustPrefixes("100.64.0.0/24")}, "fd7a::/64")
		reachable(t) // through the address's own subnet
		if err := a.b.Configure(context.Background(), a.config(a.b.cfg.Proxy)); err != nil {
			t.Fatalf("Configure: %v", err)
		}
		unreachable(t)
	})
}

// TestRoutedButSilent checks that a destination that is routed but does not
// answer gets an error reply, not a silent close.
func TestRoutedButSilent(t *testing.T) {
	loop := netip.AddrPortFrom(loopback, 0)
	a := newTestNode(t, "100.64.0.1", &hostapi.ProxyConfig{SOCKS5: loop, HTTP: loop}, withDialTimeout(shortDial))
	_, ghost := newKey(t)
	// A peer that exists nowhere, and a route that no peer's allowed IPs
	// contain: wireguard-go drops the packets either way.
	addPeer(t, a, hostapi.PeerConfig{PublicKey: ghost, AllowedIPs: mustPrefixes("100.64.0.99/32")})
	if err := a.b.ApplyRoutes(context.Background(), hostapi.RouteChanges{Add: mustPrefixes("10.9.0.0/16")}); err != nil {
		t.Fatalf("ApplyRoutes: %v", err)
	}
	socks := serviceAddr(t, a, "socks5 127.0.0.1:0")
	httpProxy := serviceAddr(t, a, "http 127.0.0.1:0")
	// Each waits for the dial timeout: they wait together.
	for _, dst := range []string{"100.64.0.99", "10.9.0.1"} {
		t.Run("SOCKS5 "+dst, func(t *testing.T) {
			t.Parallel()
			if rep, _ := socksDial(t, socks, dst, 80); rep != socksRepTTLExpired {
				t.Errorf("got reply %d, want %d (TTL expired: no answer)", rep, socksRepTTLExpired)
			}
		})
		t.Run("HTTP "+dst, func(t *testing.T) {
			t.Parallel()
			if code, body, _ := httpConnect(t, httpProxy, netip.AddrPortFrom(netip.MustParseAddr(dst), 80)); code != http.StatusGatewayTimeout {
				t.Errorf("got %d %q, want %d", code, body, http.StatusGatewayTimeout)
			}
		})
	}
}

// readClosed reports whether c's stream from the far end has ended (EOF
// or a reset) within ioTimeout.
func readClosed(c net.Conn) error {
	_ = c.SetReadDeadline(time.Now().Add(ioTimeout))
	_, err := io.ReadAll(c)
	if isTimeout(err) {
		return fmt.Errorf("still open after %v", ioTimeout)
	}
	return nil
}
