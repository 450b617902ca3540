//go:build !linux

package wgkernel

import (
	"context"
	"log/slog"

	"github.com/rustynet/rustynet/hostapi"
)

// errNotLinux is what this backend says on every system but Linux.
var errNotLinux = hostapi.Errorf(hostapi.CodeUnsupported, "wgkernel: kernel WireGuard is Linux only")

// Backend is the kernel WireGuard backend. On this system there is no
// kernel WireGuard: Probe and Configure fail with ErrUnsupported, and the
// other methods with ErrClosed, as for a backend never configured.
type Backend struct{}

// New returns a Backend that reports kernel WireGuard as unsupported.
func New(logger *slog.Logger) *Backend { return &Backend{} }

// Probe fails with ErrUnsupported: kernel WireGuard is Linux only.
func (b *Backend) Probe(ctx context.Context) error { return errNotLinux }

// Configure fails with ErrUnsupported: kernel WireGuard is Linux only.
func (b *Backend) Configure(ctx context.Context, cfg hostapi.InterfaceConfig) error {
	return errNotLinux
}

// ApplyPeers fails with ErrClosed: the backend cannot be configured here.
func (b *Backend) ApplyPeers(ctx context.Context, c hostapi.PeerChanges) error {
	return hostapi.ErrClosed
}

// RemovePeers fails with ErrClosed: the backend cannot be configured here.
func (b *Backend) RemovePeers(ctx context.Context, keys []hostapi.Key) error {
	return hostapi.ErrClosed
}

// State fails with ErrClosed: the backend cannot be configured here.
func (b *Backend) State(ctx context.Context) (hostapi.InterfaceState, error) {
	return hostapi.InterfaceState{}, hostapi.ErrClosed
}

// ApplyRoutes fails with ErrClosed: the backend cannot be configured here.
func (b *Backend) ApplyRoutes(ctx context.Context, c hostapi.RouteChanges) error {
	return hostapi.ErrClosed
}

// SetFilter fails with ErrClosed: the backend cannot be configured here.
func (b *Backend) SetFilter(ctx context.Context, f hostapi.Filter) error {
	return hostapi.ErrClosed
}

// Close does nothing: there is nothing to release.
func (b *Backend) Close(ctx context.Context) error { return nil }
