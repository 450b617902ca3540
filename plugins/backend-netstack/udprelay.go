package netstack

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// udpIdle is how long a UDP session lives without a datagram either way:
// RFC 4787's shortest mapping lifetime for a NAT (REQ-5), which is what a
// relay or a gateway flow is to its client.
const udpIdle = 2 * time.Minute

// maxDatagram is the largest UDP payload.
const maxDatagram = 65535

// udpRelay relays datagrams that clients send to front, each client through
// its own upstream socket from dial, and sends the replies back to that
// client from front. It serves UDP forwards (front on the host, upstream in
// the mesh) and UDP exposes (the other way round).
type udpRelay struct {
	svc   *service
	front net.PacketConn
	dial  func(ctx context.Context) (net.Conn, error)

	mu       sync.Mutex
	sessions map[string]*udpSession // by client address; guarded by mu
}

type udpSession struct {
	up   net.Conn     // set once, before the session is shared
	last atomic.Int64 // unix nanoseconds of the last datagram either way
}

// Close does nothing: a session is a slot's key (see service.admit); its
// socket is tracked on its own.
func (s *udpSession) Close() error { return nil }

func (s *udpSession) touch() { s.last.Store(time.Now().UnixNano()) }

// errIdle ends a UDP session that carried no datagram for udpIdle.
var errIdle = errors.New("UDP session idle")

// readDatagram reads one datagram from c into buf for a session whose last
// datagram either way was at *last (unix nanoseconds), and records the new
// one there. It returns errIdle once the session has been idle for udpIdle.
// It skips up to maxUDPFailures read errors in a row (a connected UDP
// socket reports an ICMP unreachable as an error on the next read, and the
// session may recover) and returns the next one; once ctx is done, or c is
// closed, it returns the first error.
func readDatagram(ctx context.Context, c net.Conn, buf []byte, last *atomic.Int64) (int, error) {
	failures := 0
	for {
		_ = c.SetReadDeadline(time.Unix(0, last.Load()).Add(udpIdle))
		n, err := c.Read(buf)
		switch {
		case err == nil:
			last.Store(time.Now().UnixNano())
			return n, nil
		case isTimeout(err):
			if time.Since(time.Unix(0, last.Load())) >= udpIdle {
				return 0, errIdle
			}
			// The other direction carried a datagram meanwhile.
		case ctx.Err() != nil, errors.Is(err, net.ErrClosed):
			return 0, err
		default:
			if failures++; failures > maxUDPFailures {
				return 0, err
			}
		}
	}
}

// run reads front until it is closed.
func (r *udpRelay) run() {
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := r.front.ReadFrom(buf)
		if err != nil {
			if r.svc.ctx.Err() == nil {
				r.svc.log.Warn("netstack: UDP relay stopped", "err", err)
			}
			return
		}
		sess, err := r.session(from)
		if errors.Is(err, errAtLimit) {
			continue // admit has said so
		}
		if err != nil {
			r.svc.log.Debug("netstack: UDP relay cannot reach its target", "client", from, "err", err)
			continue
		}
		sess.touch()
		if _, err := sess.up.Write(buf[:n]); err != nil {
			r.svc.log.Debug("netstack: UDP relay send failed", "client", from, "err", err)
		}
	}
}

// session returns the client's session, opening it on first use if the
// service has a slot for it (else errAtLimit).
func (r *udpRelay) session(from net.Addr) (*udpSession, error) {
	key := from.String()
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.sessions[key]; ok {
		return s, nil
	}
	s := &udpSession{}
	if !r.svc.admit(s, false) {
		return nil, errAtLimit
	}
	up, err := r.dial(r.svc.ctx)
	if err != nil {
		r.svc.release(s)
		return nil, err
	}
	if !r.svc.track(up) {
		r.svc.release(s)
		return nil, net.ErrClosed
	}
	s.up = up
	// The far end in the mesh: the target of a forward, the client of an
	// expose.
	if peer, ok := meshEnd(up); ok {
		r.svc.tag(peer, up)
	} else if peer := addrPortOf(from).Addr(); peer.IsValid() {
		r.svc.tag(peer.Unmap(), up)
	}
	s.touch()
	if r.sessions == nil {
		r.sessions = make(map[string]*udpSession)
	}
	r.sessions[key] = s
	r.svc.goroutine(func() { r.replies(key, from, s) })
	return s, nil
}

// replies sends what the upstream socket receives back to the client, until
// the session has been idle for udpIdle or the service stops.
func (r *udpRelay) replies(key string, client net.Addr, s *udpSession) {
	defer func() {
		r.mu.Lock()
		delete(r.sessions, key)
		r.mu.Unlock()
		s.up.Close()
		r.svc.untrack(s.up)
		r.svc.release(s)
	}()
	buf := make([]byte, maxDatagram)
	for {
		n, err := readDatagram(r.svc.ctx, s.up, buf, &s.last)
		if err != nil {
			return
		}
		if _, err := r.front.WriteTo(buf[:n], client); err != nil {
			return
		}
	}
}

// spliceDatagrams relays datagrams between two connected UDP sockets, each
// to the other, until the session has been idle for udpIdle, either socket
// fails for good or the service stops; then it closes both. Like splice,
// a and b must be tracked by s.
func (s *service) spliceDatagrams(a, b net.Conn) {
	s.tagRelay(a, b)
	var last atomic.Int64
	last.Store(time.Now().UnixNano())
	pump := func(dst, src net.Conn) {
		buf := make([]byte, maxDatagram)
		for {
			n, err := readDatagram(s.ctx, src, buf, &last)
			if err != nil {
				return
			}
			// A send error (an earlier ICMP unreachable, a full buffer)
			// loses this datagram only, as UDP may.
			_, _ = dst.Write(buf[:n])
		}
	}
	done := make(chan struct{})
	s.goroutine(func() {
		defer close(done)
		pump(a, b)
		a.Close()
	})
	pump(b, a)
	b.Close()
	<-done
	a.Close()
	s.untrack(a)
	s.untrack(b)
}

// maxUDPFailures is how many read errors in a row end a UDP session.
const maxUDPFailures = 8

// isTimeout reports whether err is a deadline expiry, from the host's
// sockets (os.ErrDeadlineExceeded) or gVisor's (a net.Error that times out).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
