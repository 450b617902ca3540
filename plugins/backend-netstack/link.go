package netstack

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"slices"
	"sync"
	"syscall"

	"github.com/rustynet/rustynet/hostapi"
	"golang.zx2c4.com/wireguard/tun"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
)

// nicID is the one NIC of the stack.
const nicID tcpip.NICID = 1

// outboundQueueLen is how many packets the stack may queue for wireguard-go.
const outboundQueueLen = 1024

// link is a gVisor network stack seen by wireguard-go as its tun.Device:
// packets the stack sends are read by wireguard-go and encrypted to peers;
// packets wireguard-go decrypts are written into the stack. It is modelled on
// golang.zx2c4.com/wireguard/tun/netstack, which cannot change its addresses
// or MTU after creation; this one can, so Configure never has to recreate
// the device (and its peers' sessions).
//
// The stack sends every packet into the tunnel, where wireguard-go routes it
// by allowed IPs and drops what no peer claims; what the proxies and
// forwards may reach is decided before they dial: the subnets the addresses
// imply and the routes set by applyRoutes (see reaches), and nothing else,
// so a dial elsewhere fails at once. Packets from
// peers to the link's own addresses go to the stack; with a gateway set,
// TCP and UDP packets to the destinations it claims go to the gateway's
// stack instead (see Write), and every other packet is dropped by the
// stack, which does not forward.
//
// wgdev puts the packet filter (Backend.SetFilter) between wireguard-go and
// the link: Write only ever gets packets the filter passed, so nothing it
// drops reaches the stack or the gateway's, and every packet Read returns,
// the gateway's included, is shown to the filter on its way to a peer.
//
// The link never reports EventUp: wgdev.Device.Configure brings the device
// up. After Close, Read returns os.ErrClosed and Write drops packets.
type link struct {
	stack *stack.Stack
	ep    *linkEndpoint // the NIC
	out   *outQueue     // what the stack (and a gateway's) sends

	readCtx    context.Context // done on Close: unblocks Read
	cancelRead context.CancelFunc

	// readMu guards what Read has taken from out and not yet returned:
	// pending (a slice of taken), the first packet of which has had seg
	// of its segments returned.
	readMu  sync.Mutex
	taken   [128]*stack.PacketBuffer
	pending []*stack.PacketBuffer
	seg     int

	// mu guards the fields below and sends on events; Write holds it for
	// reading so that Close, and a change of gateway, wait for packets
	// being delivered.
	mu     sync.RWMutex
	events chan tun.Event
	closed bool
	name   string
	addrs  []netip.Prefix
	routes routeSet // set by applyRoutes
	mtu    int
	gw     *gateway // nil: nothing is forwarded
}

var _ tun.Device = (*link)(nil)

// newLink creates a stack with one NIC holding addrs. name is what Name
// reports.
func newLink(name string, addrs []netip.Prefix, mtu int) (*link, error) {
	s := stack.New(stack.Options{
		// A loopback source is not a martian here: wireguard-go admits a
		// packet only from the peer whose allowed IPs contain its source,
		// so a loopback source is one the membership routes (a router
		// serving a loopback prefix), not a spoof.
		NetworkProtocols: []stack.NetworkProtocolFactory{
			ipv4.NewProtocolWithOptions(ipv4.Options{AllowExternalLoopbackTraffic: true}),
			ipv6.NewProtocolWithOptions(ipv6.Options{AllowExternalLoopbackTraffic: true}),
		},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol, icmp.NewProtocol4, icmp.NewProtocol6},
		HandleLocal:        true,
	})
	sack := tcpip.TCPSACKEnabled(true)
	if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack); err != nil {
		s.Destroy()
		return nil, fmt.Errorf("enable TCP SACK: %s", err)
	}
	out := newOutQueue(outboundQueueLen)
	ep := newLinkEndpoint(mtu, out)
	if err := s.CreateNIC(nicID, ep); err != nil {
		s.Destroy()
		return nil, fmt.Errorf("create NIC: %s", err)
	}
	// Everything leaves through the one NIC, to wireguard-go, which routes
	// by allowed IPs. gVisor's own table is a list scanned on every
	// insertion and lookup, unfit for a route per peer; the routes that
	// decide what the proxies may reach are the link's (see reaches).
	s.SetRouteTable([]tcpip.Route{
		{Destination: header.IPv4EmptySubnet, NIC: nicID},
		{Destination: header.IPv6EmptySubnet, NIC: nicID},
	})
	ctx, cancel := context.WithCancel(context.Background())
	l := &link{
		stack:      s,
		ep:         ep,
		out:        out,
		name:       name,
		readCtx:    ctx,
		cancelRead: cancel,
		events:     make(chan tun.Event, 1),
		mtu:        mtu,
	}
	if err := l.setAddresses(addrs); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func protocolAddress(p netip.Prefix) tcpip.ProtocolAddress {
	proto := ipv4.ProtocolNumber
	if p.Addr().Is6() {
		proto = ipv6.ProtocolNumber
	}
	return tcpip.ProtocolAddress{
		Protocol: proto,
		AddressWithPrefix: tcpip.AddressWithPrefix{
			Address:   tcpip.AddrFromSlice(p.Addr().AsSlice()),
			PrefixLen: p.Bits(),
		},
	}
}

