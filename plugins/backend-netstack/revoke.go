package netstack

import (
	"io"
	"net"
	"net/netip"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/wgdev"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
)

// Removing a peer drops its packets in wireguard-go at once, but a
// connection proxied to it (or from it, through an expose or the gateway)
// would only go silent: its client waits for a timeout that may never
// come. So a removal also ends every flow whose far end in the mesh has
// lost its peer: TCP clients on the host see a reset, UDP sessions end.

// meshEnd returns the address at the far end of c if c is a connected
// socket in the mesh (the link's stack or the gateway's).
func meshEnd(c net.Conn) (netip.Addr, bool) {
	switch c.(type) {
	case *gonet.TCPConn, *gonet.UDPConn:
		if a := addrPortOf(c.RemoteAddr()).Addr(); a.IsValid() {
			return a.Unmap(), true
		}
	}
	return netip.Addr{}, false
}

// tag records that the tracked conns carry a flow whose far end in the
// mesh is peer, so that cut ends them when peer loses its peer. Untracked
// conns are skipped. A flow is tagged once it is relayed, which may be
// after a peer change that removed peer has cut the flows it found: so
// once the backend has looked at the service (servicesLocked), tag also
// asks whether peer is served still, and cuts the flow if not. Either the
// change's cut finds the tag, or the tag's question comes after the
// change.
func (s *service) tag(peer netip.Addr, conns ...io.Closer) {
	s.mu.Lock()
	tagged := false
	for _, c := range conns {
		if _, ok := s.closers[c]; ok {
			s.peerOf[c] = peer
			tagged = true
		}
	}
	served := s.served
	s.mu.Unlock()
	if tagged && served != nil && !served(peer) {
		s.cut(map[netip.Addr]bool{peer: true})
	}
}

// tagRelay tags a and b with the far end of whichever is in the mesh.
func (s *service) tagRelay(a, b net.Conn) {
	for _, c := range []net.Conn{a, b} {
		if peer, ok := meshEnd(c); ok {
			s.tag(peer, a, b)
			return
		}
	}
}

// farEnds returns the mesh addresses of the service's tagged flows.
func (s *service) farEnds(into map[netip.Addr]bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, a := range s.peerOf {
		into[a] = true
	}
}

// cut ends every tagged flow whose far end is in lost: host TCP
// connections are reset, everything else closed; the relays then finish
// and untrack them.
func (s *service) cut(lost map[netip.Addr]bool) {
	var ends []io.Closer
	s.mu.Lock()
	for c, a := range s.peerOf {
		if lost[a] {
			ends = append(ends, c)
			delete(s.peerOf, c)
		}
	}
	s.mu.Unlock()
	// Host connections are reset first: a relay whose other end closed
	// first could read a clean end there and pass it on as a half-close
	// (a FIN) before the reset.
	for _, c := range ends {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
			tc.Close()
		}
	}
	for _, c := range ends {
		if _, ok := c.(*net.TCPConn); !ok {
			c.Close()
		}
	}
}

// farOwners are the far ends in the mesh of the services' tagged flows,
// each with the peer that served it (the zero key: none), read before a
// peer change.
type farOwners map[netip.Addr]hostapi.Key

// servicesLocked returns the running services whose flows a peer change
// may end. b.mu must be held.
func (b *Backend) servicesLocked() []*service {
	services := make([]*service, 0, len(b.proxies.running)+1)
	for _, r := range b.proxies.running {
		services = append(services, r.svc)
	}
	if b.gw != nil {
		services = append(services, b.gw.svc)
	}
	if dev := b.dev; dev != nil {
		// Not through b.mu: a relay asks while b.mu's holder may be
		// waiting for the relay to end (a service's shutdown).
		served := func(a netip.Addr) bool { return servedBy(dev, a) }
		for _, s := range services {
			s.mu.Lock()
			s.served = served
			s.mu.Unlock()
		}
	}
	return services
}

// servedBy reports whether a peer of dev has a among its allowed IPs;
// true if dev is closed (its flows end with it).
func servedBy(dev *wgdev.Device, a netip.Addr) bool {
	keys, err := dev.Owners([]netip.Addr{a})
	return err != nil || !keys[0].IsZero()
}

// farEndsOf returns the far ends of the services' tagged flows.
func farEndsOf(services []*service) []netip.Addr {
	ends := make(map[netip.Addr]bool)
	for _, s := range services {
		s.farEnds(ends)
	}
	far := make([]netip.Addr, 0, len(ends))
	for a := range ends {
		far = append(far, a)
	}
	return far
}

// farOwnersBefore reads the far ends of the flows and the peers serving
// them, ahead of a peer change on dev (nil if there are no flows: the
// change then ends none).
func (b *Backend) farOwnersBefore(dev *wgdev.Device) farOwners {
	b.mu.Lock()
	defer b.mu.Unlock()
	far := farEndsOf(b.servicesLocked())
	if len(far) == 0 {
		return nil
	}
	keys, err := dev.Owners(far)
	if err != nil {
		return nil // closed: so is every flow
	}
	before := make(farOwners, len(far))
	for i, a := range far {
		before[a] = keys[i]
	}
	return before
}

// cutLostFlows ends the flows of every service whose far end the peer
// change dev has just carried out leaves to no peer, or to another peer
// than before (as farOwnersBefore read it). A flow tagged since that read
// is ended if its far end has no peer now. The device's peer set is the
// index: wireguard-go is configured only through it. Peer calls changing
// the same peers concurrently may each see the other's change as theirs;
// a flow is then ended once, by either.
func (b *Backend) cutLostFlows(dev *wgdev.Device, before farOwners) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.dev == nil {
		return
	}
	services := b.servicesLocked()
	far := farEndsOf(services)
	if len(far) == 0 {
		return
	}
	now, err := dev.Owners(far)
	if err != nil {
		return
	}
	lost := make(map[netip.Addr]bool)
	for i, a := range far {
		was, known := before[a]
		if now[i].IsZero() || (known && was != now[i]) {
			lost[a] = true
		}
	}
	if len(lost) == 0 {
		return
	}
	for _, s := range services {
		s.cut(lost)
	}
}
