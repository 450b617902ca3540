package netstack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/poll"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// pair is A (with every host-side service) and B (with exposes), peers of
// each other.
type pair struct {
	a, b         *testNode
	web, udpEcho netip.AddrPort // host services B exposes
	tcpEcho      netip.AddrPort
	socks, http  string // A's proxies
	fwdTCP       string // A's TCP forward to B's web
	fwdUDP       string // A's UDP forward to B's UDP echo
}

const (
	webPort     = 80
	udpEchoPort = 7
	tcpEchoPort = 7
	closedPort  = 81
	dnsPort     = 53
	meshName    = "web.mesh"
)

func newPair(t *testing.T) *pair {
	t.Helper()
	p := &pair{web: startWeb(t), udpEcho: startUDPEcho(t), tcpEcho: startTCPEcho(t)}
	bIP := netip.MustParseAddr("100.64.0.2")
	dns := startDNS(t, meshName+".", bIP)
	p.b = newTestNode(t, bIP.String(), &hostapi.ProxyConfig{Exposes: []hostapi.Expose{
		{Proto: hostapi.ProtoTCP, MeshPort: webPort, Target: p.web},
		{Proto: hostapi.ProtoUDP, MeshPort: udpEchoPort, Target: p.udpEcho},
		{Proto: hostapi.ProtoTCP, MeshPort: tcpEchoPort, Target: p.tcpEcho},
		{Proto: hostapi.ProtoUDP, MeshPort: dnsPort, Target: dns},
	}})
	any := netip.AddrPortFrom(loopback, 0)
	p.a = newTestNode(t, "100.64.0.1", &hostapi.ProxyConfig{
		SOCKS5: any,
		HTTP:   any,
		Forwards: []hostapi.Forward{
			{Proto: hostapi.ProtoTCP, Listen: any, Target: p.b.mesh(webPort)},
			{Proto: hostapi.ProtoUDP, Listen: any, Target: p.b.mesh(udpEchoPort)},
		},
		DNS: []netip.Addr{bIP},
	})
	connect(t, p.a, p.b)
	p.socks = serviceAddr(t, p.a, "socks5 127.0.0.1:0")
	p.http = serviceAddr(t, p.a, "http 127.0.0.1:0")
	p.fwdTCP = serviceAddr(t, p.a, fmt.Sprintf("forward tcp 127.0.0.1:0->%s", p.b.mesh(webPort)))
	p.fwdUDP = serviceAddr(t, p.a, fmt.Sprintf("forward udp 127.0.0.1:0->%s", p.b.mesh(udpEchoPort)))
	return p
}

