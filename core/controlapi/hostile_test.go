//go:build unix

package controlapi

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
)

// These tests play hostile clients against a real server on a real Unix
// socket: floods, slowloris, oversized headers and bodies, malformed
// framing. Each must stay bounded — counted in connections, handler calls
// and allocated bytes, never in elapsed time — while a well-behaved client
// is still served (or, when every slot is busy, refused at once with a
// clear, retryable error).

// gate is a Handler whose calls wait until released (or their request's
// context ends), counting how many are inside at once.
type gate struct {
	release       chan struct{}
	entered       chan struct{}
	inside, peak  atomic.Int32
	releaseOnce   sync.Once
	blockStatuses bool
}

func newGate() *gate {
	return &gate{release: make(chan struct{}), entered: make(chan struct{}, 10000)}
}

func (g *gate) open() { g.releaseOnce.Do(func() { close(g.release) }) }

func (g *gate) wait(ctx context.Context) error {
	n := g.inside.Add(1)
	defer g.inside.Add(-1)
	for {
		p := g.peak.Load()
		if n <= p || g.peak.CompareAndSwap(p, n) {
			break
		}
	}
	g.entered <- struct{}{}
	select {
	case <-g.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gate) ApplyUpdate(ctx context.Context, update []byte, dryRun bool) (ApplyResult, error) {
	return ApplyResult{Applied: true}, g.wait(ctx)
}

func (g *gate) Log(ctx context.Context, from uint64, max int) (LogHead, []*membership.SignedUpdate, error) {
	return LogHead{}, nil, g.wait(ctx)
}

func (g *gate) Status(ctx context.Context) (Status, error) {
	if !g.blockStatuses {
		return Status{}, nil
	}
	return Status{}, g.wait(ctx)
}

// zeros is an endless stream of zero bytes that allocates nothing.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// reply is what a raw request got back.
type reply struct {
	status int
	code   string
	err    error
}

// raw sends head (a request line and headers, with or without the blank
// line) and then body on a connection of its own, and reads the response
// while the body is still being written, as a client that does not wait
// for the server would.
func raw(ctx context.Context, path, head string, body io.Reader) reply {
	c, err := dial(ctx, path)
	if err != nil {
		return reply{err: err}
	}
	if d, ok := ctx.Deadline(); ok {
		c.SetDeadline(d)
	}
	written := make(chan struct{})
	defer func() { c.Close(); <-written }()
	go func() {
		defer close(written)
		if body, ok := body.(io.Closer); ok {
			defer body.Close()
		}
		if _, err := io.WriteString(c, head); err != nil || body == nil {
			return
		}
		io.Copy(c, body) // fails once the server stops reading: expected
	}()
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return reply{err: err}
	}
	defer resp.Body.Close()
	var w wireError
	json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&w)
	return reply{status: resp.StatusCode, code: w.Code}
}

func postHead(size int64) string {
	return "POST /v1/apply-update HTTP/1.1\r\nHost: x\r\nContent-Length: " + strconv.FormatInt(size, 10) + "\r\n\r\n"
}

// allocated is how many bytes this process has allocated so far.
func allocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

// TestInFlightBodiesAreBounded sends a dozen half-maximum updates at once,
// each held by the daemon once read: only as many as the body budget holds
// are read at all, the others are refused at once with UNAVAILABLE, memory
// follows the budget, and a status request is served meanwhile.
func TestInFlightBodiesAreBounded(t *testing.T) {
	g := newGate()
	path := startServer(t, g, allowAll, nil)
	t.Cleanup(g.open)
	const n, size = 12, MaxUpdateBytes / 2
	before := allocated()
	results := make(chan reply, n)
	for range n {
		go func() { results <- raw(ctxT(t), path, postHead(size), io.LimitReader(zeros{}, size)) }()
	}
	admitted, refused := 0, 0
	for admitted+refused < n {
		select {
		case <-g.entered:
			admitted++
		case r := <-results:
			if r.err != nil || r.status != http.StatusServiceUnavailable || r.code != CodeUnavailable {
				t.Fatalf("an update that was not admitted got %+v, want 503 UNAVAILABLE", r)
			}
			refused++
		case <-time.After(time.Minute):
			t.Fatalf("after %d admitted and %d refused, the other updates are neither", admitted, refused)
		}
	}
	if _, err := dialClient(t, path).Status(ctxT(t)); err != nil {
		t.Errorf("status while the updates are held: %v", err)
	}
	grew := allocated() - before
	g.open()
	for range admitted {
		if r := <-results; r.err != nil || r.status != http.StatusOK {
			t.Errorf("an admitted update got %+v, want 200", r)
		}
	}
	if held := int64(admitted) * size; held > DefaultMaxBodyBytes {
		t.Errorf("%d updates of %d bytes were read and held at once (%d bytes), more than the budget of %d", admitted, size, held, DefaultMaxBodyBytes)
	}
	if grew > DefaultMaxBodyBytes+16<<20 {
		t.Errorf("serving the updates allocated %d bytes, want at most the body budget (%d) and a little", grew, DefaultMaxBodyBytes)
	}
}

