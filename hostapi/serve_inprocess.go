package hostapi

import (
	"context"
	"math"
	"net"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/test/bufconn"
)

// inProcessBufferBytes is the in-memory transport's buffer per direction.
const inProcessBufferBytes = 1 << 20

// ServeStoreTest serves impl inside this process behind a real gRPC
// connection and returns a client for it, so that tests and the conformance
// suite reach an implementation across the plugin boundary (the same
// services, protobuf encodings, error mapping and health check as a plugin
// process) without building and launching a binary. The transport is an
// in-memory connection instead of go-plugin's socket; the protocol version is
// the highest this package speaks.
//
// ctx bounds only the start. The server runs until the client's Kill, which
// closes impl as a plugin process does when it exits; callers register Kill
// with t.Cleanup. opts are as for ServeStore.
func ServeStoreTest(ctx context.Context, impl Store, opts ...ServeOption) (*StoreClient, error) {
	conn, raw, err := serveInProcess(ctx, StorePluginName, storePluginSets(impl), impl.Close, buildServeOptions(opts))
	if err != nil {
		return nil, err
	}
	return newStoreClient(conn, raw)
}

// ServeBackendTest serves impl inside this process behind a real gRPC
// connection, as ServeStoreTest does for a Store.
func ServeBackendTest(ctx context.Context, impl Backend, opts ...ServeOption) (*BackendClient, error) {
	conn, raw, err := serveInProcess(ctx, BackendPluginName, backendPluginSets(impl), impl.Close, buildServeOptions(opts))
	if err != nil {
		return nil, err
	}
	return newBackendClient(conn, raw)
}

// serveInProcess serves the highest version of sets over an in-memory gRPC
// connection, registering the services go-plugin would (the plugin's and
// the health check), and returns the host's handle and dispensed client.
func serveInProcess(ctx context.Context, kind string, sets pluginSets, closeImpl func(context.Context) error, o serveOptions) (*pluginConn, any, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	sets = o.sets(sets)
	version := -1
	for v := range sets {
		version = max(version, v)
	}
	p, ok := sets[version][kind].(plugin.GRPCPlugin)
	if !ok {
		return nil, nil, Errorf(CodeInternal, "no %s plugin to serve", kind)
	}

	srv := newGRPCServer(nil)
	hs := health.NewServer()
	hs.SetServingStatus(plugin.GRPCServiceName, grpc_health_v1.HealthCheckResponse_SERVING)
	grpc_health_v1.RegisterHealthServer(srv, hs)
	if err := p.GRPCServer(nil, srv); err != nil {
		return nil, nil, Errorf(CodeInternal, "registering %s plugin: %v", kind, err)
	}
	lis := bufconn.Listen(inProcessBufferBytes)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	stopServer := func() {
		srv.Stop()
		<-served
	}

	cc, err := grpc.NewClient("passthrough:///in-process",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32), grpc.MaxCallSendMsgSize(math.MaxInt32)),
	)
	if err != nil {
		stopServer()
		return nil, nil, Errorf(CodeInternal, "connecting to in-process %s plugin: %v", kind, err)
	}
	raw, err := p.GRPCClient(ctx, nil, cc)
	if err != nil {
		_ = cc.Close()
		stopServer()
		return nil, nil, Errorf(CodeInternal, "dispensing in-process %s plugin: %v", kind, err)
	}

	done := make(chan struct{})
	stop := &stopper{closeImpl: closeImpl, timeout: o.closeTimeout, logger: o.logger}
	conn := &pluginConn{
		kind:    kind,
		conn:    cc,
		version: version,
		pid:     processID,
		done:    done,
		kill: func() {
			_ = cc.Close()
			stopServer()
			stop.close()
			close(done)
		},
	}
	if err := conn.ping(ctx); err != nil {
		conn.stop()
		return nil, nil, err
	}
	return conn, raw, nil
}
