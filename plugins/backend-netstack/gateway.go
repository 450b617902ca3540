package netstack

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/transport/tcp"
	"gvisor.dev/gvisor/pkg/tcpip/transport/udp"
	"gvisor.dev/gvisor/pkg/waiter"
)

// Limits of a gateway.
const (
	// maxGatewayTCP bounds the forwarded TCP connections open at once; a
	// connection request beyond it is reset.
	maxGatewayTCP = 1024
	// maxGatewayHandshakes bounds the connection requests whose host-side
	// dial is under way; gVisor ignores SYNs beyond it, and the client
	// retransmits.
	maxGatewayHandshakes = 128
	// maxGatewayUDP bounds the forwarded UDP flows; a datagram that would
	// open one more is dropped. A flow ends after udpIdle without a
	// datagram either way.
	maxGatewayUDP = 512
	// gatewayDialTimeout bounds the host-side dial of a forwarded TCP
	// connection. It is shorter than dialTimeout, so that a client dialing
	// through a netstack proxy hears the reset before it gives up.
	gatewayDialTimeout = 20 * time.Second
)

// gatewayPolicy is what a gateway forwards: destinations covered by its
// prefixes (see covers: a default route, an exit's, does not cover
// host-scoped addresses), except the node's own addresses and addresses no
// flow can be forwarded to (multicast, unspecified, broadcast,
// IPv4-mapped). Masquerade has no part in it: forwarded connections are
// opened by the host, from its own address, whatever Masquerade says.
type gatewayPolicy struct {
	prefixes []netip.Prefix
	own      []netip.Addr // the interface's addresses
}

func newGatewayPolicy(g hostapi.GatewayConfig, addrs []netip.Prefix) *gatewayPolicy {
	p := &gatewayPolicy{prefixes: append([]netip.Prefix(nil), g.Prefixes...)}
	for _, a := range addrs {
		p.own = append(p.own, a.Addr())
	}
	return p
}

