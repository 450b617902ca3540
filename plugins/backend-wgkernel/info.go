package wgkernel

import (
	"context"

	"github.com/rustynet/rustynet/hostapi"
)

// Name is the backend's name, as configured and reported.
const Name = "wgkernel"

// Version is this backend's version.
const Version = "0.1.0"

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
