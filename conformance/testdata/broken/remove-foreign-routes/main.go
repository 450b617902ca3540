// Command remove-foreign-routes is a deliberately broken backend plugin
// for the conformance suite's own tests: the wgtun backend, except that
// removing a route removes every route to that prefix through the
// interface, the ones the backend did not install included.
package main

import (
	"context"

	"github.com/rustynet/rustynet/hostapi"
	wgtun "github.com/rustynet/rustynet/plugins/backend-wgtun"
)

type backend struct{ *wgtun.Backend }

func (b backend) ApplyRoutes(ctx context.Context, c hostapi.RouteChanges) error {
	if err := hostapi.CheckRouteChanges(c); err != nil {
		return err
	}
	if err := b.Backend.ApplyRoutes(ctx, hostapi.RouteChanges{Remove: c.Remove}); err != nil {
		return err
	}
	st, err := b.Backend.State(ctx)
	if err != nil {
		return err
	}
	for _, p := range c.Remove {
		if err := delAllRoutes(st.Name, p); err != nil {
			return hostapi.Errorf(hostapi.CodeInternal, "removing routes to %s: %v", p, err)
		}
	}
	return b.Backend.ApplyRoutes(ctx, hostapi.RouteChanges{Add: c.Add})
}

func main() { hostapi.ServeBackend(backend{Backend: wgtun.New(hostapi.PluginLogger())}) }
