package wgkernel

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/netlinkdump"
)

// routeProtocol marks the routes this backend owns (rtm_protocol), so that
// SetRoutes changes only those: routes the kernel derives from addresses,
// or an operator adds by hand, are left alone. The number is not one of
// the registered protocols in iproute2's rt_protos.
const routeProtocol netlink.RouteProtocol = 77

// SetRoutes makes exactly routes (besides the routes implied by the
// interface's addresses) lead into the interface, in the main table.
// Prefixes must be valid; host bits are ignored. On error the routes are
// as before.
func (b *Backend) ApplyRoutes(ctx context.Context, c hostapi.RouteChanges) error {
	if err := hostapi.CheckRouteChanges(c); err != nil {
		return err
	}
	dev, err := b.lock(ctx, false)
	if err != nil {
		return err
	}
	defer b.serial.release()
	have, err := dev.routes()
	if err != nil {
		return err
	}
	want := hostapi.ApplyRouteChanges(have, c)
	var undo undoStack
	fail := func(err error) error {
		if uerr := undo.run(); uerr != nil {
			b.logger.Error("wgkernel: undoing a failed SetRoutes", "name", dev.iface.name, "err", uerr)
		}
		return err
	}
	for _, p := range have {
		if slices.Contains(want, p) {
			continue
		}
		if err := dev.nl.RouteDel(dev.route(p)); err != nil {
			return fail(sysErr(fmt.Sprintf("removing route %s from %s", p, dev.iface.name), err))
		}
		undo.push(func() error { return dev.nl.RouteAdd(dev.route(p)) })
	}
	for _, p := range want {
		if slices.Contains(have, p) {
			continue
		}
		if err := dev.nl.RouteAdd(dev.route(p)); err != nil {
			return fail(sysErr(fmt.Sprintf("adding route %s to %s", p, dev.iface.name), err))
		}
		undo.push(func() error { return dev.nl.RouteDel(dev.route(p)) })
	}
	return nil
}

// routes returns the prefixes of the routes this backend owns on the
// interface.
func (d *device) routes() ([]netip.Prefix, error) {
	filter := &netlink.Route{LinkIndex: d.link.Attrs().Index, Protocol: routeProtocol, Table: unix.RT_TABLE_MAIN}
	list, err := netlinkdump.Retry(func() ([]netlink.Route, error) {
		return d.nl.RouteListFiltered(netlink.FAMILY_ALL, filter,
			netlink.RT_FILTER_OIF|netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, sysErr("listing routes of "+d.iface.name, err)
	}
	var out []netip.Prefix
	for _, r := range list {
		if p, ok := ipNetPrefix(r.Dst); ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// route is the netlink form of a route to p through the interface.
func (d *device) route(p netip.Prefix) *netlink.Route {
	r := &netlink.Route{
		LinkIndex: d.link.Attrs().Index,
		Dst:       prefixIPNet(p),
		Protocol:  routeProtocol,
		Table:     unix.RT_TABLE_MAIN,
		Scope:     netlink.SCOPE_LINK,
	}
	if p.Addr().Is6() {
		r.Scope = netlink.SCOPE_UNIVERSE
	}
	return r
}
