package hostapi

import (
	"context"
	"os"
	"sync"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health/grpc_health_v1"
)

// pluginConn is the host's handle on one served plugin: a child process
// started by LaunchStore or LaunchBackend, or an in-process server started
// by ServeStoreTest or ServeBackendTest.
type pluginConn struct {
	kind    string
	conn    *grpc.ClientConn
	version int
	pid     int
	done    <-chan struct{} // closed once the plugin has exited
	// kill ends the plugin and releases everything the handle holds; it is
	// called at most once.
	kill     func()
	killOnce sync.Once
}

func (c *pluginConn) ping(ctx context.Context) error {
	_, err := grpc_health_v1.NewHealthClient(c.conn).Check(ctx,
		&grpc_health_v1.HealthCheckRequest{Service: plugin.GRPCServiceName})
	return fromStatus(ctx, c.kind, err)
}

func (c *pluginConn) stop() { c.killOnce.Do(c.kill) }

func (c *pluginConn) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// StoreClient is the host's Store served by a plugin: a child process
// (LaunchStore), an in-process gRPC server (ServeStoreTest) or a plugin in
// reattach mode (ReattachStore). Its Store
// methods are gRPC calls that carry the caller's ctx; a plugin's *Error
// arrives with its Code and message, a dead or unreachable plugin gives
// CodeUnavailable, and a done ctx gives ctx's error. It is safe for
// concurrent use. The other methods manage the plugin itself.
type StoreClient struct {
	conn  *pluginConn
	store Store
}

var _ Store = (*StoreClient)(nil)

// Info calls the plugin's Store.Info.
func (c *StoreClient) Info(ctx context.Context) (StoreInfo, error) { return c.store.Info(ctx) }

// Open calls the plugin's Store.Open.
func (c *StoreClient) Open(ctx context.Context, cfg StoreConfig) error {
	return c.store.Open(ctx, cfg)
}

// Append calls the plugin's Store.Append.
func (c *StoreClient) Append(ctx context.Context, e LogEntry) error { return c.store.Append(ctx, e) }

// Truncate calls the plugin's Store.Truncate. A plugin built before
// Truncate existed fails it with CodeUnsupported.
func (c *StoreClient) Truncate(ctx context.Context, after uint64) error {
	return c.store.Truncate(ctx, after)
}

// Head calls the plugin's Store.Head.
func (c *StoreClient) Head(ctx context.Context) (uint64, error) { return c.store.Head(ctx) }

// ReadLog calls the plugin's Store.ReadLog. A successful read returns a
// non-nil slice.
func (c *StoreClient) ReadLog(ctx context.Context, from uint64, limit int) ([]LogEntry, error) {
	return c.store.ReadLog(ctx, from, limit)
}

// PutSnapshot calls the plugin's Store.PutSnapshot.
func (c *StoreClient) PutSnapshot(ctx context.Context, s Snapshot) error {
	return c.store.PutSnapshot(ctx, s)
}

// GetSnapshot calls the plugin's Store.GetSnapshot.
func (c *StoreClient) GetSnapshot(ctx context.Context) (Snapshot, error) {
	return c.store.GetSnapshot(ctx)
}

// Close calls the plugin's Store.Close. The plugin keeps running; Kill ends
// it.
func (c *StoreClient) Close(ctx context.Context) error { return c.store.Close(ctx) }

// Ping runs go-plugin's gRPC health check: nil if the plugin answers,
// CodeUnavailable if it cannot be reached, ctx's error if ctx ends first.
func (c *StoreClient) Ping(ctx context.Context) error { return c.conn.ping(ctx) }

// Kill ends the plugin: it asks the plugin to exit (the plugin closes its
// Store), waits up to 2 s, then kills the process, and releases the
// connection. It returns once the plugin has exited. Every method except
// Exited, Done, Pid and ProtocolVersion fails with CodeUnavailable
// afterwards. It is idempotent and safe to call concurrently.
func (c *StoreClient) Kill() { c.conn.stop() }

// Exited reports whether the plugin has exited (or, in process, stopped
// serving).
func (c *StoreClient) Exited() bool { return c.conn.exited() }

// Done returns a channel closed once the plugin has exited, whatever the
// cause: for a supervisor to notice a crash without polling.
func (c *StoreClient) Done() <-chan struct{} { return c.conn.done }

// Pid returns the plugin's process id (this process's for an in-process
// plugin).
func (c *StoreClient) Pid() int { return c.conn.pid }

// ProtocolVersion returns the protocol version negotiated with the plugin.
func (c *StoreClient) ProtocolVersion() int { return c.conn.version }