// closedByServer counts the connections of cs the server has closed. It
// waits at most a second for each (in parallel): only a bound on noticing
// a close already made, not a timing claim.
func closedByServer(cs []net.Conn) int {
	var closed atomic.Int32
	var wg sync.WaitGroup
	for _, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c.SetReadDeadline(time.Now().Add(time.Second))
			_, err := io.ReadAll(c) // a 408 or nothing, then EOF
			if err == nil || !errors.Is(err, os.ErrDeadlineExceeded) {
				closed.Add(1)
			}
		}()
	}
	wg.Wait()
	return int(closed.Load())
}

// TestSlowlorisConnectionsAreEvicted opens twice as many connections as
// the server serves at once, each stuck in the middle of its header: the
// server keeps no more than its limit (it closes the oldest that have not
// sent a whole request), and a well-behaved client is served.
func TestSlowlorisConnectionsAreEvicted(t *testing.T) {
	path := startServer(t, &fakeHandler{}, allowAll, nil)
	const n = 2 * DefaultMaxConns
	conns := make([]net.Conn, n)
	before := allocated()
	for i := range conns {
		c, err := dial(ctxT(t), path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := io.WriteString(c, "GET /v1/status HTTP/1.1\r\nHost: x\r\nX-Slow: "); err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	if _, err := dialClient(t, path).Status(ctxT(t)); err != nil {
		t.Fatalf("a well-behaved client behind %d slow ones: %v", n, err)
	}
	if open := n - closedByServer(conns); open > DefaultMaxConns {
		t.Errorf("the server keeps %d slow connections open, more than its limit of %d", open, DefaultMaxConns)
	}
	if grew := allocated() - before; grew > 64<<20 {
		t.Errorf("%d slow connections cost %d bytes", n, grew)
	}
}

// TestSlowHeaderIsCut sends half a header and nothing more: the server
// closes the connection once the header timeout has passed.
func TestSlowHeaderIsCut(t *testing.T) {
	path := testSocketPath(t)
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	serveWith(t, l, &fakeHandler{}, allowAll, nil, Limits{HeaderTimeout: 50 * time.Millisecond})
	c, err := dial(ctxT(t), path)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	io.WriteString(c, "GET /v1/status HTTP/1.1\r\nHost: x\r\n")
	c.SetReadDeadline(time.Now().Add(time.Minute))
	if _, err := io.ReadAll(c); err != nil {
		t.Errorf("reading until the server gives up: %v, want EOF (the connection closed)", err)
	}
}

// TestConnectionFloodIsBounded opens three times as many connections as
// the server serves at once, each with a request the daemon holds (a log
// page: concurrent status requests would share one call of the daemon):
// at most the limit reach the daemon, every other one is refused at once
// with UNAVAILABLE, and every admitted one is answered once released.
func TestConnectionFloodIsBounded(t *testing.T) {
	g := newGate()
	path := startServer(t, g, allowAll, nil)
	t.Cleanup(g.open)
	const n = 3 * DefaultMaxConns
	results := make(chan reply, n)
	for range n {
		go func() { results <- raw(ctxT(t), path, "GET /v1/log?from=1 HTTP/1.1\r\nHost: x\r\n\r\n", nil) }()
	}
	admitted, refused := 0, 0
	for admitted+refused < n {
		select {
		case <-g.entered:
			admitted++
		case r := <-results:
			if r.err != nil || r.status != http.StatusServiceUnavailable || r.code != CodeUnavailable {
				t.Fatalf("a request that was not admitted got %+v (%v), want 503 UNAVAILABLE", r, r.err)
			}
			refused++
		case <-time.After(time.Minute):
			t.Fatalf("after %d admitted and %d refused, the other requests are neither", admitted, refused)
		}
	}
	if peak := g.peak.Load(); peak > DefaultMaxConns {
		t.Errorf("%d requests reached the daemon at once, more than the limit of %d connections", peak, DefaultMaxConns)
	}
	g.open()
	for range admitted {
		if r := <-results; r.err != nil || r.status != http.StatusOK {
			t.Errorf("an admitted request got %+v, want 200", r)
		}
	}
	if _, err := dialClient(t, path).Status(ctxT(t)); err != nil {
		t.Errorf("status after the flood: %v", err)
	}
}

// TestOversizedHeaderIsRefused sends a megabyte of header lines: the server
// refuses with 431 after reading a bounded amount.
func TestOversizedHeaderIsRefused(t *testing.T) {
	path := startServer(t, &fakeHandler{}, allowAll, nil)
	before := allocated()
	pad := strings.NewReader(strings.Repeat("X-Pad: "+strings.Repeat("a", 1000)+"\r\n", 1000) + "\r\n")
	r := raw(ctxT(t), path, "GET /v1/status HTTP/1.1\r\nHost: x\r\n", pad)
	if r.err != nil || r.status != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("got %+v, want 431", r)
	}
	if grew := allocated() - before; grew > 8<<20 {
		t.Errorf("refusing the header cost %d bytes", grew)
	}
	if _, err := dialClient(t, path).Status(ctxT(t)); err != nil {
		t.Errorf("status after the oversized header: %v", err)
	}
}

// TestMalformedFramingIsRefused sends requests no HTTP/1.1 parser should
// take: each is refused with a client error, the daemon is not called for
// a request it cannot read, and a well-behaved client is served after.
func TestMalformedFramingIsRefused(t *testing.T) {
	h := &fakeHandler{}
	path := startServer(t, h, allowAll, nil)
	tests := []struct {
		name string
		head string
		body string
		want int
	}{
		{"garbage", "\x00\x01\x02 not http\r\n\r\n", "", http.StatusBadRequest},
		{"no host", "GET /v1/status HTTP/1.1\r\n\r\n", "", http.StatusBadRequest},
		{"two different lengths", "POST /v1/apply-update HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "{}", http.StatusBadRequest},
		{"negative length", "POST /v1/apply-update HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n", "", http.StatusBadRequest},
		{"bad chunk size", "POST /v1/apply-update HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n", "zz\r\n{}\r\n0\r\n\r\n", http.StatusBadRequest},
		{"chunked beyond the update limit", "POST /v1/apply-update HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
			"", http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.callCount()
			var body io.Reader = strings.NewReader(tt.body)
			if tt.want == http.StatusRequestEntityTooLarge {
				body = chunked(io.LimitReader(zeros{}, MaxUpdateBytes+1<<20))
			}
			if r := raw(ctxT(t), path, tt.head, body); r.err != nil || r.status != tt.want {
				t.Errorf("got %+v, want HTTP %d", r, tt.want)
			}
			if h.callCount() != before {
				t.Errorf("the daemon was called for a request it cannot read")
			}
			if _, err := dialClient(t, path).Status(ctxT(t)); err != nil {
				t.Errorf("status after it: %v", err)
			}
		})
	}
}

// chunked encodes r in HTTP/1.1 chunks of 32 KiB; closing what it returns
// ends the encoding.
func chunked(r io.Reader) io.ReadCloser {
	pr, pw := io.Pipe()
	go func() {
		buf := make([]byte, 32<<10)
		for {
			n, err := r.Read(buf)
			if n > 0 {
				if _, werr := io.WriteString(pw, strconv.FormatInt(int64(n), 16)+"\r\n"); werr != nil {
					return
				}
				if _, werr := pw.Write(append(buf[:n:n], '\r', '\n')); werr != nil {
					return
				}
			}
			if err != nil {
				io.WriteString(pw, "0\r\n\r\n")
				pw.Close()
				return
			}
		}
	}()
	return pr
}

// TestRequestDeadline gives the daemon a request it never finishes: the
// server gives up at its per-request deadline with a retryable
// UNAVAILABLE, and the daemon's call sees its context end.
func TestRequestDeadline(t *testing.T) {
	g := newGate()
	g.blockStatuses = true
	path := testSocketPath(t)
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	serveWith(t, l, g, allowAll, nil, Limits{RequestTimeout: 20 * time.Millisecond})
	t.Cleanup(g.open)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	_, err = dialClient(t, path).Status(ctx)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeUnavailable || e.Status != http.StatusServiceUnavailable || !strings.Contains(e.Message, "retry") {
		t.Errorf("got %v, want 503 UNAVAILABLE asking to retry", err)
	}
}