func TestMeshTraffic(t *testing.T) {
	p := newPair(t)
	web := p.b.mesh(webPort)

	t.Run("SOCKS5 CONNECT to an address", func(t *testing.T) {
		rep, c := socksDial(t, p.socks, web.Addr().String(), web.Port())
		if rep != socksRepSucceeded {
			t.Fatalf("got reply %d, want %d", rep, socksRepSucceeded)
		}
		if got := httpGet(t, c, web.String()); got != helloBody {
			t.Errorf("got body %q, want %q", got, helloBody)
		}
	})
	t.Run("SOCKS5 CONNECT to a name resolved inside the mesh", func(t *testing.T) {
		rep, c := socksDial(t, p.socks, meshName, webPort)
		if rep != socksRepSucceeded {
			t.Fatalf("got reply %d, want %d", rep, socksRepSucceeded)
		}
		if got := httpGet(t, c, meshName); got != helloBody {
			t.Errorf("got body %q, want %q", got, helloBody)
		}
	})
	t.Run("HTTP CONNECT", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", p.http, ioTimeout)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(ioTimeout))
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", web, web)
		resp, err := http.ReadResponse(newByteReader(c), &http.Request{Method: http.MethodConnect})
		if err != nil {
			t.Fatalf("read CONNECT response: %v", err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("got status %d, want 200", resp.StatusCode)
		}
		if got := httpGet(t, c, web.String()); got != helloBody {
			t.Errorf("got body %q, want %q", got, helloBody)
		}
	})
	t.Run("TCP forward", func(t *testing.T) {
		client := &http.Client{Timeout: ioTimeout, Transport: &http.Transport{DisableKeepAlives: true}}
		resp, err := client.Get("http://" + p.fwdTCP + "/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if string(body) != helloBody {
			t.Errorf("got body %q, want %q", body, helloBody)
		}
	})
	t.Run("UDP forward", func(t *testing.T) {
		c, err := net.Dial("udp", p.fwdUDP)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		udpRoundTrip(t, c, []byte("ping over a forward"))
	})
	t.Run("SOCKS5 UDP ASSOCIATE", func(t *testing.T) {
		ctrl, rep := socksRequest(t, p.socks, socksCmdUDPAssociate, "0.0.0.0", 0)
		defer ctrl.Close()
		if rep != socksRepSucceeded {
			t.Fatalf("got reply %d, want %d", rep, socksRepSucceeded)
		}
		relay := ctrl.(*boundConn).bound
		c, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(relay))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		dst := p.b.mesh(udpEchoPort)
		payload := []byte("ping over UDP ASSOCIATE")
		// RSV RSV FRAG ATYP=IPv4 DST.ADDR DST.PORT DATA, as RFC 1928 §7.
		dgram := append([]byte{0, 0, 0, 1}, dst.Addr().AsSlice()...)
		dgram = append(dgram, byte(dst.Port()>>8), byte(dst.Port()))
		want := append(append([]byte(nil), dgram...), payload...)
		got := udpRoundTripRaw(t, c, append(dgram, payload...))
		if !bytes.Equal(got, want) {
			t.Errorf("got datagram % x, want % x (header names the mesh source)", got, want)
		}
	})
	t.Run("a port B does not expose is refused", func(t *testing.T) {
		if rep, _ := socksDial(t, p.socks, web.Addr().String(), closedPort); rep != socksRepConnectionRefused {
			t.Errorf("got reply %d, want %d (connection refused)", rep, socksRepConnectionRefused)
		}
	})
	t.Run("per-peer counters move", func(t *testing.T) {
		before, _ := peerState(t, p.a, p.b.pub)
		rep, c := socksDial(t, p.socks, p.b.ip.String(), tcpEchoPort)
		if rep != socksRepSucceeded {
			t.Fatalf("got reply %d, want %d", rep, socksRepSucceeded)
		}
		echo(t, c, bytes.Repeat([]byte("x"), 64<<10))
		// wireguard-go counts a packet once its socket send returns, a
		// moment after the peer may have read it: let the counters settle.
		var after hostapi.PeerState
		grown := func() bool {
			after, _ = peerState(t, p.a, p.b.pub)
			return after.TxBytes >= before.TxBytes+64<<10 && after.RxBytes >= before.RxBytes+64<<10
		}
		if poll.Until(5*time.Second, 20*time.Millisecond, grown) != nil {
			t.Errorf("got tx %d→%d rx %d→%d, want both to grow by at least 64 KiB", before.TxBytes, after.TxBytes, before.RxBytes, after.RxBytes)
		}
		if after.LastHandshake.IsZero() {
			t.Error("got zero last handshake after traffic")
		}
		if after.Endpoint != p.b.peer().Endpoint {
			t.Errorf("got endpoint %v, want %v", after.Endpoint, p.b.peer().Endpoint)
		}
	})
}

func TestNamesNeedMeshDNS(t *testing.T) {
	p := newPair(t)
	cfg := p.a.config(&hostapi.ProxyConfig{SOCKS5: netip.AddrPortFrom(loopback, 0)})
	if err := p.a.b.Configure(context.Background(), cfg); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	socks := serviceAddr(t, p.a, "socks5 127.0.0.1:0")
	if rep, _ := socksDial(t, socks, meshName, webPort); rep != socksRepHostUnreachable {
		t.Errorf("got reply %d for a name without mesh DNS, want %d", rep, socksRepHostUnreachable)
	}
}

func TestApplyByDiffKeepsSession(t *testing.T) {
	p := newPair(t)
	c := newTestNode(t, "100.64.0.3", &hostapi.ProxyConfig{Exposes: []hostapi.Expose{{Proto: hostapi.ProtoTCP, MeshPort: tcpEchoPort, Target: p.tcpEcho}}})
	rep, conn := socksDial(t, p.socks, p.b.ip.String(), tcpEchoPort)
	if rep != socksRepSucceeded {
		t.Fatalf("got reply %d, want %d", rep, socksRepSucceeded)
	}
	echo(t, conn, []byte("before"))
	before, _ := peerState(t, p.a, p.b.pub)

	connect(t, p.a, c)
	// The unchanged peer B listed again beside the new one, as a full
	// desired set applied by difference would.
	if err := p.a.b.ApplyPeers(context.Background(), hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p.b.peer(), c.peer()}}); err != nil {
		t.Fatalf("ApplyPeers: %v", err)
	}
	echo(t, conn, []byte("after"))
	after, _ := peerState(t, p.a, p.b.pub)
	if !after.LastHandshake.Equal(before.LastHandshake) {
		t.Errorf("got B's last handshake %v, want the unchanged %v", after.LastHandshake, before.LastHandshake)
	}
	rep, toC := socksDial(t, p.socks, c.ip.String(), tcpEchoPort)
	if rep != socksRepSucceeded {
		t.Fatalf("SOCKS5 to C: got reply %d, want %d", rep, socksRepSucceeded)
	}
	echo(t, toC, []byte("hello C"))
}

