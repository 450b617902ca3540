package netstack

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/poll"
)

// Hostile input on every host listener of the proxy set: floods,
// slowloris, oversized headers and malformed framing. Bounds are asserted
// by counting (a service's open connections and sessions) and by the bytes
// the process allocated, never by timing: deadlines here only keep a
// failing test from hanging.

// withProxyLimits gives the node's listeners these limits.
func withProxyLimits(l proxyLimits) nodeOption {
	return func(n *testNode) { n.b.limits = l }
}

// serviceOf returns n's running service with key.
func serviceOf(tb testing.TB, n *testNode, key string) *service {
	tb.Helper()
	n.b.mu.Lock()
	defer n.b.mu.Unlock()
	r, ok := n.b.proxies.running[key]
	if !ok {
		tb.Fatalf("no service %q", key)
	}
	return r.svc
}

// smallLimits admit 8 connections per listener; the header deadline is
// long enough never to fire in a test that does not wait for it.
var smallLimits = proxyLimits{conns: 8, headerBytes: defaultProxyLimits.headerBytes, headerTimeout: time.Hour}

// hostileMesh is A, with every host listener under limits, and B, whose
// TCP echo A's proxies and forwards reach.
type hostileMesh struct {
	a, b               *testNode
	target             netip.AddrPort // B's TCP echo in the mesh
	udpTarget          netip.AddrPort // B's UDP echo in the mesh
	socks, http        string
	fwdTCP, fwdUDP     string
	socksKey, httpKey  string
	fwdTCPKey, fwdUDPK string
}

func newHostileMesh(t *testing.T, limits proxyLimits) *hostileMesh {
	t.Helper()
	h := &hostileMesh{}
	h.b = newTestNode(t, "100.64.0.2", &hostapi.ProxyConfig{Exposes: []hostapi.Expose{
		{Proto: hostapi.ProtoTCP, MeshPort: tcpEchoPort, Target: startTCPEcho(t)},
		{Proto: hostapi.ProtoUDP, MeshPort: udpEchoPort, Target: startUDPEcho(t)},
	}})
	h.target, h.udpTarget = h.b.mesh(tcpEchoPort), h.b.mesh(udpEchoPort)
	loop := netip.AddrPortFrom(loopback, 0)
	h.a = newTestNode(t, "100.64.0.1", &hostapi.ProxyConfig{SOCKS5: loop, HTTP: loop, Forwards: []hostapi.Forward{
		{Proto: hostapi.ProtoTCP, Listen: loop, Target: h.target},
		{Proto: hostapi.ProtoUDP, Listen: loop, Target: h.udpTarget},
	}}, withProxyLimits(limits))
	connect(t, h.a, h.b)
	h.socksKey, h.httpKey = "socks5 127.0.0.1:0", "http 127.0.0.1:0"
	h.fwdTCPKey = fmt.Sprintf("forward tcp 127.0.0.1:0->%s", h.target)
	h.fwdUDPK = fmt.Sprintf("forward udp 127.0.0.1:0->%s", h.udpTarget)
	h.socks, h.http = serviceAddr(t, h.a, h.socksKey), serviceAddr(t, h.a, h.httpKey)
	h.fwdTCP, h.fwdUDP = serviceAddr(t, h.a, h.fwdTCPKey), serviceAddr(t, h.a, h.fwdUDPK)
	return h
}

// dialHost opens a TCP connection to addr on the host, closed at cleanup.
func dialHost(tb testing.TB, addr string) net.Conn {
	tb.Helper()
	c, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { c.Close() })
	return c
}

// waitStats polls svc's counts until ok holds, checking on every poll
// that no more than limit connections are open at once.
func waitStats(tb testing.TB, svc *service, limit int, what string, ok func(serviceStats) bool) serviceStats {
	tb.Helper()
	var st serviceStats
	most := 0
	err := poll.Until(ioTimeout, 20*time.Millisecond, func() bool {
		st = svc.stats()
		most = max(most, st.open)
		return ok(st)
	})
	if most > limit {
		tb.Errorf("%s: %d connections were open at once, want at most %d", svc.name, most, limit)
	}
	if err != nil {
		tb.Fatalf("%s: %s never happened (%v); last counts %+v", svc.name, what, err, st)
	}
	return st
}

