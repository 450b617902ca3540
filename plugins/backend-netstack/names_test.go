package netstack

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
)

// namedPair is A, with a SOCKS5 proxy, an HTTP proxy and forwards by name,
// and B, which exposes a web server and a UDP echo; A knows B as "n2" in
// network "lab", and no DNS server.
type namedPair struct {
	a, b                *testNode
	cfg                 *hostapi.ProxyConfig // A's
	socks, http, fwdTCP string
	fwdUDP              string
}

var labHosts = []hostapi.Host{
	{Name: "n1", Addrs: []netip.Addr{netip.MustParseAddr("100.64.0.1")}},
	{Name: "n2", Addrs: []netip.Addr{netip.MustParseAddr("100.64.0.2")}},
}

func newNamedPair(t *testing.T) *namedPair {
	t.Helper()
	p := &namedPair{}
	p.b = newTestNode(t, "100.64.0.2", &hostapi.ProxyConfig{Exposes: []hostapi.Expose{
		{Proto: hostapi.ProtoTCP, MeshPort: webPort, Target: startWeb(t)},
		{Proto: hostapi.ProtoUDP, MeshPort: udpEchoPort, Target: startUDPEcho(t)},
	}})
	any := netip.AddrPortFrom(loopback, 0)
	fwdTCP := hostapi.Forward{Proto: hostapi.ProtoTCP, Listen: any, Target: netip.AddrPortFrom(netip.Addr{}, webPort), TargetHost: "N2.lab"}
	fwdUDP := hostapi.Forward{Proto: hostapi.ProtoUDP, Listen: any, Target: netip.AddrPortFrom(netip.Addr{}, udpEchoPort), TargetHost: "n2"}
	p.cfg = &hostapi.ProxyConfig{SOCKS5: any, HTTP: any, Forwards: []hostapi.Forward{fwdTCP, fwdUDP}, Hosts: labHosts, Domain: "lab"}
	p.a = newTestNode(t, "100.64.0.1", p.cfg)
	connect(t, p.a, p.b)
	p.socks, p.http = serviceAddr(t, p.a, "socks5 127.0.0.1:0"), serviceAddr(t, p.a, "http 127.0.0.1:0")
	p.fwdTCP, p.fwdUDP = serviceAddr(t, p.a, forwardKey(fwdTCP)), serviceAddr(t, p.a, forwardKey(fwdUDP))
	return p
}

func TestMeshNames(t *testing.T) {
	p := newNamedPair(t)
	for _, name := range []string{"n2", "N2", "n2.lab", "n2.LAB", "n2.lab."} {
		t.Run("SOCKS5 "+name, func(t *testing.T) {
			rep, c := socksDial(t, p.socks, name, webPort)
			if rep != socksRepSucceeded {
				t.Fatalf("got reply %d, want %d", rep, socksRepSucceeded)
			}
			if got := httpGet(t, c, name); got != helloBody {
				t.Errorf("got body %q, want %q", got, helloBody)
			}
		})
	}
	t.Run("HTTP proxy GET", func(t *testing.T) {
		resp, err := proxyClient(t, p.http, nil).Get("http://n2/")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if body, _ := io.ReadAll(resp.Body); string(body) != helloBody {
			t.Errorf("got %s %q, want %q", resp.Status, body, helloBody)
		}
	})
	t.Run("HTTP CONNECT", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", p.http, ioTimeout)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		fmt.Fprintf(c, "CONNECT n2.lab:%d HTTP/1.1\r\nHost: n2.lab:%d\r\n\r\n", webPort, webPort)
		resp, err := http.ReadResponse(newByteReader(c), &http.Request{Method: http.MethodConnect})
		if err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("CONNECT: %v %v, want 200", resp.Status, err)
		}
		if got := httpGet(t, c, "n2.lab"); got != helloBody {
			t.Errorf("got body %q, want %q", got, helloBody)
		}
	})
	t.Run("TCP forward", func(t *testing.T) {
		c := dialHost(t, p.fwdTCP)
		if got := httpGet(t, c, "n2"); got != helloBody {
			t.Errorf("got body %q, want %q", got, helloBody)
		}
	})
	t.Run("UDP forward", func(t *testing.T) {
		c, err := net.Dial("udp", p.fwdUDP)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		udpRoundTrip(t, c, []byte("to n2 by name"))
	})
	for _, name := range []string{"n9", "n9.lab", "n2.other", "lab"} {
		t.Run("unknown name "+name, func(t *testing.T) {
			if rep, _ := socksDial(t, p.socks, name, webPort); rep != socksRepHostUnreachable {
				t.Errorf("SOCKS5: got reply %d, want %d (host unreachable)", rep, socksRepHostUnreachable)
			}
			if code, _ := rawRequest(t, p.http, fmt.Sprintf("GET http://%s/ HTTP/1.1\r\nHost: %s\r\n\r\n", name, name)); code != http.StatusBadGateway {
				t.Errorf("HTTP: got %d, want %d", code, http.StatusBadGateway)
			}
		})
	}
	t.Run("a name gone from membership", func(t *testing.T) {
		p.cfg.Hosts = labHosts[:1]
		if err := p.a.b.Configure(t.Context(), p.a.config(p.cfg)); err != nil {
			t.Fatalf("Configure: %v", err)
		}
		if rep, _ := socksDial(t, p.socks, "n2", webPort); rep != socksRepHostUnreachable {
			t.Errorf("SOCKS5: got reply %d, want %d (host unreachable)", rep, socksRepHostUnreachable)
		}
		rep, c := socksDial(t, p.socks, "n1.lab", webPort)
		if c != nil {
			c.Close()
		}
		if rep != socksRepConnectionRefused {
			t.Errorf("SOCKS5 to n1.lab (A itself, nothing on port %d): got reply %d, want %d (refused)", webPort, rep, socksRepConnectionRefused)
		}
	})
}

