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
// destination that does not answer), HTTP CONNECT 502.
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

// stackRoutes returns what the stack routes into the tunnel: the subnets
// the addresses imply (an address 100.64.0.1/10 routes 100.64.0.0/10 as on
// any OS interface) and the routes, each once, sorted.
func stackRoutes(addrs, routes []netip.Prefix) []netip.Prefix {
	out := append(hostapi.ImpliedRoutes(addrs), routes...)
	slices.SortFunc(out, netip.Prefix.Compare)
	return slices.Compact(out)
}

// subnet converts p to gVisor's form.
func subnet(p netip.Prefix) tcpip.Subnet {
	return tcpip.AddressWithPrefix{Address: tcpip.AddrFromSlice(p.Addr().AsSlice()), PrefixLen: p.Bits()}.Subnet()
}

// netipAddr converts a gVisor address (4 or 16 bytes) to a netip.Addr.
func netipAddr(a tcpip.Address) netip.Addr {
	ip, _ := netip.AddrFromSlice(a.AsSlice())
	return ip
}
