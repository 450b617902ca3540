package netstack

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// maxDialLine bounds the line an agent writes on the dial socket.
const maxDialLine = 64

// startMeshService connects the node agent's service to the mesh (see
// hostapi.MeshService): connections to ms.Port on the node's mesh
// addresses are relayed to the agent's Unix socket ms.Accept, and the
// agent reaches other nodes' ms.Port through the Unix socket ms.Dial.
func startMeshService(log *slog.Logger, m *mesh, limits proxyLimits, ms hostapi.MeshService) (*service, error) {
	name := fmt.Sprintf("mesh service tcp mesh:%d", ms.Port)
	s := newService(name, log, limits)
	s.addr = fmt.Sprintf("mesh:%d", ms.Port)
	var d net.Dialer
	for _, proto := range families {
		ln, err := m.listenTCP(proto, ms.Port)
		if err != nil {
			s.shutdown()
			return nil, err
		}
		s.track(ln)
		s.goroutine(func() {
			s.serve(ln, false, func(c net.Conn) {
				relayTCP(s, c, func(ctx context.Context) (net.Conn, error) { return d.DialContext(ctx, "unix", ms.Accept) })
			})
		})
	}
	// A socket file left by an earlier instance (a crash) would make Listen
	// fail: remove it, but nothing that is not a socket.
	if fi, err := os.Lstat(ms.Dial); err == nil && fi.Mode().Type() == fs.ModeSocket {
		_ = os.Remove(ms.Dial)
	}
	ln, err := net.Listen("unix", ms.Dial)
	if err != nil {
		s.shutdown()
		return nil, err
	}
	if err := os.Chmod(ms.Dial, 0o600); err != nil {
		ln.Close()
		s.shutdown()
		return nil, err
	}
	s.track(ln)
	s.goroutine(func() {
		s.serve(ln, true, func(c net.Conn) { serveMeshDial(s, m, c, ms.Port) })
	})
	return s, nil
}

// serveMeshDial reads the agent's one-line request (a mesh address),
// connects to it at port inside the mesh, answers and relays.
func serveMeshDial(s *service, m *mesh, c net.Conn, port uint16) {
	defer s.done(c)
	_ = c.SetDeadline(time.Now().Add(s.limits.headerTimeout))
	line, err := bufio.NewReaderSize(c, maxDialLine).ReadSlice('\n')
	if err != nil {
		_, _ = c.Write([]byte("error: a request is one line naming a mesh address\n"))
		return
	}
	addr, err := netip.ParseAddr(strings.TrimSpace(string(line)))
	if err != nil || !usableTarget(netip.AddrPortFrom(addr, port)) {
		_, _ = c.Write([]byte("error: not a mesh address\n"))
		return
	}
	if !s.settle(c) {
		return
	}
	_ = c.SetDeadline(time.Time{})
	up, err := m.dialTCP(s.ctx, netip.AddrPortFrom(addr.Unmap(), port))
	if err != nil {
		s.log.Debug("netstack: mesh service dial failed", "dst", addr, "err", err)
		_, _ = c.Write([]byte("error: " + strings.ReplaceAll(err.Error(), "\n", " ") + "\n"))
		return
	}
	if !s.track(up) {
		return
	}
	if _, err := c.Write([]byte("ok\n")); err != nil {
		s.done(up)
		return
	}
	s.splice(c, up)
}

// validateMeshService checks ms against the rest of the proxy config.
func validateMeshService(ms *hostapi.MeshService, exposes []hostapi.Expose) error {
	if ms == nil {
		return nil
	}
	var errs []error
	if ms.Port == 0 {
		errs = append(errs, errors.New("mesh service: port 0"))
	}
	for _, e := range exposes {
		if e.Proto == hostapi.ProtoTCP && e.MeshPort == ms.Port {
			errs = append(errs, fmt.Errorf("mesh service: tcp mesh port %d is also exposed", ms.Port))
		}
	}
	for _, p := range []struct{ what, path string }{{"accept", ms.Accept}, {"dial", ms.Dial}} {
		if !filepath.IsAbs(p.path) {
			errs = append(errs, fmt.Errorf("mesh service: %s socket %q is not an absolute path", p.what, p.path))
		}
	}
	return errors.Join(errs...)
}
