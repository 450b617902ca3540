package netstack

import (
	"io"
	"net"
	"net/netip"
	"sync"

	"github.com/rustynet/rustynet/hostapi"
	"gvisor.dev/gvisor/pkg/tcpip/adapters/gonet"
)

// Removing a peer drops its packets in wireguard-go at once, but a
// connection proxied to it (or from it, through an expose or the gateway)
// would only go silent: its client waits for a timeout that may never
// come. So a removal also ends every flow whose far end in the mesh has
// lost its peer: TCP clients on the host see a reset, UDP sessions end.

// peerIndex is the allowed IPs of the backend's peers as its successful
// ApplyPeers and RemovePeers left them, to tell which peer serves an
// address (the longest match, as wireguard-go routes). The device stays
// authoritative: the index only picks the flows a removal ends. Calls that
// change the same peer concurrently may leave it one change behind for
// that peer, as their order in the device is not known here.
type peerIndex struct {
	mu      sync.Mutex
	ips     map[hostapi.Key][]netip.Prefix // guarded by mu
	owners  map[netip.Prefix]hostapi.Key   // guarded by mu
	lengths [2][129]int                    // prefixes per family and length; guarded by mu
}

func newPeerIndex() *peerIndex {
	return &peerIndex{ips: make(map[hostapi.Key][]netip.Prefix), owners: make(map[netip.Prefix]hostapi.Key)}
}

// owner returns the peer whose allowed IPs match a the longest. x.mu must
// be held.
func (x *peerIndex) owner(a netip.Addr) (hostapi.Key, bool) {
	f := 1
	if a.Is4() {
		f = 0
	}
	for bits := a.BitLen(); bits >= 0; bits-- {
		if x.lengths[f][bits] == 0 {
			continue
		}
		if k, ok := x.owners[netip.PrefixFrom(a, bits).Masked()]; ok {
			return k, true
		}
	}
	return hostapi.Key{}, false
}

// apply records c, which the device has carried out, and returns the
// addresses among far that it leaves served by no peer or by another peer
// than before.
func (x *peerIndex) apply(c hostapi.PeerChanges, far []netip.Addr) map[netip.Addr]bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	before := make([]hostapi.Key, len(far))
	for i, a := range far {
		before[i], _ = x.owner(a)
	}
	for _, k := range c.Remove {
		x.drop(k)
	}
	for _, p := range c.Upsert {
		x.drop(p.PublicKey)
		x.ips[p.PublicKey] = append([]netip.Prefix(nil), p.AllowedIPs...)
		for _, pr := range p.AllowedIPs {
			x.owners[pr] = p.PublicKey
			x.lengths[family(pr)][pr.Bits()]++
		}
	}
	lost := make(map[netip.Addr]bool)
	for i, a := range far {
		if k, ok := x.owner(a); !ok || k != before[i] {
			lost[a] = true
		}
	}
	return lost
}

// drop forgets peer k. x.mu must be held.
func (x *peerIndex) drop(k hostapi.Key) {
	for _, pr := range x.ips[k] {
		if x.owners[pr] == k {
			delete(x.owners, pr)
			x.lengths[family(pr)][pr.Bits()]--
		}
	}
	delete(x.ips, k)
}

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
// conns are skipped.
func (s *service) tag(peer netip.Addr, conns ...io.Closer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range conns {
		if _, ok := s.closers[c]; ok {
			s.peerOf[c] = peer
		}
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
	// Every host connection must carry its linger setting before any end
	// closes, or a relay seeing its other end close would end it in order.
	for _, c := range ends {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
	}
	for _, c := range ends {
		c.Close()
	}
}

// cutLostFlows records the peer change c in the index and ends the flows
// of every service whose far end it leaves without its peer. The device
// has carried c out already.
func (b *Backend) cutLostFlows(c hostapi.PeerChanges) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.dev == nil {
		return
	}
	services := make([]*service, 0, len(b.proxies.running)+1)
	for _, r := range b.proxies.running {
		services = append(services, r.svc)
	}
	if b.gw != nil {
		services = append(services, b.gw.svc)
	}
	ends := make(map[netip.Addr]bool)
	for _, s := range services {
		s.farEnds(ends)
	}
	far := make([]netip.Addr, 0, len(ends))
	for a := range ends {
		far = append(far, a)
	}
	lost := b.peers.apply(c, far)
	if len(lost) == 0 {
		return
	}
	for _, s := range services {
		s.cut(lost)
	}
}
