package wgtun

import (
	"net/netip"
	"slices"

	"github.com/rustynet/rustynet/hostapi"
)

const (
	defaultMTU = 1420  // InterfaceConfig.MTU 0 means this
	minMTU     = 576   // the least every IPv4 host must accept
	minMTUIPv6 = 1280  // the least IPv6 allows on a link
	maxMTU     = 65535 // the largest IP packet
)

// validateConfig rejects, before anything is created or changed, a
// configuration this backend cannot apply.
func validateConfig(cfg hostapi.InterfaceConfig) error {
	if cfg.Proxy != nil {
		return hostapi.Errorf(hostapi.CodeUnsupported, "wgtun has no proxies; the netstack backend does")
	}
	if cfg.PrivateKey.IsZero() {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "zero private key")
	}
	if err := validateName(cfg.Name); err != nil {
		return err
	}
	hasIPv6 := false
	for i, p := range cfg.Addresses {
		a := p.Addr()
		if !p.IsValid() || a.IsUnspecified() || a.IsMulticast() || a.Is4In6() {
			return hostapi.Errorf(hostapi.CodeInvalidArgument, "invalid interface address %v", p)
		}
		if slices.ContainsFunc(cfg.Addresses[:i], func(q netip.Prefix) bool { return q.Addr() == a }) {
			return hostapi.Errorf(hostapi.CodeInvalidArgument, "interface address %v given twice", a)
		}
		hasIPv6 = hasIPv6 || a.Is6()
	}
	if cfg.MTU != 0 {
		least := minMTU
		if hasIPv6 {
			least = minMTUIPv6
		}
		if cfg.MTU < least || cfg.MTU > maxMTU {
			return hostapi.Errorf(hostapi.CodeInvalidArgument, "MTU %d: want 0 (for %d) or %d to %d", cfg.MTU, defaultMTU, least, maxMTU)
		}
	}
	return nil
}

// mtuOf is the MTU cfg asks for.
func mtuOf(cfg hostapi.InterfaceConfig) int {
	if cfg.MTU == 0 {
		return defaultMTU
	}
	return cfg.MTU
}

// validateRoutes checks routes for SetRoutes and returns them without
// repeats, sorted.
func validateRoutes(routes []netip.Prefix) ([]netip.Prefix, error) {
	for _, p := range routes {
		switch {
		case !p.IsValid():
			return nil, hostapi.Errorf(hostapi.CodeInvalidArgument, "invalid route %v", p)
		case p != p.Masked():
			return nil, hostapi.Errorf(hostapi.CodeInvalidArgument, "route %v has host bits set; want %v", p, p.Masked())
		case p.Bits() == 0:
			return nil, hostapi.Errorf(hostapi.CodeUnsupported, "default route %v would capture the tunnel's own packets", p)
		}
	}
	want := slices.Clone(routes)
	slices.SortFunc(want, netip.Prefix.Compare)
	return slices.Compact(want), nil
}

// impliedRoutes are the prefixes that addrs route into the interface by
// themselves: the subnet of every address that is not a host address.
func impliedRoutes(addrs []netip.Prefix) map[netip.Prefix]bool {
	implied := make(map[netip.Prefix]bool, len(addrs))
	for _, a := range addrs {
		if a.Bits() < a.Addr().BitLen() {
			implied[a.Masked()] = true
		}
	}
	return implied
}
