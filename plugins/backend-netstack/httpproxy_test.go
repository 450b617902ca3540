package netstack

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rustynet/rustynet/hostapi"
)

// received is what the inspector saw of a request.
type received struct {
	Method string
	URI    string
	Host   string
	Header http.Header
	Body   []byte // a POST's, or its SHA-256 if larger than 1 KiB
}

// startInspector serves HTTP on the host's loopback and answers every
// request with what it received (JSON), with hop-by-hop headers of its
// own that a proxy must not pass on (Keep-Alive, Proxy-Authenticate)
// beside one it must (X-Kept). (A header a response names in Connection
// cannot be tested here: the proxy asks for Connection: close, and
// net/http drops a response's whole Connection header when it holds
// close.)
func startInspector(tb testing.TB) netip.AddrPort {
	tb.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if len(body) > 1<<10 {
			sum := sha256.Sum256(body)
			body = sum[:]
		}
		h := w.Header()
		h.Set("Keep-Alive", "timeout=5")
		h.Set("Proxy-Authenticate", `Basic realm="upstream"`)
		h.Set("X-Kept", "passes")
		_ = json.NewEncoder(w).Encode(received{Method: r.Method, URI: r.RequestURI, Host: r.Host, Header: r.Header, Body: body})
	}))
	tb.Cleanup(srv.Close)
	return netip.MustParseAddrPort(srv.Listener.Addr().String())
}

// proxyClient is an HTTP client that sends every request through the
// HTTP proxy at proxy, with auth's credentials if set.
func proxyClient(tb testing.TB, proxy string, auth *hostapi.ProxyAuth) *http.Client {
	tb.Helper()
	u := &url.URL{Scheme: "http", Host: proxy}
	if auth != nil {
		u.User = url.UserPassword(auth.Username, auth.Password)
	}
	tr := &http.Transport{Proxy: http.ProxyURL(u)}
	tb.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Timeout: ioTimeout, Transport: tr}
}

// inspect sends req through client and decodes what the inspector
// received; it returns the response too.
func inspect(tb testing.TB, client *http.Client, req *http.Request) (*http.Response, received) {
	tb.Helper()
	resp, err := client.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		tb.Fatalf("%s %s: got %s %q, want 200", req.Method, req.URL, resp.Status, body)
	}
	var got received
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		tb.Fatalf("%s %s: decode: %v", req.Method, req.URL, err)
	}
	return resp, got
}

// inspectorPair is A, with an HTTP proxy (and credentials, if given), and
// B, which exposes the inspector at webPort.
func inspectorPair(t *testing.T, auth *hostapi.ProxyAuth) (a, b *testNode, proxy string) {
	t.Helper()
	b = newTestNode(t, "100.64.0.2", &hostapi.ProxyConfig{Exposes: []hostapi.Expose{
		{Proto: hostapi.ProtoTCP, MeshPort: webPort, Target: startInspector(t)},
	}})
	a = newTestNode(t, "100.64.0.1", &hostapi.ProxyConfig{HTTP: netip.AddrPortFrom(loopback, 0), Auth: auth})
	connect(t, a, b)
	return a, b, serviceAddr(t, a, "http 127.0.0.1:0"+a.b.proxies.tagger.tag(auth))
}

func TestHTTPProxyPlainRequests(t *testing.T) {
	_, b, proxy := inspectorPair(t, nil)
	client := proxyClient(t, proxy, nil)
	web := "http://" + b.mesh(webPort).Addr().String()

	t.Run("GET", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, web+"/some/path?q=1", nil)
		resp, got := inspect(t, client, req)
		want := received{Method: http.MethodGet, URI: "/some/path?q=1", Host: b.ip.String()}
		if diff := cmp.Diff(want, got, cmpIgnoreHeader, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("the server in the mesh received (-want +got):\n%s", diff)
		}
		if v := resp.Header.Get("Via"); v != "1.1 rustynet" {
			t.Errorf("response Via %q, want %q", v, "1.1 rustynet")
		}
		if v := got.Header.Get("Via"); v != "1.1 rustynet" {
			t.Errorf("request Via %q, want %q", v, "1.1 rustynet")
		}
	})
	t.Run("POST streams a large body both ways", func(t *testing.T) {
		body := make([]byte, 4<<20)
		_, _ = rand.Read(body)
		req, _ := http.NewRequest(http.MethodPost, web+"/upload", bytes.NewReader(body))
		_, got := inspect(t, client, req)
		sum := sha256.Sum256(body)
		if got.Method != http.MethodPost || !bytes.Equal(got.Body, sum[:]) {
			t.Errorf("the server in the mesh received %s with body digest %x, want POST with %x", got.Method, got.Body, sum)
		}
	})
	t.Run("chunked POST", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, web+"/", io.MultiReader(strings.NewReader("part one, "), strings.NewReader("part two")))
		req.ContentLength = -1
		_, got := inspect(t, client, req)
		if string(got.Body) != "part one, part two" {
			t.Errorf("the server in the mesh received body %q, want %q", got.Body, "part one, part two")
		}
	})
	t.Run("keep-alive", func(t *testing.T) {
		client := proxyClient(t, proxy, nil)
		var reused []bool
		for range 2 {
			req, _ := http.NewRequest(http.MethodGet, web+"/", nil)
			req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
				GotConn: func(info httptrace.GotConnInfo) { reused = append(reused, info.Reused) },
			}))
			inspect(t, client, req)
		}
		if diff := cmp.Diff([]bool{false, true}, reused); diff != "" {
			t.Errorf("connections to the proxy reused (-want +got):\n%s", diff)
		}
	})
}

