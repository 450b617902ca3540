package controlapi

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"time"

	jsonv2 "github.com/go-json-experiment/json"
	json "github.com/go-json-experiment/json/v1" // encoding/json's API and output on encoding/json/v2's faster engine
)

// decodeOptions decode a response as encoding/json does, but for one
// thing: the response is not checked whole before it is decoded (its
// syntax errors are reported as they come). A status of 10,000 peers is
// megabytes; checking it first doubled the work of reading it.
var decodeOptions = jsonv2.JoinOptions(json.DefaultOptionsV1(), json.ReportErrorsWithLegacySemantics(false))

// maxResponseBytes bounds what the client reads of a response (a status of
// a very large network is tens of MiB).
const maxResponseBytes = 256 << 20

// Client talks to the daemon's control API. It is safe for concurrent use.
type Client struct {
	path string
	hc   *http.Client
}

// Dial returns a client for the control socket (or named pipe) at path. It
// does not connect: each call does, and reports a daemon that is not running
// as a plain error naming path.
func Dial(path string) *Client {
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return dial(ctx, path)
		},
		MaxIdleConns:       1,
		IdleConnTimeout:    30 * time.Second,
		DisableCompression: true,
	}
	return &Client{path: path, hc: &http.Client{Transport: tr}}
}

// Close releases the client's idle connection. The client stays usable.
func (c *Client) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}

// Status returns the daemon's status with every peer.
func (c *Client) Status(ctx context.Context) (Status, error) {
	return c.StatusPeers(ctx, PeersAll)
}

// StatusPeers returns the daemon's status carrying the peers as d asks.
func (c *Client) StatusPeers(ctx context.Context, d PeerDetail) (Status, error) {
	var st Status
	err := c.do(ctx, http.MethodGet, statusPath(d), nil, &st)
	return st, err
}

// ApplyUpdate sends a signed update (the bytes of its JSON file) to be
// verified and, unless dryRun, applied. A verification rejection is a
// *membership.Error with the daemon's code and message; any other failure
// the daemon reports is an *Error.
func (c *Client) ApplyUpdate(ctx context.Context, update []byte, dryRun bool) (ApplyResult, error) {
	var res ApplyResult
	if len(update) > MaxUpdateBytes {
		// The server would refuse it unread; say so without sending it.
		return res, &Error{Code: CodeUsage, Message: fmt.Sprintf("the update is %d bytes; the daemon accepts at most %d", len(update), MaxUpdateBytes), Status: http.StatusRequestEntityTooLarge}
	}
	path := "/v1/apply-update"
	if dryRun {
		path += "?dry_run=true"
	}
	err := c.do(ctx, http.MethodPost, path, update, &res)
	return res, err
}

// do sends one request and decodes the response into out.
func (c *Client) do(ctx context.Context, method, path string, body []byte, out any) error {
	return c.doLimit(ctx, method, path, body, out, maxResponseBytes)
}

// WriteStatusDocument writes the daemon's status carrying the peers as d
// asks to w as the JSON document the daemon sent (checked to be valid
// JSON first, not decoded; nothing is written if it is not), indented by
// WriteIndented if indent is not empty: for a client that passes it on,
// such as `rustynet status --json`, which would otherwise decode a
// 10,000-peer status's megabytes only to encode them again.
func (c *Client) WriteStatusDocument(ctx context.Context, w io.Writer, d PeerDetail, indent string) error {
	var doc document
	if err := c.do(ctx, http.MethodGet, statusPath(d), nil, &doc); err != nil {
		return err
	}
	var err error
	if indent == "" {
		_, err = w.Write(doc.data)
	} else {
		err = WriteIndented(w, doc.data, indent)
	}
	if err != nil {
		return &WriteError{Err: err}
	}
	return nil
}

// WriteError is WriteStatusDocument's failure to write to its writer,
// after the daemon's answer was read whole and found valid.
type WriteError struct{ Err error }

func (e *WriteError) Error() string { return "writing the status document: " + e.Err.Error() }
func (e *WriteError) Unwrap() error { return e.Err }

// document is a response kept as the JSON it is (see doLimit).
type document struct {
	data []byte
}

// readBody reads at most limit bytes of resp's body: into one buffer of
// its length when the server sent one (a status is megabytes), else as
// it comes.
func readBody(resp *http.Response, limit int64) ([]byte, error) {
	if n := resp.ContentLength; n > 0 && n <= limit {
		data := make([]byte, n)
		if _, err := io.ReadFull(resp.Body, data); err != nil {
			return nil, err
		}
		return data, nil
	}
	return io.ReadAll(io.LimitReader(resp.Body, limit))
}

func statusPath(d PeerDetail) string {
	if d != PeersAll && d != "" {
		return "/v1/status?peers=" + url.QueryEscape(string(d))
	}
	return "/v1/status"
}

// doLimit is do reading at most limit bytes of the response; an out of
// type *document receives the response as it is (or indented), if it is
// valid JSON.
func (c *Client) doLimit(ctx context.Context, method, path string, body []byte, out any, limit int64) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, "http://rustynet"+path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("control API at %s: %w", c.path, err)
	}
	defer resp.Body.Close()
	data, err := readBody(resp, limit)
	if err != nil {
		return fmt.Errorf("control API at %s: reading the response: %w", c.path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var w wireError
		if err := json.Unmarshal(data, &w); err != nil || w.Code == "" {
			return &Error{Code: CodeInternal, Message: fmt.Sprintf("HTTP %s: %.200q", resp.Status, data), Status: resp.StatusCode}
		}
		return fromWire(resp.StatusCode, w)
	}
	if doc, ok := out.(*document); ok {
		invalid := func() error {
			return fmt.Errorf("control API at %s: the response is not valid JSON: %.200q", c.path, data)
		}
		if !json.Valid(data) {
			return invalid()
		}
		doc.data = data
		return nil
	}
	if err := jsonv2.Unmarshal(data, out, decodeOptions); err != nil {
		return fmt.Errorf("control API at %s: decoding the response: %w", c.path, err)
	}
	return nil
}
