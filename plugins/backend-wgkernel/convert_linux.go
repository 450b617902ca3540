package wgkernel

import (
	"net"
	"net/netip"
	"slices"
)

// prefixIPNet converts p to the net package's form, keeping host bits
// (an interface address is an address with its subnet's length).
func prefixIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{
		IP:   net.IP(p.Addr().AsSlice()),
		Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()),
	}
}

// ipNetPrefix converts n to a prefix, keeping host bits. IPv4 comes back
// as IPv4 whichever length its net.IP has.
func ipNetPrefix(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	ones, bits := n.Mask.Size()
	ip := n.IP
	if bits == 32 {
		ip = ip.To4()
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok || a.BitLen() != bits {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, ones), true
}

// prefixes converts allowed IPs to masked prefixes, sorted and unique;
// none gives nil.
func prefixes(nets []net.IPNet) []netip.Prefix {
	var out []netip.Prefix
	for i := range nets {
		if p, ok := ipNetPrefix(&nets[i]); ok {
			out = append(out, p.Masked())
		}
	}
	slices.SortFunc(out, comparePrefix)
	return slices.Compact(out)
}

// ipNets converts prefixes to the net package's form.
func ipNets(ps []netip.Prefix) []net.IPNet {
	out := make([]net.IPNet, len(ps))
	for i, p := range ps {
		out[i] = *prefixIPNet(p)
	}
	return out
}

// udpAddrPort converts a UDP address to an AddrPort, IPv4 as IPv4; nil
// gives the zero AddrPort.
func udpAddrPort(a *net.UDPAddr) netip.AddrPort {
	if a == nil {
		return netip.AddrPort{}
	}
	ap := a.AddrPort()
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
