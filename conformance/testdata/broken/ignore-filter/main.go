// Command ignore-filter is a deliberately broken backend plugin for the
// conformance suite's own tests: the netstack backend (or, given the
// argument "wgtun", the wgtun backend), except that SetFilter checks the
// filter as the contract asks and then ignores it: nothing is filtered.
package main

import (
	"context"
	"net/netip"
	"os"

	"github.com/rustynet/rustynet/hostapi"
	netstack "github.com/rustynet/rustynet/plugins/backend-netstack"
	wgtun "github.com/rustynet/rustynet/plugins/backend-wgtun"
)

type backend struct{ hostapi.Backend }

func (b backend) SetFilter(ctx context.Context, f hostapi.Filter) error {
	if _, err := b.Backend.State(ctx); err != nil {
		return err // CLOSED before Configure and after Close, as it should be
	}
	for _, r := range f.Rules {
		for _, p := range append(append([]netip.Prefix(nil), r.Src...), r.Dst...) {
			if err := hostapi.CheckRoute(p); err != nil {
				return err
			}
		}
		for _, pr := range r.Ports {
			if pr.First > pr.Last {
				return hostapi.Errorf(hostapi.CodeInvalidArgument, "empty port range %d-%d", pr.First, pr.Last)
			}
		}
	}
	return nil
}

func main() {
	var inner hostapi.Backend = netstack.New(hostapi.PluginLogger())
	if len(os.Args) > 1 && os.Args[1] == "wgtun" {
		inner = wgtun.New(hostapi.PluginLogger())
	}
	hostapi.ServeBackend(backend{Backend: inner})
}
