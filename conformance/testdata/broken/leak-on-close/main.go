// Command leak-on-close is a deliberately broken backend plugin for the
// conformance suite's own tests: the netstack backend, except that Close
// only pretends: the backend answers CLOSED afterwards, but its device,
// UDP socket and goroutines live on until the process exits.
package main

import (
	"context"
	"sync/atomic"

	"github.com/rustynet/rustynet/hostapi"
	netstack "github.com/rustynet/rustynet/plugins/backend-netstack"
)

type backend struct {
	*netstack.Backend
	closed atomic.Bool
}

func (b *backend) check() error {
	if b.closed.Load() {
		return hostapi.ErrClosed
	}
	return nil
}

func (b *backend) Configure(ctx context.Context, cfg hostapi.InterfaceConfig) error {
	if err := b.check(); err != nil {
		return err
	}
	return b.Backend.Configure(ctx, cfg)
}

func (b *backend) ApplyPeers(ctx context.Context, c hostapi.PeerChanges) error {
	if err := b.check(); err != nil {
		return err
	}
	return b.Backend.ApplyPeers(ctx, c)
}

func (b *backend) RemovePeers(ctx context.Context, keys []hostapi.Key) error {
	if err := b.check(); err != nil {
		return err
	}
	return b.Backend.RemovePeers(ctx, keys)
}

func (b *backend) State(ctx context.Context) (hostapi.InterfaceState, error) {
	if err := b.check(); err != nil {
		return hostapi.InterfaceState{}, err
	}
	return b.Backend.State(ctx)
}

func (b *backend) ApplyRoutes(ctx context.Context, c hostapi.RouteChanges) error {
	if err := b.check(); err != nil {
		return err
	}
	return b.Backend.ApplyRoutes(ctx, c)
}

func (b *backend) SetFilter(ctx context.Context, f hostapi.Filter) error {
	if err := b.check(); err != nil {
		return err
	}
	return b.Backend.SetFilter(ctx, f)
}

func (b *backend) Close(context.Context) error {
	b.closed.Store(true)
	return nil
}

func main() { hostapi.ServeBackend(&backend{Backend: netstack.New(hostapi.PluginLogger())}) }
