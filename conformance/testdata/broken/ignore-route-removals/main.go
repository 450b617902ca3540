// Command ignore-route-removals is a deliberately broken backend plugin for
// the conformance suite's own tests: the netstack backend, except that
// ApplyRoutes checks a change and applies its additions, but acknowledges
// its removals without removing anything.
package main

import (
	"context"

	"github.com/rustynet/rustynet/hostapi"
	netstack "github.com/rustynet/rustynet/plugins/backend-netstack"
)

type backend struct{ *netstack.Backend }

func (b backend) ApplyRoutes(ctx context.Context, c hostapi.RouteChanges) error {
	if err := hostapi.CheckRouteChanges(c); err != nil {
		return err
	}
	return b.Backend.ApplyRoutes(ctx, hostapi.RouteChanges{Add: c.Add})
}

func main() { hostapi.ServeBackend(backend{Backend: netstack.New(hostapi.PluginLogger())}) }
