package policy

import (
	"net/netip"
	"slices"
	"sync"

	"github.com/rustynet/rustynet/core/membership"
)

// reserved are the special-purpose ranges that are not the internet
// (IANA IPv4 and IPv6 special-purpose address registries, the ranges that
// are not globally reachable unicast): docs/policy.md §2.
var reserved = mustPrefixes(
	"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
	"192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24",
	"203.0.113.0/24", "224.0.0.0/4", "240.0.0.0/4",
	"2001:db8::/32", "3fff::/20",
)

// publicSpace is the internet before the network's own space is taken out:
// IPv4 without the reserved ranges, and IPv6 global unicast (2000::/3)
// without them. It is computed once.
var publicSpace = sync.OnceValue(func() []netip.Prefix {
	return subtract(mustPrefixes("0.0.0.0/0", "2000::/3"), reserved)
})

// PublicSpace returns the internet as exit rules see it before the
// network's own space is taken out (docs/policy.md §2): IPv4 and IPv6
// global unicast without the special-purpose ranges, as an aggregate.
func PublicSpace() []netip.Prefix { return slices.Clone(publicSpace()) }

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

// routerServes returns the prefixes an active node tagged "router" serves
// by its signed record: its routes, except default routes. (reconcile
// serves the same, less the routes that are a node's mesh address, which
// every user of this function takes out as mesh space anyway;
// TestServedMatchesReconcile holds the two together.) nil for a node that
// is not an active router.
func routerServes(n *membership.Node) []netip.Prefix {
	if !active(n) || !n.HasTag(membership.TagRouter) {
		return nil
	}
	var out []netip.Prefix
	for _, r := range n.Routes {
		if r.Bits() > 0 {
			out = append(out, r)
		}
	}
	return aggregate(out)
}

// isExit reports whether n is an active node tagged "exit": it carries
// traffic to the internet for the nodes that choose it.
func isExit(n *membership.Node) bool {
	return active(n) && n.HasTag(membership.TagExit)
}
