package netstack

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/net/dns/dnsmessage"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/echoserver"
)

// ioTimeout bounds every network operation in these tests.
const ioTimeout = 10 * time.Second

var loopback = netip.MustParseAddr("127.0.0.1")

func newKey(tb testing.TB) (hostapi.PrivateKey, hostapi.Key) {
	tb.Helper()
	var k hostapi.PrivateKey
	if _, err := rand.Read(k[:]); err != nil {
		tb.Fatal(err)
	}
	k[0] &= 248
	k[31] = (k[31] & 127) | 64
	pub, err := curve25519.X25519(k[:], curve25519.Basepoint)
	if err != nil {
		tb.Fatal(err)
	}
	return k, hostapi.Key(pub)
}

// testNode is one netstack backend with a real UDP socket.
type testNode struct {
	b       *Backend
	priv    hostapi.PrivateKey
	pub     hostapi.Key
	ip      netip.Addr
	ip6     netip.Addr // a second, IPv6 address, if set by withIPv6
	port    uint16
	gateway *hostapi.GatewayConfig // what config sets
}

// nodeOption adjusts a test node before its first Configure.
type nodeOption func(*testNode)

// withGateway makes the node a gateway for prefixes.
func withGateway(prefixes ...string) nodeOption {
	return func(n *testNode) {
		n.gateway = &hostapi.GatewayConfig{Prefixes: mustPrefixes(prefixes...)}
	}
}

// withDialTimeout bounds the node's dials into the mesh by d, so that a
// test can see a destination that does not answer without waiting for the
// default timeout.
func withDialTimeout(d time.Duration) nodeOption {
	return func(n *testNode) { n.b.dialTimeout = d }
}

// withIPv6 gives the node a second, IPv6, address.
func withIPv6(ip string) nodeOption {
	return func(n *testNode) { n.ip6 = netip.MustParseAddr(ip) }
}

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func newTestNode(tb testing.TB, ip string, proxy *hostapi.ProxyConfig, opts ...nodeOption) *testNode {
	tb.Helper()
	priv, pub := newKey(tb)
	n := &testNode{b: New(nil), priv: priv, pub: pub, ip: netip.MustParseAddr(ip)}
	for _, o := range opts {
		o(n)
	}
	tb.Cleanup(func() {
		if err := n.b.Close(context.Background()); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	if err := n.b.Configure(context.Background(), n.config(proxy)); err != nil {
		tb.Fatalf("Configure: %v", err)
	}
	st, err := n.b.State(context.Background())
	if err != nil {
		tb.Fatalf("State: %v", err)
	}
	n.port = st.ListenPort
	return n
}

func (n *testNode) config(proxy *hostapi.ProxyConfig) hostapi.InterfaceConfig {
	return hostapi.InterfaceConfig{
		PrivateKey: n.priv,
		Addresses:  n.addresses(),
		Proxy:      proxy,
		Gateway:    n.gateway,
	}
}

// addresses are n's host prefixes.
func (n *testNode) addresses() []netip.Prefix {
	out := []netip.Prefix{netip.PrefixFrom(n.ip, 32)}
	if n.ip6.IsValid() {
		out = append(out, netip.PrefixFrom(n.ip6, 128))
	}
	return out
}

// peer is how other nodes configure n: its addresses and extra allowed
// IPs.
func (n *testNode) peer(extra ...string) hostapi.PeerConfig {
	return hostapi.PeerConfig{
		PublicKey:  n.pub,
		Endpoint:   netip.AddrPortFrom(loopback, n.port),
		AllowedIPs: append(n.addresses(), mustPrefixes(extra...)...),
	}
}

func (n *testNode) mesh(port uint16) netip.AddrPort { return netip.AddrPortFrom(n.ip, port) }

// connect makes a and b peers of each other and routes each one's address
// into the other's stack, as the daemon does.
func connect(tb testing.TB, a, b *testNode) {
	tb.Helper()
	for _, p := range [][2]*testNode{{a, b}, {b, a}} {
		addPeer(tb, p[0], p[1].peer())
	}
}

// addPeer makes p a peer of n and routes its allowed IPs into n's stack.
func addPeer(tb testing.TB, n *testNode, p hostapi.PeerConfig) {
	tb.Helper()
	if err := n.b.ApplyPeers(context.Background(), hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p}}); err != nil {
		tb.Fatalf("ApplyPeers: %v", err)
	}
	if err := n.b.ApplyRoutes(context.Background(), hostapi.RouteChanges{Add: p.AllowedIPs}); err != nil {
		tb.Fatalf("ApplyRoutes: %v", err)
	}
}

