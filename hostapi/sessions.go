package hostapi

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/stats"
)

// sessions gives every gRPC connection to a plugin in reattach mode an
// implementation of its own: one from newImpl when the connection opens,
// closed (if closeOnEnd) when it ends, as a launched plugin's
// implementation lives and dies with its process. It is the server's
// stats.Handler, which sees connections begin and end; the implementation
// of a call is found through the connection's context, from which gRPC
// derives every call's context.
type sessions[T any] struct {
	newImpl    func() T
	closeImpl  func(T, context.Context) error
	closeOnEnd bool
	timeout    time.Duration
	logger     *slog.Logger

	mu   sync.Mutex
	next uint64
	live map[uint64]T
}

func newSessions[T any](newImpl func() T, closeImpl func(T, context.Context) error, closeOnEnd bool, o serveOptions) *sessions[T] {
	return &sessions[T]{
		newImpl: newImpl, closeImpl: closeImpl, closeOnEnd: closeOnEnd,
		timeout: o.closeTimeout, logger: o.logger, live: map[uint64]T{},
	}
}

// sharedSessions serves impl to every connection and closes it only when
// serving ends.
func sharedSessions[T any](impl T, closeImpl func(T, context.Context) error, o serveOptions) *sessions[T] {
	return newSessions(func() T { return impl }, closeImpl, false, o)
}

// sessionKey is the context key of a connection's session id.
type sessionKey struct{}

func (s *sessions[T]) grpcStats() grpc.ServerOption { return grpc.StatsHandler(s) }

// TagConn opens a session for a new connection.
func (s *sessions[T]) TagConn(ctx context.Context, _ *stats.ConnTagInfo) context.Context {
	impl := s.newImpl()
	s.mu.Lock()
	s.next++
	id := s.next
	s.live[id] = impl
	s.mu.Unlock()
	return context.WithValue(ctx, sessionKey{}, id)
}

// HandleConn closes a session when its connection ends.
func (s *sessions[T]) HandleConn(ctx context.Context, st stats.ConnStats) {
	if _, ok := st.(*stats.ConnEnd); !ok {
		return
	}
	id, _ := ctx.Value(sessionKey{}).(uint64)
	s.mu.Lock()
	impl, ok := s.live[id]
	delete(s.live, id)
	s.mu.Unlock()
	if ok && s.closeOnEnd {
		s.close(impl)
	}
}

func (s *sessions[T]) TagRPC(ctx context.Context, _ *stats.RPCTagInfo) context.Context { return ctx }
func (s *sessions[T]) HandleRPC(context.Context, stats.RPCStats)                       {}

// get returns the implementation of the connection a call came on.
func (s *sessions[T]) get(ctx context.Context) (T, error) {
	id, _ := ctx.Value(sessionKey{}).(uint64)
	s.mu.Lock()
	defer s.mu.Unlock()
	impl, ok := s.live[id]
	if !ok {
		var zero T
		return zero, Errorf(CodeInternal, "no session for this connection")
	}
	return impl, nil
}

// closeAll closes what is still open: every live session's implementation,
// or the shared one.
func (s *sessions[T]) closeAll() {
	s.mu.Lock()
	live := s.live
	s.live = map[uint64]T{}
	s.mu.Unlock()
	if !s.closeOnEnd {
		s.close(s.newImpl())
		return
	}
	for _, impl := range live {
		s.close(impl)
	}
}

func (s *sessions[T]) close(impl T) {
	ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
	defer cancel()
	if err := s.closeImpl(impl, ctx); err != nil {
		s.logger.Error("closing plugin implementation", "error", err)
	}
}

// privateSocketDir makes a directory only this user can enter and has
// go-plugin put its socket there; the returned function removes it.
func privateSocketDir() (cleanup func(), err error) {
	dir, err := os.MkdirTemp("", "rustynet-plugin-")
	if err != nil {
		return nil, fmt.Errorf("socket directory: %w", err)
	}
	if err := os.Setenv(plugin.EnvUnixSocketDir, dir); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("socket directory: %w", err)
	}
	return func() { _ = os.RemoveAll(dir) }, nil
}

