// Command accept-invalid-peers is a deliberately broken backend plugin for
// the conformance suite's own tests: the netstack backend, except that
// ApplyPeers reports success for a change it rejected as invalid.
package main

import (
	"context"

	"github.com/rustynet/rustynet/hostapi"
	netstack "github.com/rustynet/rustynet/plugins/backend-netstack"
)

type backend struct{ *netstack.Backend }

func (b backend) ApplyPeers(ctx context.Context, c hostapi.PeerChanges) error {
	err := b.Backend.ApplyPeers(ctx, c)
	if hostapi.CodeOf(err) == hostapi.CodeInvalidArgument {
		return nil
	}
	return err
}

func main() { hostapi.ServeBackend(backend{Backend: netstack.New(hostapi.PluginLogger())}) }