// cmpIgnoreHeader leaves headers to the tests that look at them.
var cmpIgnoreHeader = cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Header" }, cmp.Ignore())

func TestHTTPProxyStripsHopByHopHeaders(t *testing.T) {
	_, b, proxy := inspectorPair(t, nil)
	c := dialHost(t, proxy)
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	web := b.mesh(webPort).Addr()
	fmt.Fprintf(c, "GET http://%s/ HTTP/1.1\r\nHost: %s\r\n"+
		"Connection: keep-alive, X-Hop\r\nX-Hop: must not pass\r\nKeep-Alive: timeout=5\r\n"+
		"Proxy-Connection: keep-alive\r\nProxy-Authorization: Basic dTpw\r\nTE: gzip\r\nUpgrade: h2c\r\n"+
		"X-End-To-End: passes\r\n\r\n", web, web)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	var got received
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatalf("%s: decode: %v", resp.Status, err)
	}
	for _, h := range []string{"X-Hop", "Keep-Alive", "Proxy-Connection", "Proxy-Authorization", "Te", "Upgrade"} {
		if v, ok := got.Header[h]; ok {
			t.Errorf("the server in the mesh received %s: %q, want it stripped", h, v)
		}
	}
	if v := got.Header.Get("Connection"); v != "close" {
		t.Errorf("the server in the mesh received Connection: %q, want only the proxy's own %q", v, "close")
	}
	if v := got.Header.Get("X-End-To-End"); v != "passes" {
		t.Errorf("the server in the mesh received X-End-To-End: %q, want %q", v, "passes")
	}
	for _, h := range []string{"Keep-Alive", "Proxy-Authenticate"} {
		if v, ok := resp.Header[h]; ok {
			t.Errorf("the client received %s: %q, want it stripped", h, v)
		}
	}
	if v := resp.Header.Get("X-Kept"); v != "passes" {
		t.Errorf("the client received X-Kept: %q, want %q", v, "passes")
	}
}