// setAddresses makes addrs the NIC's addresses: it adds the new ones first
// and then removes the ones no longer wanted, so connections on addresses
// that stay are not touched.
func (l *link) setAddresses(addrs []netip.Prefix) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var added []netip.Prefix
	for _, p := range addrs {
		if containsAddr(l.addrs, p.Addr()) {
			continue
		}
		if err := l.stack.AddProtocolAddress(nicID, protocolAddress(p), stack.AddressProperties{}); err != nil {
			for _, a := range added {
				l.stack.RemoveAddress(nicID, protocolAddress(a).AddressWithPrefix.Address)
			}
			return fmt.Errorf("add address %s: %s", p, err)
		}
		added = append(added, p)
	}
	for _, p := range l.addrs {
		if !containsAddr(addrs, p.Addr()) {
			// Absent addresses are not an error worth failing on: the
			// address is gone either way.
			l.stack.RemoveAddress(nicID, protocolAddress(p).AddressWithPrefix.Address)
		}
	}
	l.addrs = append([]netip.Prefix(nil), addrs...)
	return nil
}

// applyRoutes changes the routes by difference (valid, masked prefixes):
// c.Remove first, then c.Add, except prefixes the addresses imply, which
// need no route (hostapi.Backend.ApplyRoutes). It takes time in proportion
// to the change.
func (l *link) applyRoutes(c hostapi.RouteChanges) {
	l.mu.Lock()
	defer l.mu.Unlock()
	implied := hostapi.ImpliedRoutes(l.addrs)
	for _, p := range c.Remove {
		l.routes.remove(p)
	}
	for _, p := range c.Add {
		if !slices.Contains(implied, p) {
			l.routes.add(p)
		}
	}
}

// routeList returns the routes set by applyRoutes that the addresses do not
// imply now, sorted, to be read only (routeSet.list: a status of 10,000
// routes copies none of them unless an address implies one). It takes the
// write lock: routeSet.list keeps its sorted routes.
func (l *link) routeList() []netip.Prefix {
	l.mu.Lock()
	defer l.mu.Unlock()
	implied := hostapi.ImpliedRoutes(l.addrs)
	isImplied := func(p netip.Prefix) bool { return slices.Contains(implied, p) }
	routes := l.routes.list()
	if !slices.ContainsFunc(routes, isImplied) {
		return routes
	}
	return slices.DeleteFunc(slices.Clone(routes), isImplied)
}

// reaches returns nil if the proxies and forwards may send to a: a is one
// of the link's addresses, in a subnet they imply, or covered by a route
// (see covers: a default route does not carry a host-scoped address).
// Otherwise it returns an error wrapping errNoRoute.
func (l *link) reaches(a netip.Addr) error {
	a = a.Unmap()
	l.mu.RLock()
	defer l.mu.RUnlock()
	if containsAddr(l.addrs, a) || covers(hostapi.ImpliedRoutes(l.addrs), a) || l.routes.covers(a) {
		return nil
	}
	return fmt.Errorf("%w for %s", errNoRoute, a)
}

func containsAddr(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Addr() == a {
			return true
		}
	}
	return false
}

// setMTU changes the MTU of the stack and tells wireguard-go.
func (l *link) setMTU(mtu int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return os.ErrClosed
	}
	if mtu == l.mtu {
		return nil
	}
	if err := l.stack.SetNICMTU(nicID, uint32(mtu)); err != nil {
		return fmt.Errorf("set MTU %d: %s", mtu, err)
	}
	if l.gw != nil {
		if err := l.gw.setMTU(mtu); err != nil {
			return err
		}
	}
	l.mtu = mtu
	select {
	case l.events <- tun.EventMTUUpdate:
	default: // an update is already pending; wireguard-go reads the MTU anew
	}
	return nil
}