// TestHTTPHeaderFlood sends clients whose CONNECT request never ends (the
// probe that took the backend from 60 MB to 707 MB): each is answered 431
// or cut off after at most the header limit, and the whole flood costs the
// process a small fraction of what it sends. The node has no peers, so
// that wireguard-go allocates nothing meanwhile; its proxy reaches its own
// exposed port.
func TestHTTPHeaderFlood(t *testing.T) {
	loop := netip.AddrPortFrom(loopback, 0)
	n := newTestNode(t, "100.64.0.1", &hostapi.ProxyConfig{HTTP: loop, Exposes: []hostapi.Expose{
		{Proto: hostapi.ProtoTCP, MeshPort: tcpEchoPort, Target: startTCPEcho(t)},
	}})
	proxy, target := serviceAddr(t, n, "http 127.0.0.1:0"), n.mesh(tcpEchoPort)
	const (
		clients   = 10
		perClient = 16 << 20
		maxAlloc  = 32 << 20 // the flood is 160 MiB
	)
	line := []byte("X-Flood: " + strings.Repeat("a", 90) + "\r\n")
	chunk := bytes.Repeat(line, (64<<10)/len(line))
	oversizedLine := append([]byte("CONNECT "), bytes.Repeat([]byte("a"), 64<<10)...)
	floods := []struct {
		name  string
		first []byte
		rest  []byte // sent until perClient bytes or the server closes
	}{
		{"endless header lines", []byte(fmt.Sprintf("CONNECT %s HTTP/1.1\r\nHost: %s\r\n", target, target)), chunk},
		{"endless request line", []byte("CONNECT "), oversizedLine[8:]},
	}
	for _, f := range floods {
		t.Run(f.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			var wg sync.WaitGroup
			codes := make([]string, clients)
			for i := range clients {
				c := dialHost(t, proxy)
				_ = c.SetDeadline(time.Now().Add(ioTimeout))
				wg.Add(2)
				go func() {
					defer wg.Done()
					if _, err := c.Write(f.first); err != nil {
						return
					}
					for sent := len(f.first); sent < perClient; sent += len(f.rest) {
						if _, err := c.Write(f.rest); err != nil {
							return
						}
					}
				}()
				go func() {
					defer wg.Done()
					resp, err := http.ReadResponse(newByteReader(c), nil)
					switch {
					case err == nil:
						resp.Body.Close()
						codes[i] = resp.Status
					case isTimeout(err):
						codes[i] = "no answer within " + ioTimeout.String()
					default:
						codes[i] = "cut off" // a reset: the proxy stopped reading
					}
					c.Close() // ends the writer
				}()
			}
			wg.Wait()
			runtime.ReadMemStats(&after)
			for i, got := range codes {
				if !strings.HasPrefix(got, "431") && got != "cut off" {
					t.Errorf("client %d: got %q, want 431 Request Header Fields Too Large or a reset", i, got)
				}
			}
			alloc := after.TotalAlloc - before.TotalAlloc
			t.Logf("answers %q; the process allocated %d KiB", codes, alloc>>10)
			if alloc > maxAlloc {
				t.Errorf("the flood (%d × %d MiB) made the process allocate %d MiB, want at most %d MiB",
					clients, perClient>>20, alloc>>20, maxAlloc>>20)
			}
		})
	}
	// Others are still served.
	code, body, c := httpConnect(t, proxy, target)
	if code != http.StatusOK {
		t.Fatalf("after the flood: got %d %q, want 200", code, body)
	}
	echo(t, c, []byte("served after the flood"))
}

// TestSlowloris fills a proxy with clients that never finish their request:
// no more than the limit are held at once, the oldest make room, and a
// client that sends its request is served.
func TestSlowloris(t *testing.T) {
	h := newHostileMesh(t, smallLimits)
	const slow = 12 // more than smallLimits.conns
	tests := []struct {
		name    string
		key     string
		addr    func() string
		partial []byte
		serve   func(t *testing.T) net.Conn
	}{
		{"SOCKS5", h.socksKey, func() string { return h.socks }, []byte{socksVersion}, func(t *testing.T) net.Conn {
			rep, c := socksDial(t, h.socks, h.target.Addr().String(), h.target.Port())
			if rep != socksRepSucceeded {
				t.Fatalf("well-behaved client: got reply %d, want %d", rep, socksRepSucceeded)
			}
			return c
		}},
		{"HTTP", h.httpKey, func() string { return h.http }, []byte("CONNECT 100.64.0.2:7 HTTP/1.1\r\nHost: 10"), func(t *testing.T) net.Conn {
			code, body, c := httpConnect(t, h.http, h.target)
			if code != http.StatusOK {
				t.Fatalf("well-behaved client: got %d %q, want 200", code, body)
			}
			return c
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := serviceOf(t, h.a, tt.key)
			for range slow {
				c := dialHost(t, tt.addr())
				if _, err := c.Write(tt.partial); err != nil {
					t.Fatal(err)
				}
			}
			st := waitStats(t, svc, smallLimits.conns, fmt.Sprintf("accepting all %d slow clients", slow), func(st serviceStats) bool {
				return st.accepted >= slow
			})
			if want := slow - smallLimits.conns; st.evicted < want {
				t.Errorf("evicted %d slow clients, want at least %d", st.evicted, want)
			}
			c := tt.serve(t)
			echo(t, c, []byte("served beside slow clients"))
			waitStats(t, svc, smallLimits.conns, "serving the well-behaved client", func(st serviceStats) bool {
				return st.accepted >= slow+1
			})
		})
	}
}

