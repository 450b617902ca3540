package gossip

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"

	"github.com/rustynet/rustynet/core/membership"
)

// Dialer connects to a peer's service at its mesh address.
type Dialer func(ctx context.Context, addr netip.Addr) (net.Conn, error)

// Client asks peers for their heads, entries and evidence.
type Client struct {
	http   *http.Client
	limits *membership.Limits
}

// NewClient returns a client that reaches peers through dial; limits
// bound the entries it parses (nil: the defaults).
func NewClient(dial Dialer, limits *membership.Limits) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, hostport string) (net.Conn, error) {
			ap, err := netip.ParseAddrPort(hostport)
			if err != nil {
				return nil, err
			}
			return dial(ctx, ap.Addr())
		},
		DisableKeepAlives:      true,
		MaxResponseHeaderBytes: maxHeaderBytes,
		ResponseHeaderTimeout:  requestTimeout,
	}
	return &Client{http: &http.Client{Transport: tr, Timeout: requestTimeout}, limits: limits}
}

// get fetches path from the peer at addr, reading at most max bytes; a
// 404 is (nil, nil).
func (c *Client) get(ctx context.Context, addr netip.Addr, path string, max int64) ([]byte, error) {
	// The port is only carried to the dialer, which knows it: any will do.
	u := "http://" + netip.AddrPortFrom(addr, 1).String() + path
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, nil
	default:
		return nil, fmt.Errorf("%s: %s", path, resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("%s: the answer exceeds %d bytes", path, max)
	}
	return data, nil
}

// Head asks the peer at addr for its head.
func (c *Client) Head(ctx context.Context, addr netip.Addr) (Head, error) {
	data, err := c.get(ctx, addr, "/v1/head", MaxHeadBytes)
	if err != nil {
		return Head{}, err
	}
	if data == nil {
		return Head{}, fmt.Errorf("/v1/head: not found")
	}
	return ParseHead(data)
}

// Log asks the peer at addr for its entries from epoch from on (at most
// MaxBatch). It checks their form and that they are the epochs asked for,
// in order; the ledger verifies them.
func (c *Client) Log(ctx context.Context, addr netip.Addr, from uint64) ([]*membership.SignedUpdate, error) {
	data, err := c.get(ctx, addr, "/v1/log?from="+strconv.FormatUint(from, 10), MaxLogBytes)
	if err != nil {
		return nil, err
	}
	if data == nil {
		return nil, fmt.Errorf("/v1/log: not found")
	}
	log, err := membership.ParseLog(data, c.limits)
	if err != nil {
		return nil, fmt.Errorf("/v1/log: %w", err)
	}
	if len(log) > MaxBatch {
		return nil, fmt.Errorf("/v1/log: %d entries, more than %d", len(log), MaxBatch)
	}
	for i, u := range log {
		if u.Body.Epoch != from+uint64(i) {
			return nil, fmt.Errorf("/v1/log: entry %d is of epoch %d, want %d", i, u.Body.Epoch, from+uint64(i))
		}
	}
	return log, nil
}

// Evidence asks the peer at addr for the evidence it holds under name;
// nil if none.
func (c *Client) Evidence(ctx context.Context, addr netip.Addr, name string) ([]byte, error) {
	return c.get(ctx, addr, "/v1/evidence?name="+url.QueryEscape(name), MaxEvidenceBytes)
}
