package main

import (
	"net"
	"net/netip"

	"github.com/vishvananda/netlink"
)

func route(iface string, p netip.Prefix) (*netlink.Route, error) {
	link, err := netlink.LinkByName(iface)
	if err != nil {
		return nil, err
	}
	dst := &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
	r := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: dst, Scope: netlink.SCOPE_LINK}
	if p.Addr().Is6() {
		r.Scope = netlink.SCOPE_UNIVERSE
	}
	return r, nil
}

// replaceRoute routes p into iface in the main table, replacing any route
// with the same key (the host's own default route among them).
func replaceRoute(iface string, p netip.Prefix) error {
	r, err := route(iface, p)
	if err != nil {
		return err
	}
	return netlink.RouteReplace(r)
}

func delRoute(iface string, p netip.Prefix) error {
	r, err := route(iface, p)
	if err != nil {
		return err
	}
	return netlink.RouteDel(r)
}