func TestConfigureKeepsSessionsAndConnections(t *testing.T) {
	p := newPair(t)
	rep, conn := socksDial(t, p.socks, p.b.ip.String(), tcpEchoPort)
	if rep != socksRepSucceeded {
		t.Fatalf("got reply %d, want %d", rep, socksRepSucceeded)
	}
	echo(t, conn, []byte("before"))
	before, _ := peerState(t, p.a, p.b.pub)

	// Same SOCKS5 proxy, forwards dropped, an HTTP proxy on a new port, a
	// second address, another MTU.
	cfg := p.a.config(&hostapi.ProxyConfig{SOCKS5: netip.AddrPortFrom(loopback, 0), HTTP: netip.AddrPortFrom(netip.MustParseAddr("127.0.0.2"), 0)})
	cfg.Addresses = append(cfg.Addresses, netip.MustParsePrefix("100.64.1.1/32"))
	cfg.MTU = 1380
	if err := p.a.b.Configure(context.Background(), cfg); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	echo(t, conn, []byte("after"))
	after, _ := peerState(t, p.a, p.b.pub)
	if !after.LastHandshake.Equal(before.LastHandshake) {
		t.Errorf("got last handshake %v, want the unchanged %v", after.LastHandshake, before.LastHandshake)
	}
	if _, err := net.DialTimeout("tcp", p.fwdTCP, ioTimeout); err == nil {
		t.Errorf("the dropped TCP forward on %s still accepts connections", p.fwdTCP)
	}
	st, err := p.a.b.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(cfg.Addresses, st.Addresses, cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })); diff != "" {
		t.Errorf("addresses (-want +got):\n%s", diff)
	}
}

func TestRemovePeersCutsTrafficAtOnce(t *testing.T) {
	p := newPair(t)
	rep, conn := socksDial(t, p.socks, p.b.ip.String(), tcpEchoPort)
	if rep != socksRepSucceeded {
		t.Fatalf("got reply %d, want %d", rep, socksRepSucceeded)
	}
	echo(t, conn, []byte("before"))
	if err := p.b.b.RemovePeers(context.Background(), []hostapi.Key{p.a.pub}); err != nil {
		t.Fatalf("RemovePeers: %v", err)
	}
	if _, ok := peerState(t, p.b, p.a.pub); ok {
		t.Fatal("B still lists A")
	}
	_ = conn.SetDeadline(time.Now().Add(time.Second))
	if _, err := conn.Write([]byte("after")); err != nil {
		return // the proxy already gave up on the connection: cut
	}
	buf := make([]byte, 5)
	if n, err := io.ReadFull(conn, buf); err == nil {
		t.Errorf("got echo %q after B removed A, want no traffic", buf[:n])
	}
}

