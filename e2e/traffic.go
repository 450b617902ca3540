package e2e

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/proxy"

	"github.com/rustynet/rustynet/internal/poll"
)

// Fetch sends one HTTP GET through n's SOCKS5 proxy to the web service
// that node to exposes on its mesh address, and returns the body. The
// request gives up after timeout.
func (n *Node) Fetch(to *Node, timeout time.Duration) (string, error) {
	dialer, err := proxy.SOCKS5("tcp", n.SOCKS, nil, &net.Dialer{Timeout: timeout})
	if err != nil {
		return "", err
	}
	client := &http.Client{Timeout: timeout, Transport: &http.Transport{
		DialContext:       dialer.(proxy.ContextDialer).DialContext,
		DisableKeepAlives: true,
	}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+to.Addr.Addr().String()+"/", nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	if err != nil {
		return "", err
	}
	if want := "hello from " + to.ID + "\n"; string(body) != want {
		return "", fmt.Errorf("got %q from %s, want %q", body, to.Addr.Addr(), want)
	}
	return string(body), nil
}

// WaitReach retries Fetch from n to node to until it succeeds and returns
// how long that took from the first attempt; it fails the test after
// within. A first request waits for a WireGuard handshake.
func (n *Node) WaitReach(to *Node, within time.Duration) time.Duration {
	n.c.tb.Helper()
	start := time.Now()
	var lastErr error
	err := poll.Until(within, 10*time.Millisecond, func() bool {
		_, lastErr = n.Fetch(to, 2*time.Second)
		return lastErr == nil
	})
	if err != nil {
		n.c.tb.Fatalf("%s cannot reach %s's web service through the mesh: %v (last error: %v)", n.ID, to.ID, err, lastErr)
	}
	return time.Since(start)
}

// refusalWindow is how long a refused request is given to succeed: a
// WireGuard handshake and an HTTP exchange between two nodes on this
// machine take milliseconds, so one that has not answered in this time is
// refused, not slow.
const refusalWindow = 4 * time.Second

// WantNoReach checks that traffic from n to node to does not get through:
// n's SOCKS5 proxy accepts the connection (so the refusal is the mesh's,
// not a missing proxy), and a request given refusalWindow fails.
func (n *Node) WantNoReach(to *Node) {
	n.c.tb.Helper()
	conn, err := net.DialTimeout("tcp", n.SOCKS, 5*time.Second)
	if err != nil {
		n.c.tb.Fatalf("%s's SOCKS5 proxy is not listening, so a refusal would prove nothing: %v", n.ID, err)
	}
	conn.Close()
	if body, err := n.Fetch(to, refusalWindow); err == nil {
		n.c.tb.Errorf("%s reached %s's web service through the mesh (got %q); want its traffic refused", n.ID, to.ID, body)
	}
}
