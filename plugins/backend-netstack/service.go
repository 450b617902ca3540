package netstack

import (
	"container/list"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// service is one running listener (a proxy, a forward or an expose) and
// everything it spawned: stop closes the listener and every connection it
// tracks, then waits for its goroutines.
type service struct {
	name   string
	log    *slog.Logger
	limits proxyLimits
	ctx    context.Context // done when stop begins
	stop   context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closers map[io.Closer]struct{} // guarded by mu; nil once stopping
	addr    string                 // the listener's address, for logs and tests
	// slots holds the connections and UDP sessions admitted (see admit),
	// each with its element in waiting while it can be evicted; waiting
	// lists those, oldest first. Both guarded by mu.
	slots   map[io.Closer]*list.Element
	waiting list.List
	full    bool         // the last admission was refused; guarded by mu
	counts  serviceStats // guarded by mu; open is len(slots)
	// peerOf maps each end of a relayed flow to the mesh address at its
	// far end, so that cut can end the flows of a peer that is gone.
	// Guarded by mu; entries go with untrack.
	peerOf map[io.Closer]netip.Addr
	// served reports whether a mesh address still has a peer; set by the
	// backend when it first looks at the service's flows (see tag), nil
	// before. Guarded by mu.
	served func(netip.Addr) bool
}

func newService(name string, log *slog.Logger, limits proxyLimits) *service {
	ctx, cancel := context.WithCancel(context.Background())
	return &service{
		name:    name,
		log:     log.With("service", name),
		limits:  limits,
		ctx:     ctx,
		stop:    cancel,
		closers: make(map[io.Closer]struct{}),
		slots:   make(map[io.Closer]*list.Element),
		peerOf:  make(map[io.Closer]netip.Addr),
	}
}

// track registers c to be closed on shutdown. It returns false, having closed
// c, if the service is already stopping. The caller calls untrack when it
// closes c itself.
func (s *service) track(c io.Closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closers == nil {
		c.Close()
		return false
	}
	s.closers[c] = struct{}{}
	return true
}

// untrack forgets c.
func (s *service) untrack(c io.Closer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.closers, c)
	delete(s.peerOf, c)
}

// goroutine runs f in a goroutine that shutdown waits for. It is called
// before shutdown or from one of the service's goroutines, never after they
// have all ended.
func (s *service) goroutine(f func()) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		f()
	}()
}

// enter registers a goroutine that s did not start (one of gVisor's
// forwarder goroutines, or one started by such a goroutine, or net/http's
// for a request) so that shutdown waits for it, and returns true; once
// shutdown has begun it
// returns false and registers nothing. After a true, the goroutine calls
// leave when it ends.
func (s *service) enter() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closers == nil {
		return false
	}
	s.wg.Add(1)
	return true
}

// leave ends what enter began.
func (s *service) leave() { s.wg.Done() }

// shutdown stops the service: it closes everything tracked and waits for
// every goroutine. It is idempotent.
func (s *service) shutdown() {
	s.stop()
	s.mu.Lock()
	closers := s.closers
	s.closers = nil
	s.mu.Unlock()
	for c := range closers {
		c.Close()
	}
	s.wg.Wait()
}

// serve accepts connections on ln until it is closed (see accept) and
// hands each to handle in its own goroutine; handle closes and untracks
// it, and settles it once its request is read. ln must already be
// tracked.
func (s *service) serve(ln net.Listener, request bool, handle func(net.Conn)) {
	for {
		c, err := s.accept(ln, request)
		if err != nil {
			return
		}
		s.goroutine(func() {
			defer s.release(c)
			handle(c)
		})
	}
}

// accept returns the next connection ln accepts that the service admits
// (see admit: evictable while in its request if request is true), tracked;
// a connection the limit refuses is reset at once. The caller releases
// the connection when it is done. It returns an error once ln is closed
// or fails for good; it waits out a shortage of descriptors or buffers,
// as net/http does.
func (s *service) accept(ln net.Listener, request bool) (net.Conn, error) {
	backoff := 5 * time.Millisecond
	for {
		c, err := ln.Accept()
		if err != nil {
			if s.ctx.Err() != nil {
				return nil, err
			}
			if !isTemporary(err) && !isTimeout(err) {
				s.log.Error("netstack: listener failed", "err", err)
				return nil, err
			}
			s.log.Warn("netstack: accept failed; retrying", "err", err, "in", backoff)
			t := time.NewTimer(backoff)
			select {
			case <-s.ctx.Done():
				t.Stop()
				return nil, err
			case <-t.C:
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		if !s.admit(c, request) {
			reset(c)
			continue
		}
		if !s.track(c) {
			s.release(c)
			return nil, net.ErrClosed
		}
		return c, nil
	}
}

// isTemporary reports whether an accept error is worth retrying: the
// process or system ran out of descriptors or buffers, or the connection
// was aborted before it was accepted.
func isTemporary(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE) ||
		errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.ENOMEM) ||
		errors.Is(err, syscall.ECONNABORTED)
}

// done closes and untracks c.
func (s *service) done(c io.Closer) {
	c.Close()
	s.untrack(c)
}

// serviceListener is ln for a server that runs its own connections
// (net/http's): Accept hands it connections as serve would, admitted
// (evictable while in their request) and tracked, each a *serviceConn
// whose Close frees its slot. ln must already be tracked.
type serviceListener struct {
	net.Listener
	s *service
}

func (l serviceListener) Accept() (net.Conn, error) {
	c, err := l.s.accept(l.Listener, true)
	if err != nil {
		return nil, err
	}
	return &serviceConn{Conn: c, s: l.s}, nil
}

// serviceConn is a connection serviceListener accepted; the service's
// slots and tracking know it by Conn.
type serviceConn struct {
	net.Conn
	s *service
}

// Close closes and untracks the connection and frees its slot. It is
// idempotent.
func (c *serviceConn) Close() error {
	c.s.done(c.Conn)
	c.s.release(c.Conn)
	return nil
}

// CloseWrite ends the sending half, so that net/http can end an exchange
// in order.
func (c *serviceConn) CloseWrite() error {
	if cw, ok := c.Conn.(closeWriter); ok {
		return cw.CloseWrite()
	}
	return c.Close()
}