// TestHeaderDeadline checks that a client that sends nothing is closed at
// the header deadline.
func TestHeaderDeadline(t *testing.T) {
	limits := smallLimits
	limits.headerTimeout = 50 * time.Millisecond
	h := newHostileMesh(t, limits)
	for _, addr := range []string{h.socks, h.http} {
		c := dialHost(t, addr)
		if err := readClosed(c); err != nil {
			t.Errorf("a silent client of %s: %v, want it closed at the header deadline", addr, err)
		}
	}
}

// TestTCPForwardFlood opens more connections to a forward than its limit:
// those beyond it are reset, the others relay, and once they close a new
// client is served.
func TestTCPForwardFlood(t *testing.T) {
	h := newHostileMesh(t, smallLimits)
	svc := serviceOf(t, h.a, h.fwdTCPKey)
	const flood = 12
	conns := make([]net.Conn, flood)
	for i := range conns {
		// A refused connection may be reset before the dial returns.
		c, err := net.DialTimeout("tcp", h.fwdTCP, ioTimeout)
		switch {
		case errors.Is(err, syscall.ECONNRESET):
		case err != nil:
			t.Fatal(err)
		default:
			t.Cleanup(func() { c.Close() })
			conns[i] = c
		}
		// Accepted in order: the first ones hold the slots.
		waitStats(t, svc, smallLimits.conns, fmt.Sprintf("accepting connection %d", i+1), func(st serviceStats) bool {
			return st.accepted+st.refused >= i+1
		})
	}
	relayed := 0
	for _, c := range conns {
		if c != nil && tryEcho(c, []byte("flood")) == nil {
			relayed++
		}
	}
	if relayed != smallLimits.conns {
		t.Errorf("%d of %d connections relayed, want %d (the limit)", relayed, flood, smallLimits.conns)
	}
	for _, c := range conns {
		if c != nil {
			c.Close()
		}
	}
	waitStats(t, svc, smallLimits.conns, "closing the flood", func(st serviceStats) bool { return st.open == 0 })
	c := dialHost(t, h.fwdTCP)
	echo(t, c, []byte("served after the flood"))
}

// tryEcho is echo that reports failure instead of failing the test.
func tryEcho(c net.Conn, msg []byte) error {
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := c.Write(msg); err != nil {
		return err
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		return err
	}
	if !bytes.Equal(got, msg) {
		return errors.New("echo differs")
	}
	return nil
}

// TestUDPForwardFlood sends from more client sockets than a UDP forward
// has sessions: the sessions beyond the limit are not opened, and the
// clients that have one are still served.
func TestUDPForwardFlood(t *testing.T) {
	h := newHostileMesh(t, smallLimits)
	svc := serviceOf(t, h.a, h.fwdUDPK)
	var served []net.Conn
	for range smallLimits.conns {
		c, err := net.Dial("udp", h.fwdUDP)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		udpRoundTrip(t, c, []byte("session"))
		served = append(served, c)
	}
	const extra = 4
	for range extra {
		c, err := net.Dial("udp", h.fwdUDP)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := c.Write([]byte("one session too many")); err != nil {
			t.Fatal(err)
		}
	}
	waitStats(t, svc, smallLimits.conns, fmt.Sprintf("turning away %d sessions", extra), func(st serviceStats) bool {
		return st.refused >= extra
	})
	udpRoundTrip(t, served[0], []byte("still served"))
}

// TestSOCKS5MalformedFraming checks that malformed SOCKS5 framing ends the
// exchange, with a reply wherever the client has reached the request.
func TestSOCKS5MalformedFraming(t *testing.T) {
	h := newHostileMesh(t, smallLimits)
	tests := []struct {
		name string
		req  []byte
		want []byte // everything the proxy sends before it closes
	}{
		{"SOCKS4 greeting", []byte{4, 1, 0, 80, 100, 64, 0, 2, 0}, nil},
		{"no methods", []byte{5, 0}, nil},
		{"request version 4", []byte{5, 1, 0, 4, 1, 0, 1, 100, 64, 0, 2, 0, 7}, []byte{5, 0, 5, socksRepGeneralFailure, 0, 1, 0, 0, 0, 0, 0, 0}},
		{"empty domain name", []byte{5, 1, 0, 5, 1, 0, 3, 0, 0, 7}, []byte{5, 0, 5, socksRepGeneralFailure, 0, 1, 0, 0, 0, 0, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialHost(t, h.socks)
			_ = c.SetDeadline(time.Now().Add(ioTimeout))
			if _, err := c.Write(tt.req); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(c)
			if isTimeout(err) {
				t.Fatalf("no end within %v after % x", ioTimeout, got)
			}
			if !bytes.Equal(got, tt.want) {
				t.Errorf("got % x, want % x", got, tt.want)
			}
		})
	}
}
