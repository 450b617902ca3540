package netstack

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
)

const (
	// dialTimeout bounds connecting to a destination: the mesh's (name
	// lookup included) and an expose's on the host.
	dialTimeout = 30 * time.Second
	// maxAssociationPeers bounds how many mesh destinations one UDP
	// association may receive replies from.
	maxAssociationPeers = 1024
)

// startSOCKS5 serves SOCKS5 (RFC 1928) on addr: CONNECT and UDP
// ASSOCIATE, to every destination the mesh routes. Without creds a client
// must offer "no authentication"; with them it must offer
// username/password (RFC 1929) and present them, or it is closed after
// the method reply (0xff) or the failure status. A CONNECT always gets a
// reply: see socksReply for the failures.
func startSOCKS5(log *slog.Logger, m *mesh, limits proxyLimits, creds *credentials, name string, addr netip.AddrPort) (*service, error) {
	return startTCPService(name, log, limits, addr, true, func(s *service, c net.Conn) {
		serveSOCKS5(s, m, creds, c)
	})
}

// startTCPService listens on addr on the host and hands each connection to
// handle; request says whether a connection begins with a client's request
// (see service.serve).
func startTCPService(name string, log *slog.Logger, limits proxyLimits, addr netip.AddrPort, request bool, handle func(*service, net.Conn)) (*service, error) {
	ln, err := net.Listen("tcp", addr.String())
	if err != nil {
		return nil, err
	}
	s := newService(name, log, limits)
	s.addr = ln.Addr().String()
	s.track(ln)
	s.goroutine(func() { s.serve(ln, request, func(c net.Conn) { handle(s, c) }) })
	return s, nil
}

func serveSOCKS5(s *service, m *mesh, creds *credentials, c net.Conn) {
	defer s.done(c)
	_ = c.SetDeadline(time.Now().Add(s.limits.headerTimeout))
	methods, err := readGreeting(c)
	if err != nil {
		s.log.Debug("netstack: bad SOCKS5 greeting", "client", c.RemoteAddr(), "err", err)
		return
	}
	method := byte(socksMethodNoAuth)
	if creds != nil {
		method = socksMethodUserPass
	}
	if !bytes.Contains(methods, []byte{method}) {
		_, _ = c.Write([]byte{socksVersion, socksMethodNoAcceptable})
		return
	}
	if _, err := c.Write([]byte{socksVersion, method}); err != nil {
		return
	}
	if creds != nil && !socksAuthenticate(s, creds, c) {
		return
	}
	cmd, dst, err := readRequest(c)
	switch {
	case errors.Is(err, errSocksAtyp):
		_ = writeReply(c, socksRepAddrNotSupported, netip.AddrPort{})
		return
	case errors.Is(err, errSocksRequest):
		s.log.Debug("netstack: bad SOCKS5 request", "client", c.RemoteAddr(), "err", err)
		_ = writeReply(c, socksRepGeneralFailure, netip.AddrPort{})
		return
	case err != nil:
		s.log.Debug("netstack: bad SOCKS5 request", "client", c.RemoteAddr(), "err", err)
		return
	}
	if !s.settle(c) {
		return // evicted while it asked
	}
	switch cmd {
	case socksCmdConnect:
		socksConnect(s, m, c, dst)
	case socksCmdUDPAssociate:
		socksAssociate(s, m, c, dst)
	default:
		_ = writeReply(c, socksRepCommandNotSupported, netip.AddrPort{})
	}
}

// socksAuthenticate reads the client's username and password and
// answers whether they are creds; RFC 1929 has the server close the
// connection after a failure, which the caller does.
func socksAuthenticate(s *service, creds *credentials, c net.Conn) bool {
	user, pass, err := readUserPass(c)
	if err != nil {
		s.log.Debug("netstack: bad SOCKS5 username/password request", "client", c.RemoteAddr(), "err", err)
		return false
	}
	if !creds.match(user, pass) {
		s.log.Debug("netstack: SOCKS5 client without valid credentials", "client", c.RemoteAddr())
		_, _ = c.Write([]byte{socksAuthVersion, socksAuthFailed})
		return false
	}
	_, err = c.Write([]byte{socksAuthVersion, socksAuthOK})
	return err == nil
}