// storeRouter is the Store a reattach-mode plugin serves: each call goes to
// the session of its connection.
type storeRouter struct{ s *sessions[Store] }

func (r storeRouter) Info(ctx context.Context) (StoreInfo, error) {
	impl, err := r.s.get(ctx)
	if err != nil {
		return StoreInfo{}, err
	}
	return impl.Info(ctx)
}

func (r storeRouter) Open(ctx context.Context, cfg StoreConfig) error {
	impl, err := r.s.get(ctx)
	if err != nil {
		return err
	}
	return impl.Open(ctx, cfg)
}

func (r storeRouter) Append(ctx context.Context, e LogEntry) error {
	impl, err := r.s.get(ctx)
	if err != nil {
		return err
	}
	return impl.Append(ctx, e)
}

func (r storeRouter) Truncate(ctx context.Context, after uint64) error {
	impl, err := r.s.get(ctx)
	if err != nil {
		return err
	}
	return impl.Truncate(ctx, after)
}

func (r storeRouter) Head(ctx context.Context) (uint64, error) {
	impl, err := r.s.get(ctx)
	if err != nil {
		return 0, err
	}
	return impl.Head(ctx)
}

func (r storeRouter) ReadLog(ctx context.Context, from uint64, limit int) ([]LogEntry, error) {
	impl, err := r.s.get(ctx)
	if err != nil {
		return nil, err
	}
	return impl.ReadLog(ctx, from, limit)
}

func (r storeRouter) PutSnapshot(ctx context.Context, snap Snapshot) error {
	impl, err := r.s.get(ctx)
	if err != nil {
		return err
	}
	return impl.PutSnapshot(ctx, snap)
}

func (r storeRouter) GetSnapshot(ctx context.Context) (Snapshot, error) {
	impl, err := r.s.get(ctx)
	if err != nil {
		return Snapshot{}, err
	}
	return impl.GetSnapshot(ctx)
}

func (r storeRouter) Close(ctx context.Context) error {
	impl, err := r.s.get(ctx)
	if err != nil {
		return err
	}
	return impl.Close(ctx)
}

// backendRouter is the Backend a reattach-mode plugin serves, as
// storeRouter is the Store.
type backendRouter struct{ s *sessions[Backend] }

func (r backendRouter) Info(ctx context.Context) (BackendInfo, error) {
	impl, err := r.s.get(ctx)
	if err != nil {
		return BackendInfo{}, err
	}
	return impl.Info(ctx)
}

func (r backendRouter) Probe(ctx context.Context) error {
	impl, err := r.s.get(ctx)
	if err != nil {
		return err
	}
	return impl.Probe(ctx)
}

func (r backendRouter) Configure(ctx context.Context, cfg InterfaceConfig) error {
	impl, err := r.s.get(ctx)
	if err != nil {
		return err
	}
	return impl.Configure(ctx, cfg)
}

func (r backendRouter) ApplyPeers(ctx context.Context, c PeerChanges) error {
	impl, err := r.s.get(ctx)
	if err != nil {
		return err
	}
	return impl.ApplyPeers(ctx, c)
}

func (r backendRouter) RemovePeers(ctx context.Context, keys []Key) error {
	impl, err := r.s.get(ctx)
	if err != nil {
		return err
	}
	return impl.RemovePeers(ctx, keys)
}

func (r backendRouter) State(ctx context.Context) (InterfaceState, error) {
	impl, err := r.s.get(ctx)
	if err != nil {
		return InterfaceState{}, err
	}
	return impl.State(ctx)
}

func (r backendRouter) ApplyRoutes(ctx context.Context, c RouteChanges) error {
	impl, err := r.s.get(ctx)
	if err != nil {
		return err
	}
	return impl.ApplyRoutes(ctx, c)
}

func (r backendRouter) SetFilter(ctx context.Context, f Filter) error {
	impl, err := r.s.get(ctx)
	if err != nil {
		return err
	}
	return impl.SetFilter(ctx, f)
}

func (r backendRouter) Close(ctx context.Context) error {
	impl, err := r.s.get(ctx)
	if err != nil {
		return err
	}
	return impl.Close(ctx)
}
