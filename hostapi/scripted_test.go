package hostapi_test

import (
	"context"
	"sync"

	"github.com/rustynet/rustynet/hostapi"
)

// script records the calls a scripted plugin receives and the error every
// call returns.
type script struct {
	mu    sync.Mutex
	calls []call
	err   error
}

// call is one call a scripted plugin received: its method and arguments.
type call struct {
	Method string
	Args   []any
}

func (s *script) record(method string, args ...any) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, call{Method: method, Args: args})
	return s.err
}

func (s *script) setErr(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
}

func (s *script) received() []call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]call(nil), s.calls...)
}

// scriptedStore is a Store that records its calls and returns canned values.
type scriptedStore struct {
	script
	info    hostapi.StoreInfo
	head    uint64
	entries []hostapi.LogEntry
	snap    hostapi.Snapshot
}

func (s *scriptedStore) Info(context.Context) (hostapi.StoreInfo, error) {
	return s.info, s.record("Info")
}

func (s *scriptedStore) Open(_ context.Context, cfg hostapi.StoreConfig) error {
	return s.record("Open", cfg)
}

func (s *scriptedStore) Append(_ context.Context, e hostapi.LogEntry) error {
	return s.record("Append", e)
}

func (s *scriptedStore) Truncate(_ context.Context, after uint64) error {
	return s.record("Truncate", after)
}

func (s *scriptedStore) Head(context.Context) (uint64, error) { return s.head, s.record("Head") }

func (s *scriptedStore) ReadLog(_ context.Context, from uint64, limit int) ([]hostapi.LogEntry, error) {
	return s.entries, s.record("ReadLog", from, limit)
}

func (s *scriptedStore) PutSnapshot(_ context.Context, snap hostapi.Snapshot) error {
	return s.record("PutSnapshot", snap)
}

func (s *scriptedStore) GetSnapshot(context.Context) (hostapi.Snapshot, error) {
	return s.snap, s.record("GetSnapshot")
}

func (s *scriptedStore) Close(context.Context) error { return s.record("Close") }

// scriptedBackend is a Backend that records its calls and returns canned
// values.
type scriptedBackend struct {
	script
	info  hostapi.BackendInfo
	state hostapi.InterfaceState
}

func (b *scriptedBackend) Info(context.Context) (hostapi.BackendInfo, error) {
	return b.info, b.record("Info")
}

func (b *scriptedBackend) Probe(context.Context) error { return b.record("Probe") }

func (b *scriptedBackend) Configure(_ context.Context, cfg hostapi.InterfaceConfig) error {
	return b.record("Configure", cfg)
}

func (b *scriptedBackend) ApplyPeers(_ context.Context, c hostapi.PeerChanges) error {
	return b.record("ApplyPeers", c)
}

func (b *scriptedBackend) RemovePeers(_ context.Context, keys []hostapi.Key) error {
	return b.record("RemovePeers", keys)
}

func (b *scriptedBackend) State(context.Context) (hostapi.InterfaceState, error) {
	return b.state, b.record("State")
}

func (b *scriptedBackend) ApplyRoutes(_ context.Context, c hostapi.RouteChanges) error {
	return b.record("ApplyRoutes", c)
}

func (b *scriptedBackend) SetFilter(_ context.Context, f hostapi.Filter) error {
	return b.record("SetFilter", f)
}

func (b *scriptedBackend) Close(context.Context) error { return b.record("Close") }
