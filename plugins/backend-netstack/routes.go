package netstack

import (
	"errors"
	"net/netip"
	"slices"

	"github.com/rustynet/rustynet/hostapi"
	"gvisor.dev/gvisor/pkg/tcpip"
)

// errNoRoute is the error of a dial to a destination that no route of the
// stack covers. The proxies answer it at once: SOCKS5 "network unreachable"
// (RFC 1928 reply 3: there is no route to the destination's network, as
// with ENETUNREACH; "host unreachable", reply 4, is kept for a routed
// destination that does not answer), HTTP 502.
var errNoRoute = errors.New("network unreachable: no route into the mesh")

// hostScoped reports whether a is an address whose meaning is local to a
// host or a link: loopback, link-local, multicast, unspecified, IPv4
// "this network" (0.0.0.0/8) and limited broadcast, or an IPv4-mapped IPv6
// address (which a host would dial as IPv4, around every IPv4 rule). A
// default route never carries such an address (on every host they are
// claimed by more specific routes of its own), and an exit node never
// forwards to one; a route or gateway prefix that names one explicitly,
// such as a router's 127.77.0.0/16, covers it.
func hostScoped(a netip.Addr) bool {
	if a.Is4() && (a.As4()[0] == 0 || a == netip.AddrFrom4([4]byte{255, 255, 255, 255})) {
		return true
	}
	return !a.IsValid() || a.Is4In6() || a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() ||
		a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsInterfaceLocalMulticast()
}

// covers reports whether one of prefixes covers a: contains it, and is not
// a default route (0.0.0.0/0, ::/0) if a is host-scoped. It is the one rule
// of which destination a set of prefixes reaches, for the routes of the
// stack and the prefixes of a gateway alike.
func covers(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) && (!hostapi.IsDefaultRoute(p) || !hostScoped(a)) {
			return true
		}
	}
	return false
}

// routeSet is a set of routes that answers covers in time proportional
// to the number of distinct prefix lengths it holds, not to the number of
// routes: a mesh of 10,000 peers routes 10,000 host prefixes, and every
// dial asks. The zero value is empty and ready.
type routeSet struct {
	set     map[netip.Prefix]struct{}
	lengths [2][129]int    // per family (0: IPv4, 1: IPv6), routes per prefix length
	sorted  []netip.Prefix // the routes sorted, for list; nil after a change until list
}

func family(p netip.Prefix) int {
	if p.Addr().Is4() {
		return 0
	}
	return 1
}

// add adds p (valid, masked).
func (s *routeSet) add(p netip.Prefix) {
	if s.set == nil {
		s.set = make(map[netip.Prefix]struct{})
	}
	if _, ok := s.set[p]; !ok {
		s.set[p] = struct{}{}
		s.lengths[family(p)][p.Bits()]++
		s.sorted = nil
	}
}

// remove removes p; an absent p is not an error.
func (s *routeSet) remove(p netip.Prefix) {
	if _, ok := s.set[p]; ok {
		delete(s.set, p)
		s.lengths[family(p)][p.Bits()]--
		s.sorted = nil
	}
}

// covers reports whether a route of s covers a, by the rule of covers.
func (s *routeSet) covers(a netip.Addr) bool {
	if !a.IsValid() || len(s.set) == 0 {
		return false
	}
	f := 1
	if a.Is4() {
		f = 0
	}
	for bits, n := range s.lengths[f] {
		if n == 0 || bits > a.BitLen() {
			continue
		}
		if _, ok := s.set[netip.PrefixFrom(a, bits).Masked()]; ok && (bits > 0 || !hostScoped(a)) {
			return true
		}
	}
	return false
}

// list returns the routes, sorted, to be read only: they are kept until
// the next change, which replaces them and never writes to them, so a
// caller may hold them as long as it likes (clipped: an append copies).
// Every status lists them (10,000 at 10,000 peers), and they change far
// less often. It must not run concurrently with itself or a change.
func (s *routeSet) list() []netip.Prefix {
	if s.sorted == nil && len(s.set) > 0 {
		s.sorted = make([]netip.Prefix, 0, len(s.set))
		for p := range s.set {
			s.sorted = append(s.sorted, p)
		}
		slices.SortFunc(s.sorted, netip.Prefix.Compare)
	}
	return slices.Clip(s.sorted)
}

// netipAddr converts a gVisor address (4 or 16 bytes) to a netip.Addr.
func netipAddr(a tcpip.Address) netip.Addr {
	ip, _ := netip.AddrFromSlice(a.AsSlice())
	return ip
}
