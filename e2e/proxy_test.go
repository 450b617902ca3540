package e2e

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/net/proxy"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/internal/poll"
)

// TestRootlessProxyByNameWithAuth drives a rootless node's proxies as a
// user would, with a password configured: `curl --socks5-hostname
// alice:…@proxy http://n2/` (the name goes to the proxy, which resolves it
// from trusted membership) and `curl -x http://alice:…@proxy
// http://n2.e2e/` (a plain HTTP proxy request). Without the password both
// are refused, and status shows each listener and that it asks for one.
func TestRootlessProxyByNameWithAuth(t *testing.T) {
	t.Parallel()
	c := newCluster(t, Options{Members: []string{"n1", "n2"}})
	n1, n2 := c.Node("n1"), c.Node("n2")
	const user, password = "alice", "correct horse battery staple"
	if err := os.MkdirAll(n1.Dir, 0o700); err != nil {
		t.Fatal(err)
	}
	pwFile := filepath.Join(n1.Dir, "proxy.password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	httpProxy := fmt.Sprintf("127.0.0.1:%d", freePort(t, "tcp"))
	n2.Start(NodeConfig{})
	n1.Start(NodeConfig{Proxy: fmt.Sprintf("http = %q\nusername = %q\npassword_file = %q\n", httpProxy, user, pwFile)})
	want := "hello from n2\n"

	socks := func(auth *proxy.Auth) (string, error) {
		dialer, err := proxy.SOCKS5("tcp", n1.SOCKS, auth, &net.Dialer{Timeout: 2 * time.Second})
		if err != nil {
			return "", err
		}
		return get(&http.Transport{DialContext: dialer.(proxy.ContextDialer).DialContext, DisableKeepAlives: true}, "http://n2/")
	}
	plain := func(userinfo *url.Userinfo) (string, error) {
		u := &url.URL{Scheme: "http", Host: httpProxy, User: userinfo}
		return get(&http.Transport{Proxy: http.ProxyURL(u), DisableKeepAlives: true}, "http://n2.e2e/")
	}

	var body string
	var lastErr error
	if err := poll.Until(reachWithin, 50*time.Millisecond, func() bool {
		body, lastErr = socks(&proxy.Auth{User: user, Password: password})
		return lastErr == nil
	}); err != nil {
		t.Fatalf("SOCKS5 with the password, to n2 by name: %v (last error: %v)\n%s", err, lastErr, n1.logTail())
	}
	if body != want {
		t.Errorf("SOCKS5 to n2 by name: got %q, want %q", body, want)
	}
	if body, err := plain(url.UserPassword(user, password)); err != nil || body != want {
		t.Errorf("HTTP proxy GET http://n2.e2e/ with the password: got %q, %v; want %q", body, err, want)
	}

	if body, err := socks(&proxy.Auth{User: user, Password: "wrong"}); err == nil {
		t.Errorf("SOCKS5 with a wrong password reached n2 (%q)", body)
	}
	if body, err := socks(nil); err == nil {
		t.Errorf("SOCKS5 without a password reached n2 (%q)", body)
	}
	var status statusError
	if _, err := plain(nil); !errors.As(err, &status) || status != http.StatusProxyAuthRequired {
		t.Errorf("HTTP proxy without a password: got %v, want 407", err)
	}
	if _, err := plain(url.UserPassword(user, "wrong")); !errors.As(err, &status) || status != http.StatusProxyAuthRequired {
		t.Errorf("HTTP proxy with a wrong password: got %v, want 407", err)
	}

	got := map[string]controlapi.ProxyStatus{}
	if is := n1.Status().Interface; is != nil {
		for _, p := range is.Proxies {
			got[p.Kind] = p
		}
	}
	for kind, listen := range map[string]string{"socks5": n1.SOCKS, "http": httpProxy} {
		if p := got[kind]; p.Listen != listen || !p.Auth {
			t.Errorf("status: %s proxy %+v, want it on %s with authentication", kind, p, listen)
		}
	}
}

// statusError is a response other than 200.
type statusError int

func (e statusError) Error() string { return fmt.Sprintf("status %d", int(e)) }

// get fetches url through tr and returns the body of a 200 response, or
// a statusError.
func get(tr *http.Transport, url string) (string, error) {
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(body), statusError(resp.StatusCode)
	}
	return string(body), nil
}
