// Command ignore-removals is a deliberately broken backend plugin for the
// conformance suite's own tests: the netstack backend, except that
// RemovePeers acknowledges removals without removing anything.
package main

import (
	"context"

	"github.com/rustynet/rustynet/hostapi"
	netstack "github.com/rustynet/rustynet/plugins/backend-netstack"
)

type backend struct{ *netstack.Backend }

func (b backend) RemovePeers(ctx context.Context, _ []hostapi.Key) error {
	_, err := b.Backend.State(ctx) // still CLOSED when it should be
	return err
}

func main() { hostapi.ServeBackend(backend{Backend: netstack.New(hostapi.PluginLogger())}) }