// File returns nil: the link has no file descriptor.
func (l *link) File() *os.File { return nil }

// Name returns the name given to newLink or setName.
func (l *link) Name() (string, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.name, nil
}

// setName changes what Name reports; there is no OS interface to rename.
func (l *link) setName(name string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.name = name
}

// MTU returns the current MTU.
func (l *link) MTU() (int, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.mtu, nil
}

// Events returns the channel of MTU updates; it is closed by Close.
func (l *link) Events() <-chan tun.Event { return l.events }

// BatchSize is the most packets Read returns at once.
func (l *link) BatchSize() int { return 64 }

// Read blocks for the next packet the stack sends, then takes any further
// queued packets, up to len(bufs). A TCP segment the stack sent in one
// piece (see linkEndpoint.SupportedGSO) is returned as the packets it is
// cut into; what does not fit in bufs is returned by the next Read.
func (l *link) Read(bufs [][]byte, sizes []int, offset int) (int, error) {
	l.readMu.Lock()
	defer l.readMu.Unlock()
	n := 0
	for n < len(bufs) {
		if len(l.pending) == 0 {
			k := l.out.take(l.readCtx, l.taken[:], n == 0)
			if k == 0 {
				break
			}
			l.pending = l.taken[:k]
		}
		pkt := l.pending[0]
		slices := pkt.AsSlices()
		count := segmentCount(pkt)
		for l.seg < count && n < len(bufs) {
			sizes[n] = writeSegment(bufs[n][offset:], pkt, slices, l.seg)
			l.seg++
			n++
		}
		if l.seg < count {
			break // bufs are full: the rest of pkt goes with the next Read
		}
		pkt.DecRef()
		l.pending[0] = nil
		l.pending = l.pending[1:]
		l.seg = 0
	}
	if n == 0 {
		return 0, os.ErrClosed
	}
	return n, nil
}

// setGateway makes g (nil: none) the gateway that Write hands forwarded
// packets to, and returns the previous one. Once it returns, no packet is
// being handed to the previous gateway, which the caller may close.
func (l *link) setGateway(g *gateway) *gateway {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.gw
	l.gw = g
	return old
}

// outbound is the queue of packets the stack sends to wireguard-go; a
// gateway's stack sends into it too.
func (l *link) outbound() *outQueue { return l.out }

// Write delivers decrypted packets into the stack, or into the gateway's
// stack for a destination it claims that is not one of the link's
// addresses. The packets of one call that go to the stack are delivered as
// a batch (see inbound): consecutive TCP segments of a flow reach it as
// one.
func (l *link) Write(bufs [][]byte, offset int) (int, error) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return 0, os.ErrClosed
	}
	in := l.ep.startInbound()
	defer in.flush()
	for _, b := range bufs {
		packet := b[offset:]
		if len(packet) == 0 {
			continue
		}
		var proto tcpip.NetworkProtocolNumber
		switch packet[0] >> 4 {
		case 4:
			proto = ipv4.ProtocolNumber
		case 6:
			proto = ipv6.ProtocolNumber
		default:
			return 0, syscall.EAFNOSUPPORT
		}
		if l.gw != nil {
			if dst, transport, ok := packetDestination(packet); ok && !containsAddr(l.addrs, dst) && l.gw.claims(dst, transport) {
				l.gw.inject(proto, packet)
				continue
			}
		}
		pkb := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(packet)})
		in.add(proto, pkb)
		pkb.DecRef()
	}
	return len(bufs), nil
}

// packetDestination returns the destination address and transport protocol
// (IPv4 protocol, or the IPv6 next header: an extension header is not
// looked through) of an IP packet, and false if packet is too short for its
// header.
func packetDestination(packet []byte) (dst netip.Addr, transport uint8, ok bool) {
	switch {
	case len(packet) >= header.IPv4MinimumSize && packet[0]>>4 == 4:
		return netip.AddrFrom4([4]byte(packet[16:20])), packet[9], true
	case len(packet) >= header.IPv6MinimumSize && packet[0]>>4 == 6:
		return netip.AddrFrom16([16]byte(packet[24:40])), packet[6], true
	}
	return netip.Addr{}, 0, false
}

// Close aborts every connection of the stack, stops its goroutines, makes
// Read return os.ErrClosed and closes Events. It is idempotent.
func (l *link) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil
	}
	l.closed = true
	l.cancelRead()
	l.ep.Close()
	l.stack.Destroy()
	l.out.close()
	close(l.events)
	return nil
}
