package netstack

import (
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// udpIdle is how long a UDP session lives without a datagram either way.
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
	up   net.Conn
	last atomic.Int64 // unix nanoseconds of the last datagram either way
}

func (s *udpSession) touch() { s.last.Store(time.Now().UnixNano()) }

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

// session returns the client's session, opening it on first use.
func (r *udpRelay) session(from net.Addr) (*udpSession, error) {
	key := from.String()
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.sessions[key]; ok {
		return s, nil
	}
	up, err := r.dial(r.svc.ctx)
	if err != nil {
		return nil, err
	}
	if !r.svc.track(up) {
		return nil, net.ErrClosed
	}
	s := &udpSession{up: up}
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
	}()
	buf := make([]byte, maxDatagram)
	failures := 0
	for {
		_ = s.up.SetReadDeadline(time.Unix(0, s.last.Load()).Add(udpIdle))
		n, err := s.up.Read(buf)
		switch {
		case err == nil:
			failures = 0
		case isTimeout(err):
			if time.Since(time.Unix(0, s.last.Load())) < udpIdle {
				continue // the client sent something meanwhile
			}
			return
		case r.svc.ctx.Err() != nil:
			return
		default:
			// A connected UDP socket reports an ICMP unreachable as an
			// error on the next read; the session may recover, but a
			// socket that only fails is given up.
			if failures++; failures > maxUDPFailures {
				return
			}
			continue
		}
		s.touch()
		if _, err := r.front.WriteTo(buf[:n], client); err != nil {
			return
		}
	}
}

// maxUDPFailures is how many read errors in a row end a UDP session.
const maxUDPFailures = 8

// isTimeout reports whether err is a deadline expiry, from the host's
// sockets (os.ErrDeadlineExceeded) or gVisor's (a net.Error that times out).
func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