// unforwardable reports whether a is an address no flow is forwarded to,
// whatever the prefixes.
func unforwardable(a netip.Addr) bool {
	return !a.IsValid() || a.Is4In6() || a.IsMulticast() || a.IsUnspecified() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// claims reports whether packets to a are the gateway's business: a lies
// inside one of its prefixes. The gateway's stack then takes them, and
// refuses (a TCP reset) those it does not forward; packets it does not
// claim are dropped.
func (p *gatewayPolicy) claims(a netip.Addr) bool {
	if unforwardable(a) {
		return false
	}
	for _, pr := range p.prefixes {
		if pr.Contains(a) {
			return true
		}
	}
	return false
}

// allows reports whether the gateway forwards flows to a.
func (p *gatewayPolicy) allows(a netip.Addr) bool {
	for _, o := range p.own {
		if a == o {
			return false
		}
	}
	return !unforwardable(a) && covers(p.prefixes, a)
}

// gateway forwards TCP and UDP from peers to destinations beyond the node,
// as a userspace router does: its own gVisor stack, promiscuous and
// allowed to spoof any source address, terminates each flow that the link
// hands it (see link.Write), and the host dials the real destination. A
// TCP connection is accepted on the mesh side only once the host's dial has
// succeeded, so a refused or unreachable target gives the client a reset;
// a UDP flow is a pair of connected sockets that lives until idle.
//
// The gateway's stack is separate from the link's, so forwarded flows
// never reach the link's listeners (the exposes, which are bound to any
// address) and packets to the node's own addresses never reach the
// forwarders. Its replies join the link's outbound queue to wireguard-go.
type gateway struct {
	stack  *stack.Stack
	in     *channel.Endpoint // inbound side of the gateway's NIC
	svc    *service          // every forwarded connection and its goroutines
	policy atomic.Pointer[gatewayPolicy]

	tcpSlots chan struct{} // one token per open forwarded TCP connection
	udpSlots chan struct{} // one token per open forwarded UDP flow

	// mu orders policy changes with flows being opened, so that a flow
	// the new policy does not allow is either refused or closed.
	mu    sync.Mutex
	flows map[*gatewayFlow]struct{} // guarded by mu
}

// gatewayFlow is one forwarded connection or UDP flow: its destination and
// its two sockets.
type gatewayFlow struct {
	dst   netip.Addr
	conns [2]net.Conn
}

// newGateway creates a gateway whose stack sends into out with the given
// MTU and forwards what policy allows.
func newGateway(log *slog.Logger, out *outQueue, mtu int, policy *gatewayPolicy) (*gateway, error) {
	s := stack.New(stack.Options{
		// Loopback destinations reach the forwarders, which refuse them
		// unless a prefix names them; gVisor would drop them unanswered.
		NetworkProtocols: []stack.NetworkProtocolFactory{
			ipv4.NewProtocolWithOptions(ipv4.Options{AllowExternalLoopbackTraffic: true}),
			ipv6.NewProtocolWithOptions(ipv6.Options{AllowExternalLoopbackTraffic: true}),
		},
		TransportProtocols: []stack.TransportProtocolFactory{tcp.NewProtocol, udp.NewProtocol},
	})
	g := &gateway{
		stack:    s,
		in:       channel.New(1, uint32(mtu), ""),
		svc:      newService("gateway", log, proxyLimits{}),
		tcpSlots: make(chan struct{}, maxGatewayTCP),
		udpSlots: make(chan struct{}, maxGatewayUDP),
		flows:    make(map[*gatewayFlow]struct{}),
	}
	g.policy.Store(policy)
	sack := tcpip.TCPSACKEnabled(true)
	if err := s.SetTransportProtocolOption(tcp.ProtocolNumber, &sack); err != nil {
		s.Destroy()
		return nil, fmt.Errorf("gateway: enable TCP SACK: %s", err)
	}
	if err := s.CreateNIC(nicID, &gatewayNIC{Endpoint: g.in, out: out}); err != nil {
		s.Destroy()
		return nil, fmt.Errorf("gateway: create NIC: %s", err)
	}
	// Promiscuous: every destination is local to the NIC; spoofing: its
	// endpoints may send from the destinations they stand in for.
	if err := s.SetPromiscuousMode(nicID, true); err != nil {
		s.Destroy()
		return nil, fmt.Errorf("gateway: promiscuous mode: %s", err)
	}
	if err := s.SetSpoofing(nicID, true); err != nil {
		s.Destroy()
		return nil, fmt.Errorf("gateway: spoofing: %s", err)
	}
	// Replies go to whoever asked; wireguard-go picks the peer.
	s.SetRouteTable([]tcpip.Route{
		{Destination: header.IPv4EmptySubnet, NIC: nicID},
		{Destination: header.IPv6EmptySubnet, NIC: nicID},
	})
	s.SetTransportProtocolHandler(tcp.ProtocolNumber, tcp.NewForwarder(s, 0, maxGatewayHandshakes, g.forwardTCP).HandlePacket)
	s.SetTransportProtocolHandler(udp.ProtocolNumber, udp.NewForwarder(s, g.forwardUDP).HandlePacket)
	return g, nil
}

// gatewayNIC is the gateway stack's link endpoint: packets are injected
// into it like into a channel endpoint, and what the stack sends goes to
// the link's outbound queue.
type gatewayNIC struct {
	*channel.Endpoint
	out *outQueue
}

// WritePackets queues the gateway's packets for wireguard-go.
func (n *gatewayNIC) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	return n.out.WritePackets(pkts)
}

// claims reports whether the gateway takes a packet to dst with the given
// IP protocol: TCP or UDP to a destination its policy claims.
func (g *gateway) claims(dst netip.Addr, transport uint8) bool {
	t := tcpip.TransportProtocolNumber(transport)
	return (t == tcp.ProtocolNumber || t == udp.ProtocolNumber) && g.policy.Load().claims(dst)
}

// inject delivers a packet from a peer into the gateway's stack.
func (g *gateway) inject(proto tcpip.NetworkProtocolNumber, packet []byte) {
	pkb := stack.NewPacketBuffer(stack.PacketBufferOptions{Payload: buffer.MakeWithData(packet)})
	g.in.InjectInbound(proto, pkb)
	pkb.DecRef()
}

// setMTU changes the MTU of the gateway's stack.
func (g *gateway) setMTU(mtu int) error {
	if err := g.stack.SetNICMTU(nicID, uint32(mtu)); err != nil {
		return fmt.Errorf("gateway: set MTU %d: %s", mtu, err)
	}
	return nil
}

// setPolicy makes p the policy and closes the open flows it no longer
// allows.
func (g *gateway) setPolicy(p *gatewayPolicy) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.policy.Store(p)
	for f := range g.flows {
		if !p.allows(f.dst) {
			f.conns[0].Close()
			f.conns[1].Close()
		}
	}
}