// BackendClient is the host's Backend served by a plugin: a child process
// (LaunchBackend) or an in-process gRPC server (ServeBackendTest). Its
// Backend methods are gRPC calls that carry the caller's ctx, with errors as
// for StoreClient. A value that cannot cross the boundary (e.g. an invalid
// netip value) fails with CodeInvalidArgument before anything is sent. It is
// safe for concurrent use. The other methods manage the plugin itself.
type BackendClient struct {
	conn    *pluginConn
	backend Backend
}

var _ Backend = (*BackendClient)(nil)

// Info calls the plugin's Backend.Info.
func (c *BackendClient) Info(ctx context.Context) (BackendInfo, error) { return c.backend.Info(ctx) }

// Probe calls the plugin's Backend.Probe.
func (c *BackendClient) Probe(ctx context.Context) error { return c.backend.Probe(ctx) }

// Configure calls the plugin's Backend.Configure.
func (c *BackendClient) Configure(ctx context.Context, cfg InterfaceConfig) error {
	return c.backend.Configure(ctx, cfg)
}

// ApplyPeers calls the plugin's Backend.ApplyPeers.
func (c *BackendClient) ApplyPeers(ctx context.Context, changes PeerChanges) error {
	return c.backend.ApplyPeers(ctx, changes)
}

// RemovePeers calls the plugin's Backend.RemovePeers.
func (c *BackendClient) RemovePeers(ctx context.Context, keys []Key) error {
	return c.backend.RemovePeers(ctx, keys)
}

// State calls the plugin's Backend.State.
func (c *BackendClient) State(ctx context.Context) (InterfaceState, error) {
	return c.backend.State(ctx)
}

// ApplyRoutes calls the plugin's Backend.ApplyRoutes.
func (c *BackendClient) ApplyRoutes(ctx context.Context, rc RouteChanges) error {
	return c.backend.ApplyRoutes(ctx, rc)
}

// SetFilter calls the plugin's Backend.SetFilter.
func (c *BackendClient) SetFilter(ctx context.Context, f Filter) error {
	return c.backend.SetFilter(ctx, f)
}

// ApplyChange makes a whole Change on the plugin in one round trip (see
// ApplyChange), by single calls on a plugin built before that existed.
func (c *BackendClient) ApplyChange(ctx context.Context, ch Change) error {
	return ApplyChange(ctx, c.backend, ch)
}

// StateSummary returns the plugin's state summed up in the plugin (see
// StateSummary), or from its State if the plugin predates that.
func (c *BackendClient) StateSummary(ctx context.Context) (InterfaceSummary, error) {
	return StateSummary(ctx, c.backend)
}

// Close calls the plugin's Backend.Close. The plugin keeps running; Kill
// ends it.
func (c *BackendClient) Close(ctx context.Context) error { return c.backend.Close(ctx) }

// Ping runs go-plugin's gRPC health check, as StoreClient.Ping.
func (c *BackendClient) Ping(ctx context.Context) error { return c.conn.ping(ctx) }

// Kill ends the plugin, as StoreClient.Kill (the plugin closes its Backend
// before exiting).
func (c *BackendClient) Kill() { c.conn.stop() }

// Exited reports whether the plugin has exited.
func (c *BackendClient) Exited() bool { return c.conn.exited() }

// Done returns a channel closed once the plugin has exited.
func (c *BackendClient) Done() <-chan struct{} { return c.conn.done }

// Pid returns the plugin's process id (this process's for an in-process
// plugin).
func (c *BackendClient) Pid() int { return c.conn.pid }

// ProtocolVersion returns the protocol version negotiated with the plugin.
func (c *BackendClient) ProtocolVersion() int { return c.conn.version }

// newStoreClient wraps a dispensed plugin as a StoreClient.
func newStoreClient(conn *pluginConn, raw any) (*StoreClient, error) {
	s, ok := raw.(Store)
	if !ok {
		conn.stop()
		return nil, Errorf(CodeInternal, "store plugin dispensed %T, not a Store", raw)
	}
	return &StoreClient{conn: conn, store: s}, nil
}

// newBackendClient wraps a dispensed plugin as a BackendClient.
func newBackendClient(conn *pluginConn, raw any) (*BackendClient, error) {
	b, ok := raw.(Backend)
	if !ok {
		conn.stop()
		return nil, Errorf(CodeInternal, "backend plugin dispensed %T, not a Backend", raw)
	}
	return &BackendClient{conn: conn, backend: b}, nil
}

// processID is this process's id, reported as the pid of in-process plugins.
var processID = os.Getpid()
