// Package echoserver serves TCP and UDP echo for tests and the conformance suite
// (which cannot import package testing): a TCP connection gets back every
// byte it sends, and the end of its stream once it ends its own; a UDP
// datagram goes back to its sender. The caller makes the listener, in
// whatever network namespace it needs, and closes the server when done.
package echoserver

import (
	"io"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
)

// maxDatagram is the largest UDP payload.
const maxDatagram = 64 << 10

// TCP is a TCP echo server.
type TCP struct {
	ln       net.Listener
	onAccept func(net.Conn)
	accepted atomic.Int64
	wg       sync.WaitGroup

	mu     sync.Mutex // guards conns and closed
	conns  []net.Conn
	closed bool
}

// ServeTCP echoes every connection ln accepts until Close. onAccept, if
// not nil, is called with each connection before any byte of it is echoed.
func ServeTCP(ln net.Listener, onAccept func(net.Conn)) *TCP {
	s := &TCP{ln: ln, onAccept: onAccept}
	s.wg.Go(s.accept)
	return s
}

func (s *TCP) accept() {
	for {
		c, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.accepted.Add(1)
		if s.onAccept != nil {
			s.onAccept(c)
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return
		}
		s.conns = append(s.conns, c)
		s.mu.Unlock()
		s.wg.Go(func() {
			if _, err := io.Copy(c, c); err == nil {
				// The client ended its stream: end ours, so that a
				// half-close travels both ways.
				if hc, ok := c.(interface{ CloseWrite() error }); ok {
					_ = hc.CloseWrite()
				}
			}
		})
	}
}

// Addr returns the address the server listens on, an IPv4-mapped address
// unmapped.
func (s *TCP) Addr() netip.AddrPort { return unmapped(s.ln.Addr()) }

// Accepted returns how many connections the server has accepted.
func (s *TCP) Accepted() int { return int(s.accepted.Load()) }

// Close closes the listener and every connection, and waits until the
// server's goroutines have returned. It returns the listener's Close
// error.
func (s *TCP) Close() error {
	s.mu.Lock()
	s.closed = true
	for _, c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	err := s.ln.Close()
	s.wg.Wait()
	return err
}

// UDP is a UDP echo server.
type UDP struct {
	pc   net.PacketConn
	done chan struct{}
}

// ServeUDP sends every datagram pc receives back to its sender until
// Close.
func ServeUDP(pc net.PacketConn) *UDP {
	u := &UDP{pc: pc, done: make(chan struct{})}
	go func() {
		defer close(u.done)
		buf := make([]byte, maxDatagram)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			_, _ = pc.WriteTo(buf[:n], from)
		}
	}()
	return u
}

// Addr returns the address the server listens on, an IPv4-mapped address
// unmapped.
func (u *UDP) Addr() netip.AddrPort { return unmapped(u.pc.LocalAddr()) }

// Close closes the connection and waits until the server has stopped.
func (u *UDP) Close() error {
	err := u.pc.Close()
	<-u.done
	return err
}

// unmapped returns a as a netip.AddrPort without IPv4 mapping, or the zero
// AddrPort if a is not an IP address.
func unmapped(a net.Addr) netip.AddrPort {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