// rawRequest writes req to the proxy at addr on a connection of its own
// and returns the response's status code and Proxy-Authenticate.
func rawRequest(tb testing.TB, addr, req string) (int, string) {
	tb.Helper()
	c := dialHost(tb, addr)
	_ = c.SetDeadline(time.Now().Add(ioTimeout))
	if _, err := io.WriteString(c, req); err != nil {
		tb.Fatal(err)
	}
	resp, err := http.ReadResponse(newByteReader(c), &http.Request{Method: strings.Fields(req)[0]})
	if err != nil {
		tb.Fatalf("read response: %v", err)
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Proxy-Authenticate")
}

func TestHTTPProxyAuth(t *testing.T) {
	auth := &hostapi.ProxyAuth{Username: "alice", Password: "correct horse"}
	_, b, proxy := inspectorPair(t, auth)
	web := b.mesh(webPort)
	basic := func(user, pass string) string {
		return proxyAuthorization(&hostapi.ProxyAuth{Username: user, Password: pass})
	}
	tests := []struct {
		name   string
		method string
		header string
		want   int
	}{
		{"GET without credentials", "GET", "", http.StatusProxyAuthRequired},
		{"GET with a wrong password", "GET", basic("alice", "wrong"), http.StatusProxyAuthRequired},
		{"GET with a wrong username", "GET", basic("bob", "correct horse"), http.StatusProxyAuthRequired},
		{"GET with the password as username", "GET", basic("correct horse", "alice"), http.StatusProxyAuthRequired},
		{"GET with credentials in Authorization", "GET", strings.Replace(basic("alice", "correct horse"), "Proxy-", "", 1), http.StatusProxyAuthRequired},
		{"GET with another scheme", "GET", "Proxy-Authorization: Bearer YWxpY2U6Y29ycmVjdCBob3JzZQ==\r\n", http.StatusProxyAuthRequired},
		{"GET with the right credentials", "GET", basic("alice", "correct horse"), http.StatusOK},
		{"CONNECT without credentials", "CONNECT", "", http.StatusProxyAuthRequired},
		{"CONNECT with a wrong password", "CONNECT", basic("alice", "correct horsE"), http.StatusProxyAuthRequired},
		{"CONNECT with the right credentials", "CONNECT", basic("alice", "correct horse"), http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := "http://" + web.Addr().String() + "/"
			if tt.method == "CONNECT" {
				target = web.String()
			}
			code, challenge := rawRequest(t, proxy, fmt.Sprintf("%s %s HTTP/1.1\r\nHost: %s\r\n%s\r\n", tt.method, target, web, tt.header))
			if code != tt.want {
				t.Errorf("got %d, want %d", code, tt.want)
			}
			if want := proxyAuthRealm; code == http.StatusProxyAuthRequired && challenge != want {
				t.Errorf("got Proxy-Authenticate %q, want %q", challenge, want)
			}
		})
	}
	t.Run("the credentials do not reach the mesh", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, "http://"+web.Addr().String()+"/", nil)
		_, got := inspect(t, proxyClient(t, proxy, auth), req)
		if v, ok := got.Header["Proxy-Authorization"]; ok {
			t.Errorf("the server in the mesh received Proxy-Authorization %q", v)
		}
	})
}

func TestHTTPProxyBadGateway(t *testing.T) {
	p := newPair(t)
	tests := []struct {
		name   string
		target string
		want   int
	}{
		{"a closed port", p.b.mesh(closedPort).String(), http.StatusBadGateway},
		{"no route", "100.64.0.9:80", http.StatusBadGateway},
		{"a name that does not resolve", "nowhere.mesh:80", http.StatusBadGateway},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _ := rawRequest(t, p.http, fmt.Sprintf("GET http://%s/ HTTP/1.1\r\nHost: %s\r\n\r\n", tt.target, tt.target))
			if code != tt.want {
				t.Errorf("got %d, want %d", code, tt.want)
			}
		})
	}
}

// TestHTTPProxyLimitsKeepAlive checks that a client idle between two
// requests holds its slot no more firmly than one in its first request:
// at the limit it makes room for a new client.
func TestHTTPProxyLimitsKeepAlive(t *testing.T) {
	limits := smallLimits
	limits.conns = 2
	b := newTestNode(t, "100.64.0.2", &hostapi.ProxyConfig{Exposes: []hostapi.Expose{
		{Proto: hostapi.ProtoTCP, MeshPort: webPort, Target: startInspector(t)},
	}})
	a := newTestNode(t, "100.64.0.1", &hostapi.ProxyConfig{HTTP: netip.AddrPortFrom(loopback, 0)}, withProxyLimits(limits))
	connect(t, a, b)
	key := "http 127.0.0.1:0"
	proxy, svc := serviceAddr(t, a, key), serviceOf(t, a, key)
	for i := range limits.conns + 1 {
		// A client of its own each time, which keeps its connection.
		req, _ := http.NewRequest(http.MethodGet, "http://"+b.mesh(webPort).Addr().String()+"/", nil)
		inspect(t, proxyClient(t, proxy, nil), req)
		waitStats(t, svc, limits.conns, fmt.Sprintf("serving client %d", i+1), func(st serviceStats) bool { return st.accepted == i+1 })
	}
	if st := svc.stats(); st.evicted != 1 || st.open != limits.conns {
		t.Errorf("got counts %+v, want one idle client evicted and %d open", st, limits.conns)
	}
}

// proxyAuthorization is a Proxy-Authorization header line for auth.
func proxyAuthorization(auth *hostapi.ProxyAuth) string {
	r, _ := http.NewRequest(http.MethodGet, "/", nil)
	r.SetBasicAuth(auth.Username, auth.Password)
	return "Proxy-Authorization: " + r.Header.Get("Authorization") + "\r\n"
}