func socksConnect(s *service, m *mesh, c net.Conn, dst socksAddr) {
	// The dial is bounded by the mesh; the handshake's deadline must not
	// also cover the reply written after it, or a dial that fails slowly
	// would end in a silent close instead of an error reply.
	_ = c.SetDeadline(time.Time{})
	up, err := m.dialHost(s.ctx, dst.host(), dst.port)
	if err != nil {
		s.log.Debug("netstack: SOCKS5 CONNECT failed", "dst", dst, "err", err)
		_ = writeReply(c, socksReply(err), netip.AddrPort{})
		return
	}
	if !s.track(up) {
		return
	}
	if err := writeReply(c, socksRepSucceeded, addrPortOf(up.LocalAddr())); err != nil {
		s.done(up)
		return
	}
	_ = c.SetDeadline(time.Time{})
	s.splice(c, up)
}

// socksReply maps a dial error to a SOCKS5 reply code: no route into the
// mesh is "network unreachable"; a name that does not resolve, or a
// routed destination reported unreachable, "host unreachable"; a reset,
// "connection refused"; no answer within the dial timeout, "TTL expired"
// (the reply RFC 1928 has for a timeout). gVisor reports its errors as
// text (gonet wraps tcpip.Error's String), hence the matching.
func socksReply(err error) byte {
	var dnsErr *net.DNSError
	msg := err.Error()
	switch {
	case errors.Is(err, errNoRoute):
		return socksRepNetworkUnreachable
	case errors.Is(err, errNoResolver), errors.As(err, &dnsErr):
		return socksRepHostUnreachable
	case strings.Contains(msg, "refused"):
		return socksRepConnectionRefused
	case strings.Contains(msg, "network is unreachable"):
		return socksRepNetworkUnreachable
	case errors.Is(err, context.DeadlineExceeded), strings.Contains(msg, "timed out"):
		return socksRepTTLExpired
	default:
		return socksRepHostUnreachable
	}
}

// addrPortOf converts a net.Addr of TCP or UDP to a netip.AddrPort; the
// zero value if it is neither.
func addrPortOf(a net.Addr) netip.AddrPort {
	switch a := a.(type) {
	case *net.TCPAddr:
		return a.AddrPort()
	case *net.UDPAddr:
		return a.AddrPort()
	}
	return netip.AddrPort{}
}

// association is one UDP ASSOCIATE: datagrams from the client to relay are
// sent into the mesh; replies from mesh destinations the client has sent to
// come back to the client, wrapped.
type association struct {
	s     *service
	m     *mesh
	relay *net.UDPConn // on the host, where the client sends

	// expect is the client's address as far as known: from the request if
	// it named one, else the control connection's address with port 0
	// (any). The first datagram fixes the port.
	mu      sync.Mutex
	expect  netip.AddrPort              // guarded by mu
	sockets map[bool]*gonet.UDPConn     // mesh sockets by "is IPv6"; guarded by mu
	peers   map[netip.AddrPort]struct{} // destinations the client sent to; guarded by mu
	names   map[string]netip.Addr       // resolved names; guarded by mu
	closed  bool                        // guarded by mu
	wg      sync.WaitGroup              // mesh reader goroutines
}

func socksAssociate(s *service, m *mesh, c net.Conn, req socksAddr) {
	local := addrPortOf(c.LocalAddr()).Addr()
	relay, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(local, 0)))
	if err != nil {
		s.log.Warn("netstack: SOCKS5 UDP ASSOCIATE cannot open a relay socket", "err", err)
		_ = writeReply(c, socksRepGeneralFailure, netip.AddrPort{})
		return
	}
	if !s.track(relay) {
		return
	}
	defer s.done(relay)

	client := addrPortOf(c.RemoteAddr()).Addr().Unmap()
	expect := netip.AddrPortFrom(client, 0)
	if req.name == "" && req.ip.IsValid() && !req.ip.IsUnspecified() {
		expect = netip.AddrPortFrom(req.ip, req.port)
	}
	a := &association{
		s:       s,
		m:       m,
		relay:   relay,
		expect:  expect,
		sockets: make(map[bool]*gonet.UDPConn),
		peers:   make(map[netip.AddrPort]struct{}),
		names:   make(map[string]netip.Addr),
	}
	if err := writeReply(c, socksRepSucceeded, addrPortOf(relay.LocalAddr())); err != nil {
		return
	}
	_ = c.SetDeadline(time.Time{})

	done := make(chan struct{})
	s.goroutine(func() {
		defer close(done)
		a.fromClient()
	})
	// The association lasts as long as the control connection (RFC 1928 §7).
	_, _ = io.Copy(io.Discard, c)
	relay.Close()
	<-done
	a.close()
}

