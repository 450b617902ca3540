package demo

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/proxy"
)

// serveWeb starts the web service node n2 exposes to the mesh.
func serveWeb() (addr string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{ReadHeaderTimeout: 5 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "hello from n2's web service\n")
	})}
	go srv.Serve(ln)
	return ln.Addr().String(), func() { srv.Close() }, nil
}

// fetch gets the web page n2 exposes through node id's SOCKS5 proxy,
// retrying until within (the first request waits for a handshake).
func (s *session) fetch(ctx context.Context, id string, within time.Duration) error {
	dialer, err := proxy.SOCKS5("tcp", s.nodes[id].socks, nil, proxy.Direct)
	if err != nil {
		return err
	}
	client := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		DialContext:       dialer.(proxy.ContextDialer).DialContext,
		DisableKeepAlives: true,
	}}
	deadline := time.Now().Add(within)
	for {
		start := time.Now()
		body, err := get(ctx, client, "http://100.64.0.2/")
		if err == nil {
			s.say("      %s got %q in %s\n", id, strings.TrimSpace(body), time.Since(start).Round(time.Microsecond))
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s could not reach n2: %v", id, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func get(ctx context.Context, c *http.Client, url string) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return string(b), err
}
