package wgkernel

import (
	"context"

	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/rustynet/rustynet/hostapi"
)

// ApplyRoutes changes the routes into the interface by difference (see
// hostapi.Backend), through plugins/internal/hostroute: routes carry the
// routing protocol hostroute.Protocol, by which this backend knows its own
// and leaves every other route alone, also one with the same prefix; a
// default route goes into a table of its own behind policy rules, and the
// kernel's WireGuard sockets carry the matching firewall mark, so the
// tunnel's own packets stay out of it. On error the routes are as before.
func (b *Backend) ApplyRoutes(ctx context.Context, c hostapi.RouteChanges) error {
	dev, err := b.lock(ctx, false)
	if err != nil {
		return err
	}
	defer b.serial.release()
	return dev.host.ApplyRoutes(c)
}

// setMark sets the firewall mark of the kernel's WireGuard sockets (0:
// none), for hostroute's policy routing of default routes.
func (d *device) setMark(mark uint32) error {
	m := int(mark)
	if err := d.wg.ConfigureDevice(d.iface.name, wgtypes.Config{FirewallMark: &m}); err != nil {
		return sysErr("setting the firewall mark of "+d.iface.name, err)
	}
	return nil
}
