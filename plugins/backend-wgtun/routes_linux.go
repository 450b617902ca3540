package wgtun

import (
	"context"
	"log/slog"
	"net/netip"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/hostroute"
	"github.com/rustynet/rustynet/plugins/internal/wgdev"
)

// routing is the host's routing for the interface: routes into it, default
// routes kept clear of the tunnel's own packets by wireguard-go's socket
// mark, and the forwarding of a gateway, all by hostroute.Link.
type routing struct {
	link *hostroute.Link
}

// openRouting starts the interface's routing with its addresses and
// gateway (the guard alone if gw is nil). On error nothing is left behind.
func openRouting(_ context.Context, l *osLink, name string, dev *wgdev.Device, addrs []netip.Prefix, gw *hostapi.GatewayConfig, log *slog.Logger) (*routing, error) {
	hl, err := hostroute.Open(hostroute.Config{Index: l.index, Name: name, SetMark: dev.SetFirewallMark, Logger: log})
	if err != nil {
		return nil, err
	}
	r := &routing{link: hl}
	if err := hl.SetAddresses(addrs); err != nil {
		hl.Close()
		return nil, err
	}
	if err := hl.SetGateway(gw); err != nil {
		hl.Close()
		return nil, err
	}
	return r, nil
}

func (r *routing) apply(_ context.Context, c hostapi.RouteChanges) error {
	return r.link.ApplyRoutes(c)
}

func (r *routing) setAddresses(_ context.Context, addrs []netip.Prefix) error {
	return r.link.SetAddresses(addrs)
}

func (r *routing) setGateway(_ context.Context, gw *hostapi.GatewayConfig) error {
	return r.link.SetGateway(gw)
}

func (r *routing) routes(context.Context) ([]netip.Prefix, error) { return r.link.Routes() }

func (r *routing) close() error { return r.link.Close() }
