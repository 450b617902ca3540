package wgtun

import (
	"net"
	"net/netip"

	"github.com/rustynet/rustynet/hostapi"
)

// prefixOf converts n, keeping its host bits, from the net package's form.
func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	a, ok := netip.AddrFromSlice(n.IP)
	if !ok {
		return netip.Prefix{}, false
	}
	a = a.Unmap()
	bits, total := n.Mask.Size()
	if total == 0 {
		return netip.Prefix{}, false
	}
	if a.Is4() && total == 128 {
		bits -= 96
	}
	return netip.PrefixFrom(a, bits), true
}

// invalidName is the error for an interface name the platform rejects.
func invalidName(name string) error {
	return hostapi.Errorf(hostapi.CodeInvalidArgument, "invalid interface name %q", name)
}
