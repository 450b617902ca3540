package netstack

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strconv"
	"time"
)

// startHTTPProxy serves an HTTP proxy on addr, with net/http's server
// under the service's limits:
//
//   - CONNECT host:port (RFC 9110 §9.3.6) tunnels to a destination the
//     mesh routes;
//   - a request for an absolute http:// URI (RFC 9112 §3.2.2) is forwarded
//     to its host inside the mesh (httputil.ReverseProxy over the mesh
//     dialer): hop-by-hop headers (RFC 9110 §7.6.1, and Proxy-Connection
//     and Proxy-Authorization) are stripped both ways, Via is added, and
//     bodies stream both ways; each request gets its own connection into
//     the mesh;
//   - anything else gets 400.
//
// With creds, a request without them gets 407 and Proxy-Authenticate. A
// destination that cannot be reached gets 502 with the reason (no route
// into the mesh, a name that does not resolve, refused, unreachable), or
// 504 if it did not answer in time. A client connection may carry one
// request after another; while it waits for the next it holds its slot no
// more firmly than while it sends its first (see admit), and it is closed
// after headerTimeout idle.
func startHTTPProxy(log *slog.Logger, m *mesh, limits proxyLimits, creds *credentials, name string, addr netip.AddrPort) (*service, error) {
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		return nil, err
	}
	s := newService(name, log, limits)
	s.addr = ln.Addr().String()
	s.track(ln)
	errLog := slog.NewLogLogger(s.log.Handler(), slog.LevelDebug)
	h := &httpProxy{s: s, m: m, creds: creds}
	h.forward = &httputil.ReverseProxy{
		Rewrite: h.rewrite,
		Transport: &http.Transport{
			DialContext:            h.dial,
			DisableKeepAlives:      true, // every upstream connection is tracked and ends with its request
			DisableCompression:     true, // pass the client's Accept-Encoding on as it is
			MaxResponseHeaderBytes: upstreamHeaderBytes,
			ExpectContinueTimeout:  time.Second,
		},
		ModifyResponse: func(resp *http.Response) error {
			resp.Header.Add("Via", via(resp.ProtoMajor, resp.ProtoMinor))
			return nil
		},
		FlushInterval: -1, // stream: a proxy must not hold back what arrived
		ErrorHandler:  h.failed,
		ErrorLog:      errLog,
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: limits.headerTimeout,
		IdleTimeout:       limits.headerTimeout,
		// net/http reads up to 4 KiB beyond MaxHeaderBytes before it
		// answers 431.
		MaxHeaderBytes: max(limits.headerBytes-4<<10, 1),
		BaseContext:    func(net.Listener) context.Context { return s.ctx },
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, clientKey{}, c)
		},
		ConnState: func(c net.Conn, state http.ConnState) {
			if state == http.StateIdle {
				s.await(c.(*serviceConn).Conn)
			}
		},
		ErrorLog: errLog,
	}
	s.goroutine(func() { _ = srv.Serve(serviceListener{Listener: ln, s: s}) })
	return s, nil
}

// upstreamHeaderBytes bounds the response header of a server in the mesh
// that a plain request is forwarded to: 512 connections hold at most 32
// MiB of them, as of copy buffers.
const upstreamHeaderBytes = 64 << 10

// clientKey is the context key under which a request's context holds its
// client connection (a *serviceConn).
type clientKey struct{}

// httpProxy is the handler of startHTTPProxy.
type httpProxy struct {
	s       *service
	m       *mesh
	creds   *credentials // nil: no authentication
	forward *httputil.ReverseProxy
}

func (h *httpProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	client := r.Context().Value(clientKey{}).(*serviceConn)
	if !h.s.settle(client.Conn) {
		return // evicted while it asked
	}
	if !h.s.enter() {
		return // stopping
	}
	defer h.s.leave()
	if h.creds != nil && !h.creds.matchHTTP(r) {
		h.s.log.Debug("netstack: HTTP proxy request without valid credentials", "client", client.RemoteAddr())
		w.Header().Set("Proxy-Authenticate", proxyAuthRealm)
		http.Error(w, "proxy authentication required", http.StatusProxyAuthRequired)
		return
	}
	switch {
	case r.Method == http.MethodConnect:
		h.connect(w, r, client)
	case r.URL.Scheme == "http" && r.URL.Host != "":
		h.forward.ServeHTTP(w, r)
	default:
		http.Error(w, "not a proxy request: send CONNECT host:port, or a request for an absolute http:// URI", http.StatusBadRequest)
	}
}

