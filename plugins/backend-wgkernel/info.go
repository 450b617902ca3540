package wgkernel

import (
	"context"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/version"
)

// Name is the backend's name, as configured and reported.
const Name = "wgkernel"

// Version is the plugin's version, reported by Info: the build's
// (internal/version), as `rustynet version` prints it.
var Version = version.Get().String()

// Capabilities are the optional features this backend supports (on Linux;
// elsewhere it cannot be configured at all).
const Capabilities = hostapi.BackendCapPeerStats | hostapi.BackendCapRoutes | hostapi.BackendCapGateway | hostapi.BackendCapPacketFilter

// Info describes the backend. It may be called at any time, also before
// Configure and after Close.
func (b *Backend) Info(ctx context.Context) (hostapi.BackendInfo, error) {
	return hostapi.BackendInfo{
		Name:         Name,
		Version:      Version,
		Capabilities: Capabilities,
		Privileges:   hostapi.Privileges{Root: true, KernelModule: true},
	}, nil
}

// Interface guards.
var _ hostapi.Backend = (*Backend)(nil)