// fromClient relays the client's datagrams into the mesh until relay is
// closed.
func (a *association) fromClient() {
	buf := make([]byte, maxDatagram)
	for {
		n, from, err := a.relay.ReadFromUDPAddrPort(buf)
		if err != nil {
			return
		}
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
		if !a.admit(from) {
			continue
		}
		dst, payload, err := parseDatagram(buf[:n])
		if err != nil {
			a.s.log.Debug("netstack: SOCKS5 datagram dropped", "err", err)
			continue
		}
		to, err := a.resolve(dst)
		if err == nil {
			err = a.m.link.reaches(to.Addr())
		}
		if err != nil {
			a.s.log.Debug("netstack: SOCKS5 datagram dropped", "dst", dst, "err", err)
			continue
		}
		sock, err := a.socket(to)
		if err != nil {
			a.s.log.Debug("netstack: SOCKS5 datagram dropped", "dst", dst, "err", err)
			continue
		}
		_, _ = sock.WriteTo(payload, net.UDPAddrFromAddrPort(to))
	}
}

// admit reports whether from is the client, fixing its port on first use.
func (a *association) admit(from netip.AddrPort) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if from.Addr() != a.expect.Addr() {
		return false
	}
	if a.expect.Port() == 0 {
		a.expect = from
	}
	return from == a.expect
}

// resolve turns dst into an address, remembering names, and records it as a
// destination whose replies may reach the client.
func (a *association) resolve(dst socksAddr) (netip.AddrPort, error) {
	ip := dst.ip
	if dst.name != "" {
		a.mu.Lock()
		cached, ok := a.names[dst.name]
		a.mu.Unlock()
		if ok {
			ip = cached
		} else {
			ctx, cancel := context.WithTimeout(a.s.ctx, a.m.timeout)
			addrs, err := a.m.lookup(ctx, dst.name)
			cancel()
			if err != nil {
				return netip.AddrPort{}, err
			}
			ip = addrs[0]
			a.mu.Lock()
			if len(a.names) < maxAssociationPeers {
				a.names[dst.name] = ip
			}
			a.mu.Unlock()
		}
	}
	to := netip.AddrPortFrom(ip, dst.port)
	a.mu.Lock()
	defer a.mu.Unlock()
	if _, ok := a.peers[to]; !ok && len(a.peers) >= maxAssociationPeers {
		return netip.AddrPort{}, errors.New("too many destinations in one association")
	}
	a.peers[to] = struct{}{}
	return to, nil
}

// socket returns the association's mesh socket for to's family, opening it
// and its reader on first use.
func (a *association) socket(to netip.AddrPort) (*gonet.UDPConn, error) {
	v6 := to.Addr().Is6()
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil, net.ErrClosed
	}
	if sock, ok := a.sockets[v6]; ok {
		return sock, nil
	}
	proto := ipv4.ProtocolNumber
	if v6 {
		proto = ipv6.ProtocolNumber
	}
	sock, err := a.m.listenUDP(proto, 0)
	if err != nil {
		return nil, err
	}
	a.sockets[v6] = sock
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		a.fromMesh(sock)
	}()
	return sock, nil
}

// fromMesh relays replies from destinations the client has sent to back to
// the client, until sock is closed.
func (a *association) fromMesh(sock *gonet.UDPConn) {
	buf := make([]byte, maxDatagram)
	out := make([]byte, 0, maxDatagram+22)
	for {
		n, from, err := sock.ReadFrom(buf)
		if err != nil {
			return
		}
		src := addrPortOf(from)
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		a.mu.Lock()
		_, known := a.peers[src]
		client := a.expect
		a.mu.Unlock()
		if !known || client.Port() == 0 {
			continue
		}
		out = appendDatagram(out[:0], src, buf[:n])
		_, _ = a.relay.WriteToUDPAddrPort(out, client)
	}
}

// close closes the mesh sockets and waits for their readers.
func (a *association) close() {
	a.mu.Lock()
	a.closed = true
	for _, sock := range a.sockets {
		sock.Close()
	}
	a.mu.Unlock()
	a.wg.Wait()
}