// peerState returns n's view of peer k.
func peerState(tb testing.TB, n *testNode, k hostapi.Key) (hostapi.PeerState, bool) {
	tb.Helper()
	st, err := n.b.State(context.Background())
	if err != nil {
		tb.Fatalf("State: %v", err)
	}
	for _, p := range st.Peers {
		if p.PublicKey == k {
			return p, true
		}
	}
	return hostapi.PeerState{}, false
}

// serviceAddr returns where n's service with key listens on the host.
func serviceAddr(tb testing.TB, n *testNode, key string) string {
	tb.Helper()
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	addr, ok := n.b.proxies.addr(key)
	if !ok {
		tb.Fatalf("no service %q", key)
	}
	return addr
}

const helloBody = "hello from the mesh"

// startWeb serves helloBody over HTTP on the host's loopback.
func startWeb(tb testing.TB) netip.AddrPort {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, helloBody)
	}))
	tb.Cleanup(srv.Close)
	return netip.MustParseAddrPort(srv.Listener.Addr().String())
}

// startUDPEcho echoes UDP datagrams on the host's loopback.
func startUDPEcho(tb testing.TB) netip.AddrPort {
	tb.Helper()
	return startUDPEchoOn(tb, "127.0.0.1:0")
}

// startUDPEchoOn echoes UDP datagrams on addr (package echoserver) until tb
// ends.
func startUDPEchoOn(tb testing.TB, addr string) netip.AddrPort {
	tb.Helper()
	pc, err := net.ListenPacket("udp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	u := echoserver.ServeUDP(pc)
	tb.Cleanup(func() { u.Close() })
	return u.Addr()
}

// startTCPEcho echoes TCP streams on the host's loopback.
func startTCPEcho(tb testing.TB) netip.AddrPort {
	tb.Helper()
	return startTCPEchoOn(tb, "127.0.0.1:0").Addr()
}

// startTCPEchoOn echoes TCP streams on addr (package echoserver: at the end of a
// client's stream it ends its own, so a half-close travels both ways)
// until tb ends.
func startTCPEchoOn(tb testing.TB, addr string) *echoserver.TCP {
	tb.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	s := echoserver.ServeTCP(ln, nil)
	tb.Cleanup(func() { s.Close() })
	return s
}

// unusedPort returns a TCP port on addr where nothing listens (one that was
// just free).
func unusedPort(tb testing.TB, addr netip.Addr) uint16 {
	tb.Helper()
	ln, err := net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
	if err != nil {
		tb.Fatal(err)
	}
	defer ln.Close()
	return netip.MustParseAddrPort(ln.Addr().String()).Port()
}

// startDNS answers A queries for name with addr on the host's loopback, and
// every other query with no answer.
func startDNS(tb testing.TB, name string, addr netip.Addr) netip.AddrPort {
	tb.Helper()
	pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(loopback, 0)))
	if err != nil {
		tb.Fatal(err)
	}
	done := make(chan struct{})
	tb.Cleanup(func() {
		pc.Close()
		<-done
	})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFromUDPAddrPort(buf)
			if err != nil {
				return
			}
			var msg dnsmessage.Message
			if err := msg.Unpack(buf[:n]); err != nil || len(msg.Questions) != 1 {
				continue
			}
			q := msg.Questions[0]
			msg.Header.Response, msg.Header.Authoritative = true, true
			if q.Name.String() == name && q.Type == dnsmessage.TypeA {
				msg.Answers = []dnsmessage.Resource{{
					Header: dnsmessage.ResourceHeader{Name: q.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: 60},
					Body:   &dnsmessage.AResource{A: addr.As4()},
				}}
			} else if q.Name.String() != name {
				msg.Header.RCode = dnsmessage.RCodeNameError
			}
			out, err := msg.Pack()
			if err != nil {
				continue
			}
			_, _ = pc.WriteToUDPAddrPort(out, from)
		}
	}()
	return netip.MustParseAddrPort(pc.LocalAddr().String())
}

// socksDial does a SOCKS5 CONNECT through proxy to host:port and returns
// the reply code and, on success, the connection.
func socksDial(tb testing.TB, proxy, host string, port uint16) (byte, net.Conn) {
	tb.Helper()
	c, rep := socksRequest(tb, proxy, socksCmdConnect, host, port)
	if rep != socksRepSucceeded {
		c.Close()
		return rep, nil
	}
	tb.Cleanup(func() { c.Close() })
	return rep, c
}

