package netstack

import (
	"context"
	"fmt"
	"log/slog"
	"net"

	"github.com/rustynet/rustynet/hostapi"
)

// startForward listens on f.Listen on the host and relays every TCP
// connection or UDP flow to f.Target inside the mesh, or to f.TargetHost,
// resolved as each connection or flow begins.
func startForward(log *slog.Logger, m *mesh, limits proxyLimits, f hostapi.Forward) (*service, error) {
	name := forwardKey(f)
	switch f.Proto {
	case hostapi.ProtoTCP:
		return startTCPService(name, log, limits, f.Listen, false, func(s *service, c net.Conn) {
			relayTCP(s, c, func(ctx context.Context) (net.Conn, error) {
				if f.TargetHost != "" {
					return m.dialHost(ctx, f.TargetHost, f.Target.Port())
				}
				return m.dialTCP(ctx, f.Target)
			})
		})
	case hostapi.ProtoUDP:
		pc, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(f.Listen))
		if err != nil {
			return nil, err
		}
		s := newService(name, log, limits)
		s.addr = pc.LocalAddr().String()
		s.track(pc)
		r := &udpRelay{svc: s, front: pc, dial: func(ctx context.Context) (net.Conn, error) {
			if f.TargetHost != "" {
				return m.dialUDPHost(ctx, f.TargetHost, f.Target.Port())
			}
			return m.dialUDP(f.Target)
		}}
		s.goroutine(r.run)
		return s, nil
	}
	return nil, fmt.Errorf("forward protocol %d", f.Proto)
}

// forwardKey names the forward f, as its service key and in logs.
func forwardKey(f hostapi.Forward) string {
	return fmt.Sprintf("forward %s %s->%s", protoName(f.Proto), f.Listen, f.Destination())
}

// relayTCP connects c to what dial returns and splices them. If dial
// fails, c is closed at once, with a reset if it is a host connection, so
// that its client sees the connection refused rather than an orderly end.
func relayTCP(s *service, c net.Conn, dial func(context.Context) (net.Conn, error)) {
	ctx, cancel := context.WithTimeout(s.ctx, dialTimeout)
	up, err := dial(ctx)
	cancel()
	if err != nil {
		s.log.Debug("netstack: relay cannot reach its target", "client", c.RemoteAddr(), "err", err)
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		s.done(c)
		return
	}
	if !s.track(up) {
		s.done(c)
		return
	}
	s.splice(c, up)
}

// startExpose listens on e.MeshPort inside the mesh, on every mesh address
// of both families, and relays every TCP connection or UDP flow to e.Target
// on the host.
func startExpose(log *slog.Logger, m *mesh, limits proxyLimits, e hostapi.Expose) (*service, error) {
	name := fmt.Sprintf("expose %s mesh:%d->%s", protoName(e.Proto), e.MeshPort, e.Target)
	s := newService(name, log, limits)
	s.addr = fmt.Sprintf("mesh:%d", e.MeshPort)
	var d net.Dialer
	for _, proto := range families {
		switch e.Proto {
		case hostapi.ProtoTCP:
			ln, err := m.listenTCP(proto, e.MeshPort)
			if err != nil {
				s.shutdown()
				return nil, err
			}
			s.track(ln)
			s.goroutine(func() {
				s.serve(ln, false, func(c net.Conn) {
					relayTCP(s, c, func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "tcp", e.Target.String()) })
				})
			})
		case hostapi.ProtoUDP:
			pc, err := m.listenUDP(proto, e.MeshPort)
			if err != nil {
				s.shutdown()
				return nil, err
			}
			s.track(pc)
			r := &udpRelay{svc: s, front: pc, dial: func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "udp", e.Target.String()) }}
			s.goroutine(r.run)
		default:
			s.shutdown()
			return nil, fmt.Errorf("expose protocol %d", e.Proto)
		}
	}
	return s, nil
}

func protoName(p hostapi.Proto) string {
	switch p {
	case hostapi.ProtoTCP:
		return "tcp"
	case hostapi.ProtoUDP:
		return "udp"
	}
	return fmt.Sprintf("proto%d", p)
}
