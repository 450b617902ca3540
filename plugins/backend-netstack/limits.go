package netstack

import (
	"errors"
	"io"
	"net"
	"time"
)

// proxyLimits bound what one listener of the proxy set (the SOCKS5 proxy,
// the HTTP proxy, a forward, an expose) may hold, so that a flood or a
// slow client costs bounded memory and time. A listener at its limit
// makes room by closing the oldest connection still in its request (a
// SOCKS5 or HTTP client that has not finished asking, however slowly it
// sends, or an HTTP client between two requests); if every connection is
// past its request, the new one is reset
// (TCP) or its datagram dropped (a UDP session). So a client that sends
// its request at once is served while slow ones hold the listener, and
// memory per listener stays below conns × (the relay's two copy buffers,
// or headerBytes while in the request), plus what gVisor buffers per
// mesh connection.
type proxyLimits struct {
	// conns is the most connections (TCP) or sessions (UDP) a listener
	// keeps open at once; 0 is no limit (the gateway, which has its own).
	conns int
	// headerBytes is the most an HTTP proxy request, line and headers,
	// may take; a longer one gets 431.
	headerBytes int
	// headerTimeout bounds a proxy client's request, from accept (or, for
	// an HTTP client's next request, from its first byte) to the last
	// byte of the SOCKS5 request or HTTP header; an HTTP client idle for
	// as long between two requests is closed.
	headerTimeout time.Duration
}

// defaultProxyLimits are the limits of every listener: 512 connections
// hold at most 32 MiB of copy buffers (2 × 32 KiB each) and 8 MiB of HTTP
// headers; a browser behind the proxy opens a few hundred connections at
// most. A client sends its request in one packet; 10 s leaves room for a
// loaded host.
var defaultProxyLimits = proxyLimits{
	conns:         512,
	headerBytes:   16 << 10,
	headerTimeout: 10 * time.Second,
}

// errAtLimit is returned for a UDP session that a relay at its limit does
// not open.
var errAtLimit = errors.New("listener at its connection limit")

// serviceStats counts what a service admitted and turned away.
type serviceStats struct {
	open     int // connections or sessions holding a slot now
	accepted int // connections or sessions admitted so far
	refused  int // turned away at the limit
	evicted  int // closed in their request to make room
}

// stats returns the service's counts.
func (s *service) stats() serviceStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.counts
	st.open = len(s.slots)
	return st
}

// admit gives c (a connection, or a UDP session) one of the service's
// slots and reports whether it got one. At the limit it closes the oldest
// connection still in its request to make room, or, if there is none,
// refuses c (the caller closes or drops it). An evictable c is closed
// this way while in its request; settle ends that. The caller calls
// release when c is done, whatever admit said.
func (s *service) admit(c io.Closer, evictable bool) bool {
	s.mu.Lock()
	if s.closers == nil {
		s.mu.Unlock()
		return false
	}
	var victim io.Closer
	if s.limits.conns > 0 && len(s.slots) >= s.limits.conns {
		oldest := s.waiting.Front()
		if oldest == nil {
			s.counts.refused++
			first := !s.full
			s.full = true
			s.mu.Unlock()
			if first {
				s.log.Warn("netstack: listener at its connection limit; refusing new connections until one ends", "limit", s.limits.conns)
			}
			return false
		}
		victim = s.waiting.Remove(oldest).(io.Closer)
		delete(s.slots, victim)
		s.counts.evicted++
	}
	s.slots[c] = nil
	if evictable {
		s.slots[c] = s.waiting.PushBack(c)
	}
	s.counts.accepted++
	s.mu.Unlock()
	if victim != nil {
		victim.Close()
	}
	return true
}

// settle ends c's request: it can no longer be evicted. It returns false
// if c was evicted already (and so is closed).
func (s *service) settle(c io.Closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.slots[c]
	if !ok {
		return false
	}
	if e != nil {
		s.waiting.Remove(e)
		s.slots[c] = nil
	}
	return true
}

// await makes c, settled, evictable again as the newest connection in its
// request: it waits for its next request (an idle keep-alive connection)
// and holds its slot no more firmly than while it sent its first. Nothing
// happens if c holds no slot or is still in its request.
func (s *service) await(c io.Closer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.slots[c]; ok && e == nil {
		s.slots[c] = s.waiting.PushBack(c)
	}
}

// release frees c's slot, if it still holds one.
func (s *service) release(c io.Closer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.slots[c]
	if !ok {
		return
	}
	if e != nil {
		s.waiting.Remove(e)
	}
	delete(s.slots, c)
	if len(s.slots) < s.limits.conns {
		s.full = false
	}
}

// reset closes c so that a TCP peer on the host sees a reset, not an
// orderly end: for a connection refused, cut or aborted. Connections in
// the mesh are just closed.
func reset(c io.Closer) {
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	c.Close()
}
