package pluginhost

import (
	"context"

	"github.com/rustynet/rustynet/hostapi"
)

// Store returns a hostapi.Store that forwards every call to the plugin s
// currently runs, waiting (within the call's ctx) while it is relaunched.
// A call that was in flight when the plugin died fails (typically
// UNAVAILABLE); the caller decides whether to retry. The core holds this
// proxy, so a relaunch is invisible to it beyond such failures.
func Store(s *Supervisor[hostapi.Store]) hostapi.Store { return storeProxy{s} }

// Backend returns a hostapi.Backend that forwards to the plugin s runs, as
// Store does for stores.
func Backend(s *Supervisor[hostapi.Backend]) hostapi.Backend { return backendProxy{s} }

type storeProxy struct{ s *Supervisor[hostapi.Store] }

func call[T, R any](ctx context.Context, s *Supervisor[T], f func(T) (R, error)) (R, error) {
	p, err := s.Get(ctx)
	if err != nil {
		var zero R
		return zero, err
	}
	return f(p)
}

func call0[T any](ctx context.Context, s *Supervisor[T], f func(T) error) error {
	_, err := call(ctx, s, func(p T) (struct{}, error) { return struct{}{}, f(p) })
	return err
}

func (p storeProxy) Info(ctx context.Context) (hostapi.StoreInfo, error) {
	return call(ctx, p.s, func(st hostapi.Store) (hostapi.StoreInfo, error) { return st.Info(ctx) })
}
func (p storeProxy) Open(ctx context.Context, cfg hostapi.StoreConfig) error {
	return call0(ctx, p.s, func(st hostapi.Store) error { return st.Open(ctx, cfg) })
}
func (p storeProxy) Append(ctx context.Context, e hostapi.LogEntry) error {
	return call0(ctx, p.s, func(st hostapi.Store) error { return st.Append(ctx, e) })
}
func (p storeProxy) Truncate(ctx context.Context, after uint64) error {
	return call0(ctx, p.s, func(st hostapi.Store) error { return st.Truncate(ctx, after) })
}
func (p storeProxy) Head(ctx context.Context) (uint64, error) {
	return call(ctx, p.s, func(st hostapi.Store) (uint64, error) { return st.Head(ctx) })
}
func (p storeProxy) ReadLog(ctx context.Context, from uint64, limit int) ([]hostapi.LogEntry, error) {
	return call(ctx, p.s, func(st hostapi.Store) ([]hostapi.LogEntry, error) { return st.ReadLog(ctx, from, limit) })
}
func (p storeProxy) PutSnapshot(ctx context.Context, snap hostapi.Snapshot) error {
	return call0(ctx, p.s, func(st hostapi.Store) error { return st.PutSnapshot(ctx, snap) })
}
func (p storeProxy) GetSnapshot(ctx context.Context) (hostapi.Snapshot, error) {
	return call(ctx, p.s, func(st hostapi.Store) (hostapi.Snapshot, error) { return st.GetSnapshot(ctx) })
}
func (p storeProxy) Close(ctx context.Context) error {
	return call0(ctx, p.s, func(st hostapi.Store) error { return st.Close(ctx) })
}

type backendProxy struct{ s *Supervisor[hostapi.Backend] }

func (p backendProxy) Info(ctx context.Context) (hostapi.BackendInfo, error) {
	return call(ctx, p.s, func(b hostapi.Backend) (hostapi.BackendInfo, error) { return b.Info(ctx) })
}
func (p backendProxy) Probe(ctx context.Context) error {
	return call0(ctx, p.s, func(b hostapi.Backend) error { return b.Probe(ctx) })
}
func (p backendProxy) Configure(ctx context.Context, cfg hostapi.InterfaceConfig) error {
	return call0(ctx, p.s, func(b hostapi.Backend) error { return b.Configure(ctx, cfg) })
}
func (p backendProxy) ApplyPeers(ctx context.Context, c hostapi.PeerChanges) error {
	return call0(ctx, p.s, func(b hostapi.Backend) error { return b.ApplyPeers(ctx, c) })
}
func (p backendProxy) RemovePeers(ctx context.Context, keys []hostapi.Key) error {
	return call0(ctx, p.s, func(b hostapi.Backend) error { return b.RemovePeers(ctx, keys) })
}
func (p backendProxy) State(ctx context.Context) (hostapi.InterfaceState, error) {
	return call(ctx, p.s, func(b hostapi.Backend) (hostapi.InterfaceState, error) { return b.State(ctx) })
}
func (p backendProxy) ApplyRoutes(ctx context.Context, c hostapi.RouteChanges) error {
	return call0(ctx, p.s, func(b hostapi.Backend) error { return b.ApplyRoutes(ctx, c) })
}
func (p backendProxy) SetFilter(ctx context.Context, f hostapi.Filter) error {
	return call0(ctx, p.s, func(b hostapi.Backend) error { return b.SetFilter(ctx, f) })
}

// ApplyChange makes a whole change on the current plugin (see
// hostapi.ApplyChange): in one round trip to a BackendClient.
func (p backendProxy) ApplyChange(ctx context.Context, c hostapi.Change) error {
	return call0(ctx, p.s, func(b hostapi.Backend) error { return hostapi.ApplyChange(ctx, b, c) })
}

// StateSummary sums up the current plugin's state (see
// hostapi.StateSummary): in the plugin, for a BackendClient.
func (p backendProxy) StateSummary(ctx context.Context) (hostapi.InterfaceSummary, error) {
	return call(ctx, p.s, func(b hostapi.Backend) (hostapi.InterfaceSummary, error) { return hostapi.StateSummary(ctx, b) })
}

func (p backendProxy) Close(ctx context.Context) error {
	return call0(ctx, p.s, func(b hostapi.Backend) error { return b.Close(ctx) })
}

// Interface guards.
var (
	_ hostapi.Store           = storeProxy{}
	_ hostapi.Backend         = backendProxy{}
	_ hostapi.ChangeApplier   = backendProxy{}
	_ hostapi.StateSummarizer = backendProxy{}
)
