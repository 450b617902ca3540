// Command default-route-loop is a deliberately broken backend plugin for
// the conformance suite's own tests: the wgtun backend, except that it
// installs a default route (0.0.0.0/0, ::/0) the careless way, as a plain
// route through the interface in the main table that replaces the host's
// own. The tunnel's encrypted packets to a peer reached through the host's
// default route then go into the tunnel themselves: a routing loop.
package main

import (
	"context"
	"net/netip"
	"slices"
	"sync"

	"github.com/rustynet/rustynet/hostapi"
	wgtun "github.com/rustynet/rustynet/plugins/backend-wgtun"
)

type backend struct {
	*wgtun.Backend

	mu       sync.Mutex // serialises ApplyRoutes, guards defaults
	defaults []netip.Prefix
}

func (b *backend) ApplyRoutes(ctx context.Context, c hostapi.RouteChanges) error {
	if err := hostapi.CheckRouteChanges(c); err != nil {
		return err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var rest, defaults hostapi.RouteChanges
	for _, p := range c.Remove {
		if hostapi.IsDefaultRoute(p) {
			defaults.Remove = append(defaults.Remove, p)
		} else {
			rest.Remove = append(rest.Remove, p)
		}
	}
	for _, p := range c.Add {
		if hostapi.IsDefaultRoute(p) {
			defaults.Add = append(defaults.Add, p)
		} else {
			rest.Add = append(rest.Add, p)
		}
	}
	if err := b.Backend.ApplyRoutes(ctx, rest); err != nil {
		return err
	}
	st, err := b.Backend.State(ctx)
	if err != nil {
		return err
	}
	for _, p := range defaults.Remove {
		if slices.Contains(b.defaults, p) {
			if err := delRoute(st.Name, p); err != nil {
				return hostapi.Errorf(hostapi.CodeInternal, "removing %s: %v", p, err)
			}
		}
	}
	for _, p := range defaults.Add {
		if err := replaceRoute(st.Name, p); err != nil {
			return hostapi.Errorf(hostapi.CodeInternal, "adding %s: %v", p, err)
		}
	}
	b.defaults = hostapi.ApplyRouteChanges(b.defaults, defaults)
	return nil
}

func (b *backend) State(ctx context.Context) (hostapi.InterfaceState, error) {
	st, err := b.Backend.State(ctx)
	if err != nil {
		return st, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	st.Routes = hostapi.ApplyRouteChanges(st.Routes, hostapi.RouteChanges{Add: b.defaults})
	return st, nil
}

func main() { hostapi.ServeBackend(&backend{Backend: wgtun.New(hostapi.PluginLogger())}) }
