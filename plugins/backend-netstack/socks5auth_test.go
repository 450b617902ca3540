package netstack

import (
	"bytes"
	"io"
	"net/netip"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

func TestSOCKS5UsernamePassword(t *testing.T) {
	auth := &hostapi.ProxyAuth{Username: "alice", Password: "correct horse"}
	b := newTestNode(t, "100.64.0.2", &hostapi.ProxyConfig{Exposes: []hostapi.Expose{
		{Proto: hostapi.ProtoTCP, MeshPort: webPort, Target: startWeb(t)},
	}})
	a := newTestNode(t, "100.64.0.1", &hostapi.ProxyConfig{SOCKS5: netip.AddrPortFrom(loopback, 0), Auth: auth})
	connect(t, a, b)
	proxy := serviceAddr(t, a, "socks5 127.0.0.1:0"+a.b.proxies.tagger.tag(auth))
	web := b.mesh(webPort)

	t.Run("the right credentials", func(t *testing.T) {
		c, rep := socksRequestAs(t, proxy, auth, socksCmdConnect, web.Addr().String(), web.Port())
		defer c.Close()
		if rep != socksRepSucceeded {
			t.Fatalf("got reply %d, want %d", rep, socksRepSucceeded)
		}
		if got := httpGet(t, c, web.String()); got != helloBody {
			t.Errorf("got body %q, want %q", got, helloBody)
		}
	})
	tests := []struct {
		name string
		req  []byte
		want []byte // everything the proxy sends before it closes
	}{
		{"no authentication offered", []byte{5, 1, 0}, []byte{5, 0xff}},
		{"a wrong password", append([]byte{5, 1, 2}, userPassRequest("alice", "correct horsE")...), []byte{5, 2, 1, 1}},
		{"a wrong username", append([]byte{5, 1, 2}, userPassRequest("bob", "correct horse")...), []byte{5, 2, 1, 1}},
		{"empty credentials", append([]byte{5, 1, 2}, userPassRequest("", "")...), []byte{5, 2, 1, 1}},
		{"a prefix of the password", append([]byte{5, 1, 2}, userPassRequest("alice", "correct")...), []byte{5, 2, 1, 1}},
		{"subnegotiation version 5", append([]byte{5, 1, 2, 5}, userPassRequest("alice", "correct horse")[1:]...), []byte{5, 2}},
		{"both methods offered, wrong password", append([]byte{5, 2, 0, 2}, userPassRequest("alice", "x")...), []byte{5, 2, 1, 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialHost(t, proxy)
			_ = c.SetDeadline(time.Now().Add(ioTimeout))
			// A request follows, which a proxy that let the client in would
			// answer.
			req := append(append([]byte(nil), tt.req...), 5, socksCmdConnect, 0, 1, 100, 64, 0, 2, 0, webPort)
			if _, err := c.Write(req); err != nil {
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

// TestProxyCredentialsChange checks that new credentials restart the
// proxies: the old ones stop working, the new ones work.
func TestProxyCredentialsChange(t *testing.T) {
	b := newTestNode(t, "100.64.0.2", &hostapi.ProxyConfig{Exposes: []hostapi.Expose{
		{Proto: hostapi.ProtoTCP, MeshPort: webPort, Target: startWeb(t)},
	}})
	old := &hostapi.ProxyAuth{Username: "alice", Password: "one"}
	cfg := &hostapi.ProxyConfig{SOCKS5: netip.AddrPortFrom(loopback, 0), HTTP: netip.AddrPortFrom(loopback, 0), Auth: old}
	a := newTestNode(t, "100.64.0.1", cfg)
	connect(t, a, b)
	fresh := &hostapi.ProxyAuth{Username: "alice", Password: "two"}
	cfg.Auth = fresh
	if err := a.b.Configure(t.Context(), a.config(cfg)); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	tag := a.b.proxies.tagger.tag(fresh)
	socks, httpProxy := serviceAddr(t, a, "socks5 127.0.0.1:0"+tag), serviceAddr(t, a, "http 127.0.0.1:0"+tag)
	web := b.mesh(webPort)

	c := dialHost(t, socks)
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := c.Write(append([]byte{5, 1, 2}, userPassRequest(old.Username, old.Password)...)); err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(c); !bytes.Equal(got, []byte{5, 2, 1, 1}) {
		t.Errorf("SOCKS5 with the old credentials: got % x, want 05 02 01 01", got)
	}
	c, rep := socksRequestAs(t, socks, fresh, socksCmdConnect, web.Addr().String(), web.Port())
	c.Close()
	if rep != socksRepSucceeded {
		t.Errorf("SOCKS5 with the new credentials: got reply %d, want %d", rep, socksRepSucceeded)
	}
	for _, tt := range []struct {
		auth *hostapi.ProxyAuth
		want int
	}{{old, 407}, {fresh, 200}} {
		code, _ := rawRequest(t, httpProxy, "GET http://"+web.Addr().String()+"/ HTTP/1.1\r\nHost: x\r\n"+proxyAuthorization(tt.auth)+"\r\n")
		if code != tt.want {
			t.Errorf("HTTP with password %q: got %d, want %d", tt.auth.Password, code, tt.want)
		}
	}
}
