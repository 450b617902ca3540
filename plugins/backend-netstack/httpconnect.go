package netstack

import (
	"bufio"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"
)

// startHTTPConnect serves an HTTP proxy on addr that supports only CONNECT
// (RFC 9110 §9.3.6), tunnelling to destinations the mesh routes. Any other
// method gets 405: plain-HTTP proxying would need a full HTTP client, and
// clients use CONNECT for every scheme when told to. A CONNECT that fails
// gets 502 with the reason (no route into the mesh, refused, unreachable),
// or 504 if the destination did not answer in time.
func startHTTPConnect(log *slog.Logger, m *mesh, limits proxyLimits, addr netip.AddrPort) (*service, error) {
	return startTCPService("http "+addr.String(), log, limits, addr, true, func(s *service, c net.Conn) {
		serveHTTPConnect(s, m, c)
	})
}

// httpReadBuffer is the buffer a CONNECT request is read through.
const httpReadBuffer = 4 << 10

func serveHTTPConnect(s *service, m *mesh, c net.Conn) {
	defer s.done(c)
	_ = c.SetDeadline(time.Now().Add(s.limits.headerTimeout))
	// The request is read through a limit, so that a header that never
	// ends costs at most headerBytes.
	lr := &io.LimitedReader{R: c, N: int64(s.limits.headerBytes)}
	br := bufio.NewReaderSize(lr, httpReadBuffer)
	req, err := http.ReadRequest(br)
	switch {
	case err != nil && lr.N == 0:
		writeHTTPStatus(c, http.StatusRequestHeaderFieldsTooLarge, fmt.Sprintf("request line and header larger than %d bytes", s.limits.headerBytes))
		return
	case err != nil:
		writeHTTPStatus(c, http.StatusBadRequest, "malformed request")
		return
	case !s.settle(c):
		return // evicted while it asked
	}
	if req.Method != http.MethodConnect {
		writeHTTPStatus(c, http.StatusMethodNotAllowed, "only CONNECT is supported")
		return
	}
	host, portText, err := net.SplitHostPort(req.Host)
	port, perr := strconv.ParseUint(portText, 10, 16)
	if err != nil || perr != nil || port == 0 || host == "" {
		writeHTTPStatus(c, http.StatusBadRequest, "CONNECT needs host:port")
		return
	}
	// As for SOCKS5: the reply must still be written after a slow dial.
	_ = c.SetDeadline(time.Time{})
	up, err := m.dialHost(s.ctx, host, uint16(port))
	if err != nil {
		s.log.Debug("netstack: HTTP CONNECT failed", "dst", req.Host, "err", err)
		code := http.StatusBadGateway
		if socksReply(err) == socksRepTTLExpired {
			code = http.StatusGatewayTimeout
		}
		writeHTTPStatus(c, code, err.Error())
		return
	}
	if !s.track(up) {
		return
	}
	if _, err := c.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		s.done(up)
		return
	}
	// Bytes the client sent after the request are already in br.
	if n := br.Buffered(); n > 0 {
		early, _ := br.Peek(n)
		if _, err := up.Write(early); err != nil {
			s.done(up)
			return
		}
	}
	_ = c.SetDeadline(time.Time{})
	s.splice(c, up)
}

// writeHTTPStatus writes a complete response with a text body and closes the
// exchange.
func writeHTTPStatus(c net.Conn, code int, msg string) {
	body := msg + "\n"
	_, _ = fmt.Fprintf(c, "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
		code, http.StatusText(code), len(body), body)
}
