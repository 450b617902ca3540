// Command keep-gateway is a deliberately broken backend plugin for the
// conformance suite's own tests: the netstack backend, except that a
// Configure without a Gateway keeps the gateway in effect instead of
// forwarding nothing (as if nil meant "unchanged").
package main

import (
	"context"
	"sync"

	"github.com/rustynet/rustynet/hostapi"
	netstack "github.com/rustynet/rustynet/plugins/backend-netstack"
)

type backend struct {
	*netstack.Backend

	mu      sync.Mutex // guards gateway
	gateway *hostapi.GatewayConfig
}

func (b *backend) Configure(ctx context.Context, cfg hostapi.InterfaceConfig) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if cfg.Gateway == nil {
		cfg.Gateway = b.gateway
	}
	if err := b.Backend.Configure(ctx, cfg); err != nil {
		return err
	}
	b.gateway = cfg.Gateway
	return nil
}

func main() { hostapi.ServeBackend(&backend{Backend: netstack.New(hostapi.PluginLogger())}) }