// httpConnect sends an HTTP CONNECT to target through proxy and returns
// the response and, on 200, the connection; the body of any other response
// is read into the returned string.
func httpConnect(tb testing.TB, proxy string, target netip.AddrPort) (int, string, net.Conn) {
	tb.Helper()
	c, err := net.DialTimeout("tcp", proxy, ioTimeout)
	if err != nil {
		tb.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\n\r\n", target, target)
	resp, err := http.ReadResponse(newByteReader(c), &http.Request{Method: http.MethodConnect})
	if err != nil {
		c.Close()
		tb.Fatalf("read CONNECT response: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		c.Close()
		return resp.StatusCode, string(body), nil
	}
	_ = c.SetDeadline(time.Time{})
	tb.Cleanup(func() { c.Close() })
	return resp.StatusCode, "", c
}

// socksRequest sends a SOCKS5 request, written out byte by byte as RFC 1928
// gives it, and reads the reply header and bound address.
func socksRequest(tb testing.TB, proxy string, cmd byte, host string, port uint16) (net.Conn, byte) {
	tb.Helper()
	return socksRequestAs(tb, proxy, nil, cmd, host, port)
}

// socksRequestAs is socksRequest that, with auth, authenticates with
// username and password (RFC 1929) first; credentials refused fail the
// test.
func socksRequestAs(tb testing.TB, proxy string, auth *hostapi.ProxyAuth, cmd byte, host string, port uint16) (net.Conn, byte) {
	tb.Helper()
	c, err := net.DialTimeout("tcp", proxy, ioTimeout)
	if err != nil {
		tb.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	greeting, wantMethod := []byte{5, 1, 0}, []byte{5, 0}
	if auth != nil {
		greeting, wantMethod = []byte{5, 1, 2}, []byte{5, 2}
	}
	exchange := func(req, want []byte, what string) {
		tb.Helper()
		if _, err := c.Write(req); err != nil {
			tb.Fatal(err)
		}
		got := make([]byte, len(want))
		if _, err := io.ReadFull(c, got); err != nil {
			tb.Fatalf("SOCKS5 %s: %v", what, err)
		}
		if !bytes.Equal(got, want) {
			tb.Fatalf("got SOCKS5 %s % x, want % x", what, got, want)
		}
	}
	exchange(greeting, wantMethod, "method reply")
	if auth != nil {
		exchange(userPassRequest(auth.Username, auth.Password), []byte{1, 0}, "authentication reply")
	}
	req := []byte{5, cmd, 0}
	if a, err := netip.ParseAddr(host); err == nil && a.Is4() {
		req = append(req, 1)
		req = append(req, a.AsSlice()...)
	} else if err == nil {
		req = append(req, 4)
		req = append(req, a.AsSlice()...)
	} else {
		req = append(req, 3, byte(len(host)))
		req = append(req, host...)
	}
	req = binary.BigEndian.AppendUint16(req, port)
	if _, err := c.Write(req); err != nil {
		tb.Fatal(err)
	}
	var resp [4 + 4 + 2]byte // VER REP RSV ATYP(IPv4) ADDR PORT
	if _, err := io.ReadFull(c, resp[:4]); err != nil {
		tb.Fatalf("SOCKS5 reply: %v", err)
	}
	rep := resp[1]
	switch resp[3] {
	case 1:
		_, err = io.ReadFull(c, resp[4:])
	case 4:
		_, err = io.ReadFull(c, make([]byte, 16+2))
	default:
		tb.Fatalf("got reply address type %d", resp[3])
	}
	if err != nil {
		tb.Fatalf("SOCKS5 reply address: %v", err)
	}
	_ = c.SetDeadline(time.Time{})
	if resp[3] == 1 {
		bnd := netip.AddrPortFrom(netip.AddrFrom4([4]byte(resp[4:8])), binary.BigEndian.Uint16(resp[8:10]))
		c = &boundConn{Conn: c, bound: bnd}
	}
	return c, rep
}

// userPassRequest is an RFC 1929 username/password request.
func userPassRequest(user, pass string) []byte {
	b := append([]byte{1, byte(len(user))}, user...)
	b = append(b, byte(len(pass)))
	return append(b, pass...)
}

// boundConn carries the BND address of a SOCKS5 reply.
type boundConn struct {
	net.Conn
	bound netip.AddrPort
}

// httpGet fetches path over an established byte stream to an HTTP server.
func httpGet(tb testing.TB, c net.Conn, host string) string {
	tb.Helper()
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := fmt.Fprintf(c, "GET / HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", host); err != nil {
		tb.Fatalf("send request: %v", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		tb.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatalf("read body: %v", err)
	}
	return string(body)
}

// newByteReader reads c one byte at a time, so that reading an HTTP
// response header leaves the rest of the stream in c.
func newByteReader(c net.Conn) *bufio.Reader { return bufio.NewReaderSize(oneByte{c}, 16) }

type oneByte struct{ r io.Reader }

func (o oneByte) Read(p []byte) (int, error) { return o.r.Read(p[:1]) }