// open records a flow to dst over mesh and host, tracked by the service,
// and returns it; if the policy no longer allows dst or the gateway is
// closing, it closes both and returns false.
func (g *gateway) open(dst netip.Addr, mesh, host net.Conn) (*gatewayFlow, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.policy.Load().allows(dst) {
		mesh.Close()
		host.Close()
		return nil, false
	}
	// track closes what it cannot track; shutdown closes what it has.
	if !g.svc.track(mesh) {
		host.Close()
		return nil, false
	}
	if !g.svc.track(host) {
		return nil, false
	}
	f := &gatewayFlow{dst: dst, conns: [2]net.Conn{mesh, host}}
	g.flows[f] = struct{}{}
	return f, true
}

// done forgets a flow whose relay has ended.
func (g *gateway) done(f *gatewayFlow) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.flows, f)
}

// forwardTCP handles a connection request from a peer, in a goroutine of
// gVisor's forwarder: it dials the destination from the host and, only if
// that works, completes the handshake with the peer and relays.
func (g *gateway) forwardTCP(r *tcp.ForwarderRequest) {
	if !g.svc.enter() {
		r.Complete(false) // closing: the stack is going away
		return
	}
	defer g.svc.leave()
	id := r.ID()
	dst := netip.AddrPortFrom(netipAddr(id.LocalAddress), id.LocalPort)
	if !g.policy.Load().allows(dst.Addr()) {
		g.svc.log.Debug("netstack: gateway refuses a TCP destination", "dst", dst, "from", netipAddr(id.RemoteAddress))
		r.Complete(true)
		return
	}
	select {
	case g.tcpSlots <- struct{}{}:
		defer func() { <-g.tcpSlots }()
	default:
		g.svc.log.Warn("netstack: gateway at its TCP connection limit; resetting", "dst", dst, "limit", maxGatewayTCP)
		r.Complete(true)
		return
	}
	ctx, cancel := context.WithTimeout(g.svc.ctx, gatewayDialTimeout)
	var d net.Dialer
	host, err := d.DialContext(ctx, "tcp", dst.String())
	cancel()
	if err != nil {
		g.svc.log.Debug("netstack: gateway cannot reach a TCP destination", "dst", dst, "err", err)
		r.Complete(true)
		return
	}
	var wq waiter.Queue
	ep, terr := r.CreateEndpoint(&wq)
	if terr != nil {
		g.svc.log.Debug("netstack: gateway handshake with the peer failed", "dst", dst, "err", terr)
		r.Complete(true)
		host.Close()
		return
	}
	r.Complete(false)
	f, ok := g.open(dst.Addr(), gonet.NewTCPConn(&wq, ep), host)
	if !ok {
		return
	}
	g.svc.splice(f.conns[0], f.conns[1])
	g.done(f)
}

// forwardUDP handles a datagram from a peer that no flow of the gateway
// takes yet, in gVisor's delivery path (it must not block): it opens a flow
// to the destination if the policy allows it and the limit has room, and
// drops the datagram otherwise.
func (g *gateway) forwardUDP(r *udp.ForwarderRequest) {
	id := r.ID()
	dst := netip.AddrPortFrom(netipAddr(id.LocalAddress), id.LocalPort)
	if !g.policy.Load().allows(dst.Addr()) {
		g.svc.log.Debug("netstack: gateway refuses a UDP destination", "dst", dst, "from", netipAddr(id.RemoteAddress))
		return
	}
	select {
	case g.udpSlots <- struct{}{}:
	default:
		g.svc.log.Warn("netstack: gateway at its UDP flow limit; dropping", "dst", dst, "limit", maxGatewayUDP)
		return
	}
	if !g.svc.enter() {
		<-g.udpSlots
		return
	}
	var wq waiter.Queue
	ep, err := r.CreateEndpoint(&wq) // delivers this first datagram to ep
	if err != nil {
		g.svc.log.Debug("netstack: gateway cannot open a UDP flow", "dst", dst, "err", err)
		g.svc.leave()
		<-g.udpSlots
		return
	}
	mesh := gonet.NewUDPConn(&wq, ep)
	go func() {
		defer g.svc.leave()
		defer func() { <-g.udpSlots }()
		host, err := net.DialUDP("udp", nil, net.UDPAddrFromAddrPort(dst))
		if err != nil {
			g.svc.log.Debug("netstack: gateway cannot reach a UDP destination", "dst", dst, "err", err)
			mesh.Close()
			return
		}
		f, ok := g.open(dst.Addr(), mesh, host)
		if !ok {
			return
		}
		g.svc.spliceDatagrams(f.conns[0], f.conns[1])
		g.done(f)
	}()
}

// close stops forwarding: it closes every forwarded connection, waits for
// their goroutines and destroys the gateway's stack. The link must no
// longer hand it packets (link.setGateway).
func (g *gateway) close() {
	g.svc.shutdown()
	g.stack.Destroy()
}