func TestInvalidInputChangesNothing(t *testing.T) {
	p := newPair(t)
	before, err := p.a.b.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	_, other := newKey(t)
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	configs := []struct {
		name string
		cfg  hostapi.InterfaceConfig
		want error
	}{
		{"SOCKS5 on a non-loopback address", p.a.config(&hostapi.ProxyConfig{SOCKS5: netip.MustParseAddrPort("0.0.0.0:1080")}), hostapi.ErrInvalidArgument},
		{"forward without target port", p.a.config(&hostapi.ProxyConfig{Forwards: []hostapi.Forward{{Proto: hostapi.ProtoTCP, Listen: netip.AddrPortFrom(loopback, 0), Target: netip.AddrPortFrom(p.b.ip, 0)}}}), hostapi.ErrInvalidArgument},
		{"expose on mesh port 0", p.a.config(&hostapi.ProxyConfig{Exposes: []hostapi.Expose{{Proto: hostapi.ProtoTCP, Target: p.web}}}), hostapi.ErrInvalidArgument},
		{"expose of ICMP", p.a.config(&hostapi.ProxyConfig{Exposes: []hostapi.Expose{{Proto: hostapi.ProtoICMP, MeshPort: 1, Target: p.web}}}), hostapi.ErrInvalidArgument},
		{"same mesh port exposed twice", p.a.config(&hostapi.ProxyConfig{Exposes: []hostapi.Expose{{Proto: hostapi.ProtoTCP, MeshPort: 1, Target: p.web}, {Proto: hostapi.ProtoTCP, MeshPort: 1, Target: p.tcpEcho}}}), hostapi.ErrInvalidArgument},
		{"unspecified DNS server", p.a.config(&hostapi.ProxyConfig{DNS: []netip.Addr{netip.IPv4Unspecified()}}), hostapi.ErrInvalidArgument},
		{"MTU too small", func() hostapi.InterfaceConfig { c := p.a.config(nil); c.MTU = 100; return c }(), hostapi.ErrInvalidArgument},
		{"invalid address", func() hostapi.InterfaceConfig { c := p.a.config(nil); c.Addresses = []netip.Prefix{{}}; return c }(), hostapi.ErrInvalidArgument},
		{"zero private key", hostapi.InterfaceConfig{}, hostapi.ErrInvalidArgument},
		{"UAPI", func() hostapi.InterfaceConfig { c := p.a.config(nil); c.UAPI = true; return c }(), hostapi.ErrUnsupported},
		{"gateway prefix with host bits", func() hostapi.InterfaceConfig {
			c := p.a.config(nil)
			c.Gateway = &hostapi.GatewayConfig{Prefixes: []netip.Prefix{netip.MustParsePrefix("10.1.2.3/16")}}
			return c
		}(), hostapi.ErrInvalidArgument},
		{"gateway prefix listed twice", func() hostapi.InterfaceConfig {
			c := p.a.config(nil)
			c.Gateway = &hostapi.GatewayConfig{Prefixes: []netip.Prefix{netip.MustParsePrefix("10.1.0.0/16"), netip.MustParsePrefix("10.1.0.0/16")}}
			return c
		}(), hostapi.ErrInvalidArgument},
		{"a forward on a port already taken", p.a.config(&hostapi.ProxyConfig{Forwards: []hostapi.Forward{{Proto: hostapi.ProtoTCP, Listen: netip.MustParseAddrPort(taken.Addr().String()), Target: p.b.mesh(webPort)}}}), hostapi.ErrUnavailable},
	}
	for _, tt := range configs {
		t.Run(tt.name, func(t *testing.T) {
			if err := p.a.b.Configure(context.Background(), tt.cfg); !errors.Is(err, tt.want) {
				t.Errorf("Configure: got %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("peer with another peer's allowed IP", func(t *testing.T) {
		bad := hostapi.PeerConfig{PublicKey: other, AllowedIPs: []netip.Prefix{netip.PrefixFrom(p.b.ip, 32)}}
		if err := p.a.b.ApplyPeers(context.Background(), hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{bad}}); !errors.Is(err, hostapi.ErrInvalidArgument) {
			t.Errorf("ApplyPeers: got %v, want %v", err, hostapi.ErrInvalidArgument)
		}
	})
	t.Run("routes and filters", func(t *testing.T) {
		// A valid removal beside an invalid addition: nothing changes.
		bad := hostapi.RouteChanges{Remove: []netip.Prefix{netip.PrefixFrom(p.b.ip, 32)}, Add: []netip.Prefix{netip.MustParsePrefix("10.1.2.3/16")}}
		if err := p.a.b.ApplyRoutes(context.Background(), bad); !errors.Is(err, hostapi.ErrInvalidArgument) {
			t.Errorf("ApplyRoutes with host bits: got %v, want %v", err, hostapi.ErrInvalidArgument)
		}
		badFilter := hostapi.Filter{Rules: []hostapi.FilterRule{{Src: []netip.Prefix{netip.MustParsePrefix("10.1.2.3/16")}, Dst: []netip.Prefix{netip.PrefixFrom(p.a.ip, 32)}}}}
		if err := p.a.b.SetFilter(context.Background(), badFilter); !errors.Is(err, hostapi.ErrInvalidArgument) {
			t.Errorf("SetFilter with host bits: got %v, want %v", err, hostapi.ErrInvalidArgument)
		}
	})

	after, err := p.a.b.State(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ignoreStats := cmp.Transformer("config", func(p hostapi.PeerState) hostapi.PeerState {
		return hostapi.PeerState{PublicKey: p.PublicKey, Endpoint: p.Endpoint, AllowedIPs: p.AllowedIPs, PersistentKeepalive: p.PersistentKeepalive}
	})
	if diff := cmp.Diff(before, after, ignoreStats, cmp.Comparer(func(x, y netip.Prefix) bool { return x == y }), cmp.Comparer(func(x, y netip.AddrPort) bool { return x == y })); diff != "" {
		t.Errorf("state changed by rejected input (-before +after):\n%s", diff)
	}
	// Every service still runs as before.
	rep, c := socksDial(t, p.socks, p.b.ip.String(), webPort)
	if rep != socksRepSucceeded {
		t.Fatalf("SOCKS5 after rejected input: got reply %d, want %d", rep, socksRepSucceeded)
	}
	if got := httpGet(t, c, "web"); got != helloBody {
		t.Errorf("got body %q, want %q", got, helloBody)
	}
	for _, addr := range []string{p.http, p.fwdTCP} {
		c, err := net.DialTimeout("tcp", addr, ioTimeout)
		if err != nil {
			t.Errorf("service on %s is gone after rejected input: %v", addr, err)
			continue
		}
		c.Close()
	}
}

func TestLifecycle(t *testing.T) {
	b := New(nil)
	ctx := context.Background()
	if err := b.Probe(ctx); err != nil {
		t.Errorf("Probe: %v", err)
	}
	info, err := b.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := hostapi.BackendInfo{Name: "netstack", Version: Version,
		Capabilities: hostapi.BackendCapPeerStats | hostapi.BackendCapProxy | hostapi.BackendCapRoutes | hostapi.BackendCapGateway | hostapi.BackendCapPacketFilter}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("Info (-want +got):\n%s", diff)
	}
	calls := map[string]func() error{
		"ApplyPeers":  func() error { return b.ApplyPeers(ctx, hostapi.PeerChanges{}) },
		"RemovePeers": func() error { return b.RemovePeers(ctx, nil) },
		"State":       func() error { _, err := b.State(ctx); return err },
		"ApplyRoutes": func() error { return b.ApplyRoutes(ctx, hostapi.RouteChanges{}) },
		"SetFilter":   func() error { return b.SetFilter(ctx, hostapi.Filter{}) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, hostapi.ErrClosed) {
			t.Errorf("%s before Configure: got %v, want %v", name, err, hostapi.ErrClosed)
		}
	}
	priv, _ := newKey(t)
	if err := b.Configure(ctx, hostapi.InterfaceConfig{PrivateKey: priv}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	st, err := b.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != defaultName || st.ListenPort == 0 {
		t.Errorf("got name %q port %d, want %q and a chosen port", st.Name, st.ListenPort, defaultName)
	}
	for i := 0; i < 2; i++ {
		if err := b.Close(ctx); err != nil {
			t.Errorf("Close #%d: %v", i+1, err)
		}
	}
	calls["Configure"] = func() error { return b.Configure(ctx, hostapi.InterfaceConfig{PrivateKey: priv}) }
	for name, call := range calls {
		if err := call(); !errors.Is(err, hostapi.ErrClosed) {
			t.Errorf("%s after Close: got %v, want %v", name, err, hostapi.ErrClosed)
		}
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Run("traffic", func(t *testing.T) {
		// Cleanup closes both backends, the host services and every
		// connection when the subtest ends, while relays are open.
		p := newPair(t)
		rep, c := socksDial(t, p.socks, p.b.ip.String(), tcpEchoPort)
		if rep != socksRepSucceeded {
			t.Fatalf("got reply %d, want %d", rep, socksRepSucceeded)
		}
		echo(t, c, []byte("open relay"))
		u, err := net.Dial("udp", p.fwdUDP)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { u.Close() })
		udpRoundTrip(t, u, []byte("open UDP session"))
	})
	goleak.VerifyNone(t, ignore)
}

// echo sends msg over c and expects it back.
func echo(tb testing.TB, c net.Conn, msg []byte) {
	tb.Helper()
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	errc := make(chan error, 1)
	go func() {
		_, err := c.Write(msg)
		errc <- err
	}()
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		tb.Fatalf("read echo: %v", err)
	}
	if err := <-errc; err != nil {
		tb.Fatalf("write: %v", err)
	}
	if !bytes.Equal(got, msg) {
		tb.Fatalf("got echo of %d bytes differing from the %d sent", len(got), len(msg))
	}
}

// udpRoundTrip sends msg on c and expects it back.
func udpRoundTrip(tb testing.TB, c net.Conn, msg []byte) {
	tb.Helper()
	if got := udpRoundTripRaw(tb, c, msg); !bytes.Equal(got, msg) {
		tb.Errorf("got %q, want %q", got, msg)
	}
}

// udpRoundTripRaw sends msg on c until a datagram comes back (UDP may lose
// the first ones while the handshake runs) and returns it.
func udpRoundTripRaw(tb testing.TB, c net.Conn, msg []byte) []byte {
	tb.Helper()
	deadline := time.Now().Add(ioTimeout)
	buf := make([]byte, maxDatagram)
	for time.Now().Before(deadline) {
		if _, err := c.Write(msg); err != nil {
			tb.Fatalf("send: %v", err)
		}
		_ = c.SetReadDeadline(time.Now().Add(500 * time.Millisecond))
		n, err := c.Read(buf)
		if err == nil {
			return buf[:n]
		}
		if !isTimeout(err) {
			tb.Fatalf("receive: %v", err)
		}
	}
	tb.Fatalf("no reply within %v", ioTimeout)
	return nil
}

func TestProxyProtocolErrors(t *testing.T) {
	any := netip.AddrPortFrom(loopback, 0)
	n := newTestNode(t, "100.64.0.1", &hostapi.ProxyConfig{SOCKS5: any, HTTP: any})
	socks := serviceAddr(t, n, "socks5 127.0.0.1:0")
	httpProxy := serviceAddr(t, n, "http 127.0.0.1:0")

	exchange := func(t *testing.T, addr string, req []byte, n int) []byte {
		t.Helper()
		c, err := net.DialTimeout("tcp", addr, ioTimeout)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(ioTimeout))
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, n)
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatalf("read reply: %v", err)
		}
		return got
	}
	socksTests := []struct {
		name string
		req  []byte
		want []byte // method reply, then the request reply up to REP
	}{
		{"only username/password offered", []byte{5, 1, 2}, []byte{5, 0xff}},
		{"BIND", []byte{5, 1, 0, 5, 2, 0, 1, 100, 64, 0, 2, 0, 80}, []byte{5, 0, 5, socksRepCommandNotSupported}},
		{"unknown address type", []byte{5, 1, 0, 5, 1, 0, 7, 100, 64, 0, 2, 0, 80}, []byte{5, 0, 5, socksRepAddrNotSupported}},
	}
	for _, tt := range socksTests {
		t.Run("SOCKS5 "+tt.name, func(t *testing.T) {
			if got := exchange(t, socks, tt.req, len(tt.want)); !bytes.Equal(got, tt.want) {
				t.Errorf("got % x, want % x", got, tt.want)
			}
		})
	}
	httpTests := []struct {
		name string
		req  string
		want int
	}{
		{"GET of a path, not a URI", "GET / HTTP/1.1\r\nHost: 100.64.0.2\r\n\r\n", http.StatusBadRequest},
		{"GET of an https URI", "GET https://100.64.0.2/ HTTP/1.1\r\nHost: 100.64.0.2\r\n\r\n", http.StatusBadRequest},
		{"GET without a route", "GET http://100.64.0.2/ HTTP/1.1\r\nHost: 100.64.0.2\r\n\r\n", http.StatusBadGateway},
		{"GET of a name without mesh DNS", "GET http://web.mesh/ HTTP/1.1\r\nHost: web.mesh\r\n\r\n", http.StatusBadGateway},
		{"CONNECT without port", "CONNECT 100.64.0.2 HTTP/1.1\r\nHost: 100.64.0.2\r\n\r\n", http.StatusBadRequest},
		{"CONNECT to a name without mesh DNS", "CONNECT web.mesh:80 HTTP/1.1\r\nHost: web.mesh:80\r\n\r\n", http.StatusBadGateway},
		{"garbage", "\x00\x01\x02\r\n\r\n", http.StatusBadRequest},
	}
	for _, tt := range httpTests {
		t.Run("HTTP "+tt.name, func(t *testing.T) {
			c, err := net.DialTimeout("tcp", httpProxy, ioTimeout)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(ioTimeout))
			if _, err := io.WriteString(c, tt.req); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(newByteReader(c), nil)
			if err != nil {
				t.Fatalf("read response: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("got status %d, want %d", resp.StatusCode, tt.want)
			}
		})
	}
}
