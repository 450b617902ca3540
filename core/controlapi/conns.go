package controlapi

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// connLimiter bounds how many connections a Server holds at once. When a
// connection arrives at the limit, the one that has waited longest without
// a request in progress — an idle keep-alive connection, or one that has
// not yet sent a whole request header (slowloris) — is evicted to make
// room; if every connection has a request in progress, the newcomer is
// refused. Either way the connection is answered 503 UNAVAILABLE ("retry")
// and closed; a request of an evicted connection that its server goroutine
// was about to hand to the daemon is dropped unanswered by it, so the
// client's only answer is the 503 and nothing was done. So slow or idle
// clients cannot lock a well-behaved one out, and memory and descriptors
// stay bounded by the limit.
type connLimiter struct {
	net.Listener
	max    int
	refuse []byte // the canned response to a connection refused
	logs   *logLimiter

	refusing chan struct{}  // one token per refusal in progress
	refusals sync.WaitGroup // the refusals in progress

	mu    sync.Mutex
	conns map[*limitedConn]struct{} // held connections
}

// limitedConn is a connection a connLimiter holds.
type limitedConn struct {
	net.Conn
	l *connLimiter
	// Guarded by l.mu: busy while a request is in a handler or its
	// response is being written; since is when it last stopped being busy
	// (or was accepted); served once a request of it reached a handler.
	busy, served bool
	since        time.Time
	// evicted is set (under l.mu) once it lost its place: from then on its
	// reads end, and closing it answers the client busy.
	evicted atomic.Bool
	once    sync.Once
}

func newConnLimiter(l net.Listener, max int, logs *logLimiter) *connLimiter {
	body := `{"code":"` + CodeUnavailable + `","message":"the control API is busy: it serves ` + strconv.Itoa(max) +
		` connections at once, each with a request in progress; retry"}` + "\n"
	resp := "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	return &connLimiter{Listener: l, max: max, refuse: []byte(resp), logs: logs, conns: map[*limitedConn]struct{}{},
		refusing: make(chan struct{}, maxRefusing)}
}

// Accept returns the next connection it admits; see connLimiter.
func (l *connLimiter) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		lc := &limitedConn{Conn: c, l: l, since: time.Now()}
		victim, ok := l.admit(lc)
		if victim != nil {
			l.logs.warn("control API: evicted a connection without a request in progress to make room", "limit", l.max)
			// Wake its server goroutine: its read ends, it closes the
			// connection, and Close answers the client.
			victim.Conn.SetReadDeadline(time.Now())
		}
		if ok {
			return lc, nil
		}
		l.logs.warn("control API: refused a connection: every connection has a request in progress", "limit", l.max)
		l.answerBusy(c)
	}
}

// maxRefusing bounds the refusals answered at once (each costs a
// goroutine and a small buffer for at most a second); beyond it a refused
// connection is closed without an answer.
const maxRefusing = 256

// answerBusy answers c with the busy response and closes it, on a
// goroutine of its own (at most maxRefusing at once, each for at most a
// second): what the client sends is read and dropped before the close,
// since closing a socket with unread data resets it and the client would
// never see the answer.
func (l *connLimiter) answerBusy(c net.Conn) {
	select {
	case l.refusing <- struct{}{}:
	default:
		c.Close()
		return
	}
	l.refusals.Add(1)
	go func() {
		defer func() { <-l.refusing; l.refusals.Done() }()
		defer c.Close()
		c.SetDeadline(time.Now().Add(time.Second))
		if _, err := c.Write(l.refuse); err != nil { // the deadline above also undoes an eviction's
			return
		}
		if cw, ok := c.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
		io.CopyBuffer(io.Discard, io.LimitReader(c, maxHeaderBytes), make([]byte, 512))
	}()
}

// wait waits for the refusals in progress.
func (l *connLimiter) wait() { l.refusals.Wait() }

// admit holds c if there is room, making room by evicting the connection
// that has waited longest without a request in progress.
func (l *connLimiter) admit(c *limitedConn) (victim *limitedConn, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.conns) >= l.max {
		for v := range l.conns {
			if !v.busy && (victim == nil || v.since.Before(victim.since)) {
				victim = v
			}
		}
		if victim == nil {
			return nil, false
		}
		victim.evicted.Store(true)
		delete(l.conns, victim)
	}
	l.conns[c] = struct{}{}
	return victim, true
}

// connState is the server's ConnState hook: a connection back to idle
// (its response written) may be evicted again.
func (l *connLimiter) connState(c net.Conn, st http.ConnState) {
	lc, ok := c.(*limitedConn)
	if !ok || st != http.StateIdle {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	lc.busy, lc.since = false, time.Now()
}

// markBusy protects the connection of a request that reached a handler
// from eviction until its response is written. It reports false if the
// connection was evicted already: the request must then be dropped.
func (l *connLimiter) markBusy(ctx context.Context) bool {
	lc, ok := ctx.Value(connKey{}).(*limitedConn)
	if !ok {
		return true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if lc.evicted.Load() {
		return false
	}
	lc.busy, lc.served = true, true
	return true
}

// Read reads from the connection, or ends (io.EOF) once it was evicted.
func (c *limitedConn) Read(p []byte) (int, error) {
	if c.evicted.Load() {
		return 0, io.EOF
	}
	n, err := c.Conn.Read(p)
	if err != nil && c.evicted.Load() {
		err = io.EOF
	}
	return n, err
}

// Close releases the connection's place. An evicted connection that
// never had a request served is answered busy (a client that connected
// just now may be waiting for an answer); an idle keep-alive one is just
// closed (its client reconnects).
func (c *limitedConn) Close() error {
	answer := false
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		answer = c.evicted.Load() && !c.served
		c.l.mu.Unlock()
	})
	if answer {
		c.l.answerBusy(c.Conn)
		return nil
	}
	return c.Conn.Close()
}

// NetConn returns the connection accepted, for reading its peer's
// credentials.
func (c *limitedConn) NetConn() net.Conn { return c.Conn }

type connKey struct{}

// withConn is the server's ConnContext: the connection's peer, and the
// connection itself for markBusy.
func withConn(ctx context.Context, c net.Conn) context.Context {
	inner := c
	if lc, ok := c.(*limitedConn); ok {
		inner = lc.Conn
	}
	return context.WithValue(withPeer(ctx, inner), connKey{}, c)
}

// budget is a pool of bytes that request bodies in memory draw from.
type budget struct {
	mu   sync.Mutex
	free int64
}

// take draws n bytes if they are free.
func (b *budget) take(n int64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if n > b.free {
		return false
	}
	b.free -= n
	return true
}

// give returns n bytes.
func (b *budget) give(n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.free += n
}

// busyError is the refusal of a body the budget cannot hold now.
func busyError(limit int64) error {
	return &Error{Code: CodeUnavailable, Status: http.StatusServiceUnavailable,
		Message: fmt.Sprintf("the daemon is already holding other updates (at most %d bytes at once); retry", limit)}
}