func TestMeshNamesBeforeDNS(t *testing.T) {
	// B's DNS server says web.mesh is B; the names table says otherwise,
	// and wins.
	p := newPair(t)
	other := netip.MustParseAddr("100.64.0.7")
	cfg := &hostapi.ProxyConfig{SOCKS5: netip.AddrPortFrom(loopback, 0), DNS: []netip.Addr{p.b.ip},
		Hosts: []hostapi.Host{{Name: meshName, Addrs: []netip.Addr{other}}}}
	if err := p.a.b.Configure(t.Context(), p.a.config(cfg)); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	got, err := p.a.b.mesh.lookup(context.Background(), meshName)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]netip.Addr{other}, got, cmpAddrs); diff != "" {
		t.Errorf("lookup %s (-want +got):\n%s", meshName, diff)
	}
	// A name not in the table still goes to DNS.
	if _, err := p.a.b.mesh.lookup(context.Background(), "other.mesh"); !isNotFound(err) {
		t.Errorf("lookup other.mesh: got %v, want DNS's not found", err)
	}
}

var cmpAddrs = cmp.Comparer(func(a, b netip.Addr) bool { return a == b })

func isNotFound(err error) bool {
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr) && dnsErr.IsNotFound
}

func TestValidateProxyNamesAndAuth(t *testing.T) {
	addr := netip.MustParseAddr("100.64.0.2")
	public := netip.MustParseAddrPort("0.0.0.0:1080")
	auth := &hostapi.ProxyAuth{Username: "alice", Password: "pw"}
	tests := []struct {
		name string
		cfg  hostapi.ProxyConfig
		ok   bool
	}{
		{"non-loopback SOCKS5 without credentials", hostapi.ProxyConfig{SOCKS5: public}, false},
		{"non-loopback HTTP without credentials", hostapi.ProxyConfig{HTTP: public}, false},
		{"non-loopback SOCKS5 with credentials", hostapi.ProxyConfig{SOCKS5: public, Auth: auth}, true},
		{"empty password", hostapi.ProxyConfig{Auth: &hostapi.ProxyAuth{Username: "alice"}}, false},
		{"colon in username", hostapi.ProxyConfig{Auth: &hostapi.ProxyAuth{Username: "a:b", Password: "pw"}}, false},
		{"names", hostapi.ProxyConfig{Hosts: []hostapi.Host{{Name: "n2", Addrs: []netip.Addr{addr}}}, Domain: "lab"}, true},
		{"a name twice", hostapi.ProxyConfig{Hosts: []hostapi.Host{{Name: "n2", Addrs: []netip.Addr{addr}}, {Name: "N2", Addrs: []netip.Addr{addr}}}}, false},
		{"a name without address", hostapi.ProxyConfig{Hosts: []hostapi.Host{{Name: "n2"}}}, false},
		{"an address for a name", hostapi.ProxyConfig{Hosts: []hostapi.Host{{Name: "100.64.0.3", Addrs: []netip.Addr{addr}}}}, false},
		{"a name with a space", hostapi.ProxyConfig{Hosts: []hostapi.Host{{Name: "n 2", Addrs: []netip.Addr{addr}}}}, false},
		{"an unspecified address", hostapi.ProxyConfig{Hosts: []hostapi.Host{{Name: "n2", Addrs: []netip.Addr{netip.IPv4Unspecified()}}}}, false},
		{"a bad domain", hostapi.ProxyConfig{Domain: ".lab"}, false},
		{"a forward by name", hostapi.ProxyConfig{Forwards: []hostapi.Forward{{Proto: hostapi.ProtoTCP, Listen: netip.MustParseAddrPort("127.0.0.1:8080"), Target: netip.AddrPortFrom(netip.Addr{}, 80), TargetHost: "n2"}}}, true},
		{"a forward by name without port", hostapi.ProxyConfig{Forwards: []hostapi.Forward{{Proto: hostapi.ProtoTCP, Listen: netip.MustParseAddrPort("127.0.0.1:8080"), TargetHost: "n2"}}}, false},
		{"a forward by name and address", hostapi.ProxyConfig{Forwards: []hostapi.Forward{{Proto: hostapi.ProtoTCP, Listen: netip.MustParseAddrPort("127.0.0.1:8080"), Target: netip.AddrPortFrom(addr, 80), TargetHost: "n2"}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := validateProxy(tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("got %v, want ok: %v", err, tt.ok)
			}
			if err != nil && !errors.Is(err, hostapi.ErrInvalidArgument) {
				t.Errorf("got %v, want INVALID_ARGUMENT", err)
			}
		})
	}
}
