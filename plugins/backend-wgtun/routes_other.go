//go:build !linux

package wgtun

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/hostroute"
	"github.com/rustynet/rustynet/plugins/internal/wgdev"
)

// routing is the routes into the interface, installed through the
// platform's osLink. Default routes and gateways are refused with
// ErrUnsupported: nothing here keeps the tunnel's own packets out of a
// default route, or guards what is forwarded.
type routing struct {
	link      *osLink
	log       *slog.Logger
	want      []netip.Prefix // asked for through ApplyRoutes, sorted
	addrs     []netip.Prefix // the interface's addresses
	installed []netip.Prefix // the routes this backend installed, sorted
}

func openRouting(_ context.Context, l *osLink, _ string, _ *wgdev.Device, addrs []netip.Prefix, gw *hostapi.GatewayConfig, log *slog.Logger) (*routing, error) {
	if gw != nil {
		return nil, errNoGateway()
	}
	return &routing{link: l, log: log, addrs: slices.Clone(addrs)}, nil
}

func (r *routing) apply(ctx context.Context, c hostapi.RouteChanges) error {
	if err := hostapi.CheckRouteChanges(c); err != nil {
		return err
	}
	if slices.ContainsFunc(c.Add, hostapi.IsDefaultRoute) {
		return hostapi.Errorf(hostapi.CodeUnsupported, "wgtun routes default routes on Linux only: here it cannot keep the tunnel's own packets out of them")
	}
	want := hostapi.ApplyRouteChanges(r.want, c)
	if err := r.change(ctx, want, r.addrs); err != nil {
		return err
	}
	r.want = want
	return nil
}

func (r *routing) setAddresses(ctx context.Context, addrs []netip.Prefix) error {
	if err := r.change(ctx, r.want, addrs); err != nil {
		return err
	}
	r.addrs = slices.Clone(addrs)
	return nil
}

// change installs want less what addrs imply, by difference.
func (r *routing) change(ctx context.Context, want, addrs []netip.Prefix) error {
	remove, add := hostroute.Plan(r.installed, want, addrs)
	// Not cancelled part-way: a half-made change is undone, not abandoned.
	if err := hostroute.Apply(changer{context.WithoutCancel(ctx), r.link}, remove, add, r.log); err != nil {
		return err
	}
	next := slices.DeleteFunc(slices.Clone(r.installed), func(p netip.Prefix) bool { return slices.Contains(remove, p) })
	next = append(next, add...)
	slices.SortFunc(next, netip.Prefix.Compare)
	r.installed = next
	return nil
}

func (r *routing) setGateway(_ context.Context, gw *hostapi.GatewayConfig) error {
	if gw != nil {
		return errNoGateway()
	}
	return nil
}

func (r *routing) routes(context.Context) ([]netip.Prefix, error) {
	return slices.Clone(r.installed), nil
}

// close has nothing to remove: the routes go with the interface.
func (r *routing) close() error { return nil }

// changer installs single routes through the osLink for hostroute.Apply.
type changer struct {
	ctx  context.Context
	link *osLink
}

func (c changer) AddRoute(p netip.Prefix) error {
	if err := c.link.addRoute(c.ctx, p); err != nil {
		return osError("add route "+p.String(), err)
	}
	return nil
}

func (c changer) RemoveRoute(p netip.Prefix) error {
	if err := c.link.delRoute(c.ctx, p); err != nil {
		return osError("remove route "+p.String(), err)
	}
	return nil
}
