package netstack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/rustynet/rustynet/hostapi"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// errNoResolver is returned for a name when no mesh DNS server is
// configured: names are never resolved outside the mesh.
var errNoResolver = errors.New("no DNS server inside the mesh is configured; use an address")

// mesh dials and listens inside the mesh, on the link's stack, and resolves
// names: the mesh's own names from trusted membership first, then through
// the configured DNS servers inside the mesh. A dial to a destination the
// link does not route fails at once with errNoRoute; one that is routed
// but does not answer fails after timeout.
type mesh struct {
	link    *link
	timeout time.Duration                // bounds a dial, name lookup included
	dns     atomic.Pointer[[]netip.Addr] // replaced whole by Configure
	names   atomic.Pointer[meshNames]    // replaced whole by Configure
	next    atomic.Uint32                // round-robin over dns
}

func newMesh(l *link, dns []netip.Addr, timeout time.Duration) *mesh {
	m := &mesh{link: l, timeout: timeout}
	m.setResolution(dns, nil, "")
	return m
}

// setResolution replaces the DNS servers and the mesh's own names; hosts
// must have passed checkHosts.
func (m *mesh) setResolution(dns []netip.Addr, hosts []hostapi.Host, domain string) {
	d := append([]netip.Addr(nil), dns...)
	m.dns.Store(&d)
	m.names.Store(newMeshNames(hosts, domain))
}

// fullAddress converts ap to gVisor's form.
func fullAddress(ap netip.AddrPort) (tcpip.FullAddress, tcpip.NetworkProtocolNumber) {
	a := ap.Addr().Unmap()
	proto := ipv4.ProtocolNumber
	if a.Is6() {
		proto = ipv6.ProtocolNumber
	}
	return tcpip.FullAddress{Addr: tcpip.AddrFromSlice(a.AsSlice()), Port: ap.Port()}, proto
}

// dialTCP connects to ap inside the mesh, within m.timeout.
func (m *mesh) dialTCP(ctx context.Context, ap netip.AddrPort) (net.Conn, error) {
	if err := m.link.reaches(ap.Addr()); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	fa, proto := fullAddress(ap)
	c, err := gonet.DialContextTCP(ctx, m.link.stack, fa, proto)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// dialUDP returns a UDP socket inside the mesh connected to ap.
func (m *mesh) dialUDP(ap netip.AddrPort) (net.Conn, error) {
	if err := m.link.reaches(ap.Addr()); err != nil {
		return nil, err
	}
	fa, proto := fullAddress(ap)
	c, err := gonet.DialUDP(m.link.stack, nil, &fa, proto)
	if err != nil {
		return nil, err
	}
	return c, nil
}

// families are the network protocols a mesh listener covers, one socket
// each, so a listener works whatever addresses Configure sets later.
var families = []tcpip.NetworkProtocolNumber{ipv4.ProtocolNumber, ipv6.ProtocolNumber}

// listenUDP returns an unconnected UDP socket inside the mesh on port (0:
// any) of every local address of family proto.
func (m *mesh) listenUDP(proto tcpip.NetworkProtocolNumber, port uint16) (*gonet.UDPConn, error) {
	var wq waiter.Queue
	ep, err := m.bind(udp.ProtocolNumber, proto, port, &wq)
	if err != nil {
		return nil, err
	}
	return gonet.NewUDPConn(&wq, ep), nil
}

// listenTCP listens on port of every local address of family proto.
func (m *mesh) listenTCP(proto tcpip.NetworkProtocolNumber, port uint16) (*gonet.TCPListener, error) {
	var wq waiter.Queue
	ep, err := m.bind(tcp.ProtocolNumber, proto, port, &wq)
	if err != nil {
		return nil, err
	}
	if err := ep.Listen(listenBacklog); err != nil {
		ep.Close()
		return nil, fmt.Errorf("listen on mesh port %d: %s", port, err)
	}
	return gonet.NewTCPListener(m.link.stack, &wq, ep), nil
}

// listenBacklog matches the usual Linux somaxconn, as gonet does.
const listenBacklog = 4096

// bind creates an endpoint bound to port on every address of family proto.
// An IPv6 endpoint is IPv6-only, so that the IPv4 one can share its port.
func (m *mesh) bind(transport tcpip.TransportProtocolNumber, proto tcpip.NetworkProtocolNumber, port uint16, wq *waiter.Queue) (tcpip.Endpoint, error) {
	ep, err := m.link.stack.NewEndpoint(transport, proto, wq)
	if err != nil {
		return nil, fmt.Errorf("create mesh socket: %s", err)
	}
	if proto == ipv6.ProtocolNumber {
		ep.SocketOptions().SetV6Only(true)
	}
	if err := ep.Bind(tcpip.FullAddress{Port: port}); err != nil {
		ep.Close()
		return nil, fmt.Errorf("bind mesh port %d: %s", port, err)
	}
	return ep, nil
}

// lookup resolves host (a name or an address literal) to addresses inside
// the mesh. A name of the mesh's own (meshNames: a member's id, or
// id.<network id>) resolves to its addresses from trusted membership;
// any other name needs a configured mesh DNS server, else errNoResolver.
// Those go through Go's resolver with its transport replaced by the
// mesh, so the host's /etc/hosts and search domains apply as for any
// lookup, but every DNS query goes to the mesh servers, never to the
// host's.
func (m *mesh) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{a}, nil
	}
	if addrs, ok := m.names.Load().lookup(host); ok {
		return slices.Clone(addrs), nil
	}
	servers := *m.dns.Load()
	if len(servers) == 0 {
		return nil, errNoResolver
	}
	r := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			server := netip.AddrPortFrom(servers[int(m.next.Add(1))%len(servers)], 53)
			switch network {
			case "udp", "udp4", "udp6":
				return m.dialUDP(server)
			default:
				return m.dialTCP(ctx, server)
			}
		},
	}
	addrs, err := r.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return nil, err
	}
	for i, a := range addrs {
		addrs[i] = a.Unmap()
	}
	return addrs, nil
}

// dialHost connects to host:port inside the mesh over TCP, trying each
// address host resolves to in turn, all within m.timeout.
func (m *mesh) dialHost(ctx context.Context, host string, port uint16) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	addrs, err := m.lookup(ctx, host)
	if err != nil {
		return nil, err
	}
	var firstErr error
	for _, a := range addrs {
		c, err := m.dialTCP(ctx, netip.AddrPortFrom(a, port))
		if err == nil {
			return c, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("%s has no address", net.JoinHostPort(host, strconv.Itoa(int(port))))
	}
	return nil, firstErr
}

// dialUDPHost returns a UDP socket inside the mesh connected to the first
// address host resolves to, at port; the lookup is bounded by m.timeout.
func (m *mesh) dialUDPHost(ctx context.Context, host string, port uint16) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, m.timeout)
	defer cancel()
	addrs, err := m.lookup(ctx, host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, fmt.Errorf("%s has no address", host)
	}
	return m.dialUDP(netip.AddrPortFrom(addrs[0], port))
}
