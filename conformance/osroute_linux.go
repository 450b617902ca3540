package conformance

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/rustynet/rustynet/internal/netnamespace"
)

// foreignProtocol marks the routes "someone else" installs for the
// foreign-route case: RTPROT_BOOT, what `ip route add` writes.
const foreignProtocol = netlink.RouteProtocol(unix.RTPROT_BOOT)

// routeDevice returns the name of the interface through which node routes
// packets to a, as `ip route get` answers it; "" when node has no route to
// a.
func routeDevice(node *Node, a netip.Addr) (string, error) {
	var name string
	err := node.do(func() error {
		rs, err := netlink.RouteGet(a.AsSlice())
		switch {
		case errors.Is(err, unix.ENETUNREACH), errors.Is(err, unix.EHOSTUNREACH):
			return nil
		case err != nil:
			return fmt.Errorf("route lookup of %s in node %s: %w", a, node.Name, err)
		case len(rs) == 0 || rs[0].LinkIndex == 0:
			return nil
		}
		link, err := netlink.LinkByIndex(rs[0].LinkIndex)
		if err != nil {
			return fmt.Errorf("the interface of the route to %s in node %s: %w", a, node.Name, err)
		}
		name = link.Attrs().Name
		return nil
	})
	return name, err
}

// foreignRoute is a route to p through interface iface of node, with
// foreignProtocol and foreignMetric.
func foreignRoute(iface string, p netip.Prefix) (*netlink.Route, error) {
	link, err := netlink.LinkByName(iface)
	if err != nil {
		return nil, err
	}
	r := &netlink.Route{
		LinkIndex: link.Attrs().Index,
		Dst:       netnamespace.PrefixIPNet(p),
		Protocol:  foreignProtocol,
		Priority:  foreignMetric,
		Table:     unix.RT_TABLE_MAIN,
		Scope:     netlink.SCOPE_LINK,
	}
	if p.Addr().Is6() {
		r.Scope = netlink.SCOPE_UNIVERSE
	}
	return r, nil
}

// addForeignRoute installs, in node's main table, a route to p through
// iface that the backend did not install.
func addForeignRoute(node *Node, iface string, p netip.Prefix) error {
	return node.do(func() error {
		r, err := foreignRoute(iface, p)
		if err != nil {
			return err
		}
		if err := netlink.RouteAdd(r); err != nil {
			return fmt.Errorf("adding route %s dev %s proto boot metric %d in node %s: %w", p, iface, foreignMetric, node.Name, err)
		}
		return nil
	})
}

// hasForeignRoute reports whether the route addForeignRoute installed is
// still there.
func hasForeignRoute(node *Node, iface string, p netip.Prefix) (bool, error) {
	var found bool
	err := node.do(func() error {
		r, err := foreignRoute(iface, p)
		if err != nil {
			return err
		}
		family := netlink.FAMILY_V4
		if p.Addr().Is6() {
			family = netlink.FAMILY_V6
		}
		rs, err := netlink.RouteListFiltered(family, r, netlink.RT_FILTER_OIF|netlink.RT_FILTER_DST|netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_PRIORITY|netlink.RT_FILTER_TABLE)
		if err != nil {
			return fmt.Errorf("listing routes in node %s: %w", node.Name, err)
		}
		found = len(rs) > 0
		return nil
	})
	return found, err
}

// linkWith returns the link of the current namespace that holds address
// a.
func linkWith(a netip.Addr) (netlink.Link, error) {
	addrs, err := netlink.AddrList(nil, netlink.FAMILY_ALL)
	if err != nil {
		return nil, err
	}
	for _, ad := range addrs {
		if got, ok := netip.AddrFromSlice(ad.IP); ok && got.Unmap() == a {
			return netlink.LinkByIndex(ad.LinkIndex)
		}
	}
	return nil, fmt.Errorf("no interface holds address %s", a)
}

// linkName returns the name of the interface of node that holds address
// a.
func linkName(node *Node, a netip.Addr) (string, error) {
	var name string
	err := node.do(func() error {
		link, err := linkWith(a)
		if err != nil {
			return fmt.Errorf("node %s: %w", node.Name, err)
		}
		name = link.Attrs().Name
		return nil
	})
	return name, err
}

// defaultRouteTo gives node a default route through gw, on the interface
// that holds node's Underlay, and gives the node holding gw (other) the
// address extra on the same link as gw: other is then reached at extra
// only through node's default route.
func defaultRouteTo(node, other *Node, extra netip.Addr) error {
	gw := other.Underlay
	err := other.do(func() error {
		link, err := linkWith(gw)
		if err != nil {
			return err
		}
		return netlink.AddrAdd(link, &netlink.Addr{IPNet: netnamespace.PrefixIPNet(netip.PrefixFrom(extra, extra.BitLen()))})
	})
	if err != nil {
		return fmt.Errorf("address %s in node %s: %w", extra, other.Name, err)
	}
	err = node.do(func() error {
		link, err := linkWith(node.Underlay)
		if err != nil {
			return err
		}
		def := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
		return netlink.RouteAdd(&netlink.Route{LinkIndex: link.Attrs().Index, Dst: netnamespace.PrefixIPNet(def), Gw: gw.AsSlice()})
	})
	if err != nil {
		return fmt.Errorf("default route via %s in node %s: %w", gw, node.Name, err)
	}
	return nil
}