// connect tunnels client to the CONNECT request's destination.
func (h *httpProxy) connect(w http.ResponseWriter, r *http.Request, client *serviceConn) {
	host, port, ok := splitHostPort(r.URL.Host)
	if !ok {
		http.Error(w, "CONNECT needs host:port", http.StatusBadRequest)
		return
	}
	up, err := h.m.dialHost(r.Context(), host, port)
	if err != nil {
		h.failed(w, r, err)
		return
	}
	if !h.s.track(up) {
		return
	}
	hijacked, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		h.s.done(up)
		return
	}
	defer hijacked.Close() // frees the client's slot once the tunnel ends
	c := client.Conn
	_ = c.SetDeadline(time.Time{})
	if _, err := c.Write([]byte("HTTP/1.1 200 Connection established\r\n\r\n")); err != nil {
		h.s.done(up)
		return
	}
	// Bytes the client sent after the request are already in buf.
	if n := buf.Reader.Buffered(); n > 0 {
		early, _ := buf.Reader.Peek(n)
		if _, err := up.Write(early); err != nil {
			h.s.done(up)
			return
		}
	}
	h.s.splice(c, up)
}

// rewrite makes the request forwarded for a plain proxy request: the
// target's authority replaces Host (RFC 9112 §3.2.2), and Via names this
// hop (RFC 9110 §7.6.3). ReverseProxy has stripped the hop-by-hop headers
// and the client's X-Forwarded-* already, and adds none.
func (h *httpProxy) rewrite(pr *httputil.ProxyRequest) {
	pr.Out.Host = ""
	pr.Out.Header.Add("Via", via(pr.In.ProtoMajor, pr.In.ProtoMinor))
}

// via is this proxy's entry in a Via header for a message received over
// HTTP/major.minor.
func via(major, minor int) string { return fmt.Sprintf("%d.%d rustynet", major, minor) }

// dial connects to addr (host:port, host a name or an address) inside the
// mesh for a forwarded request, tracked and tagged with the request's
// client connection, so that shutdown and the loss of the peer end both.
func (h *httpProxy) dial(ctx context.Context, _, addr string) (net.Conn, error) {
	host, port, ok := splitHostPort(addr)
	if !ok {
		return nil, fmt.Errorf("%q is not host:port", addr)
	}
	up, err := h.m.dialHost(ctx, host, port)
	if err != nil {
		return nil, err
	}
	if !h.s.track(up) {
		return nil, net.ErrClosed
	}
	if client, ok := ctx.Value(clientKey{}).(*serviceConn); ok {
		h.s.tagRelay(client.Conn, up)
	}
	return &upstreamConn{Conn: up, s: h.s}, nil
}

// failed answers a request whose destination could not be reached: 502
// with the reason, or 504 if it did not answer in time.
func (h *httpProxy) failed(w http.ResponseWriter, r *http.Request, err error) {
	h.s.log.Debug("netstack: HTTP proxy cannot reach the destination", "method", r.Method, "dst", r.URL.Host, "err", err)
	code := http.StatusBadGateway
	if socksReply(err) == socksRepTTLExpired {
		code = http.StatusGatewayTimeout
	}
	http.Error(w, err.Error(), code)
}

// splitHostPort splits host:port with a port other than 0.
func splitHostPort(hostport string) (string, uint16, bool) {
	host, portText, err := net.SplitHostPort(hostport)
	if err != nil || host == "" {
		return "", 0, false
	}
	port, err := strconv.ParseUint(portText, 10, 16)
	if err != nil || port == 0 {
		return "", 0, false
	}
	return host, uint16(port), true
}

// upstreamConn is a connection into the mesh that net/http's transport
// owns: closing it untracks it.
type upstreamConn struct {
	net.Conn
	s *service
}

func (c *upstreamConn) Close() error {
	c.s.done(c.Conn)
	return nil
}
