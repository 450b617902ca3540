package hostapi

import (
	"net/netip"
	"slices"
)

// CheckRoute reports whether p may be a route or a gateway prefix: valid,
// masked (no host bits set) and not IPv4-mapped. Its error is
// ErrInvalidArgument.
func CheckRoute(p netip.Prefix) error {
	if err := checkPrefix(p, "route"); err != nil {
		return Errorf(CodeInvalidArgument, "%v", err)
	}
	return nil
}

// CheckRouteChanges checks every prefix of c with CheckRoute.
func CheckRouteChanges(c RouteChanges) error {
	for _, p := range c.Remove {
		if err := CheckRoute(p); err != nil {
			return err
		}
	}
	for _, p := range c.Add {
		if err := CheckRoute(p); err != nil {
			return err
		}
	}
	return nil
}

// CheckGateway checks every prefix of g with CheckRoute and refuses one
// listed twice.
func CheckGateway(g GatewayConfig) error {
	for i, p := range g.Prefixes {
		if err := CheckRoute(p); err != nil {
			return err
		}
		if slices.Contains(g.Prefixes[:i], p) {
			return Errorf(CodeInvalidArgument, "gateway prefix %s is listed twice", p)
		}
	}
	return nil
}

// IsDefaultRoute reports whether p is 0.0.0.0/0 or ::/0.
func IsDefaultRoute(p netip.Prefix) bool { return p.IsValid() && p.Bits() == 0 }

// ImpliedRoutes returns the prefixes that addrs route into an interface by
// themselves: the subnet of every address that is not a host address
// (100.64.0.0/10 for 100.64.0.1/10; nothing for 100.64.0.1/32).
func ImpliedRoutes(addrs []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, a := range addrs {
		if a.IsValid() && a.Bits() < a.Addr().BitLen() && !slices.Contains(out, a.Masked()) {
			out = append(out, a.Masked())
		}
	}
	return out
}

// ApplyRouteChanges returns the route set that results from applying c to
// routes (removals first, then additions), sorted and without repeats.
// routes is not modified.
func ApplyRouteChanges(routes []netip.Prefix, c RouteChanges) []netip.Prefix {
	removed := make(map[netip.Prefix]bool, len(c.Remove))
	for _, p := range c.Remove {
		removed[p] = true
	}
	out := slices.DeleteFunc(slices.Clone(routes), func(p netip.Prefix) bool { return removed[p] })
	out = append(out, c.Add...)
	slices.SortFunc(out, netip.Prefix.Compare)
	return slices.Compact(out)
}
