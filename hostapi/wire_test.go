package hostapi

import (
	"context"
	"maps"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/rustynet/rustynet/hostapi/internal/pb"
)

// dialWire serves what register registers over an in-memory gRPC connection
// and returns a client connection to it.
func dialWire(t *testing.T, register func(*grpc.Server)) *grpc.ClientConn {
	t.Helper()
	return dialWireWith(t, nil, register)
}

// dialWireWith is dialWire with a server built with opts.
func dialWireWith(t *testing.T, opts []grpc.ServerOption, register func(*grpc.Server)) *grpc.ClientConn {
	t.Helper()
	lis := bufconn.Listen(1 << 16)
	srv := grpc.NewServer(opts...)
	register(srv)
	go func() { _ = srv.Serve(lis) }()
	t.Cleanup(srv.Stop)
	cc, err := grpc.NewClient("passthrough:///wire",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// rpcCounter counts the unary RPCs a server answers, by method name.
type rpcCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *rpcCounter) intercept(ctx context.Context, req any, info *grpc.UnaryServerInfo, h grpc.UnaryHandler) (any, error) {
	c.mu.Lock()
	c.n[info.FullMethod[strings.LastIndex(info.FullMethod, "/")+1:]]++
	c.mu.Unlock()
	return h(ctx, req)
}

// counts returns how many of each RPC the server has answered.
func (c *rpcCounter) counts() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

// dialBackend serves impl over an in-memory connection, as wrap makes its
// server (nil: as it is; a wrapper plays a plugin built before some
// method), and returns a host-side client of it and the server's RPC
// counts.
func dialBackend(t *testing.T, impl Backend, wrap func(*backendServer) pb.BackendServer) (*backendClient, *rpcCounter) {
	t.Helper()
	rpcs := &rpcCounter{n: map[string]int{}}
	cc := dialWireWith(t, []grpc.ServerOption{grpc.UnaryInterceptor(rpcs.intercept)}, func(s *grpc.Server) {
		var srv pb.BackendServer = &backendServer{impl: impl}
		if wrap != nil {
			srv = wrap(srv.(*backendServer))
		}
		pb.RegisterBackendServer(s, srv)
	})
	return &backendClient{rpc: pb.NewBackendClient(cc)}, rpcs
}

// countingBackend is a Backend that counts the calls reaching it.
type countingBackend struct{ calls atomic.Int32 }

func (b *countingBackend) hit() error { b.calls.Add(1); return nil }

func (b *countingBackend) Info(context.Context) (BackendInfo, error) { return BackendInfo{}, b.hit() }
func (b *countingBackend) Probe(context.Context) error               { return b.hit() }
func (b *countingBackend) Configure(context.Context, InterfaceConfig) error {
	return b.hit()
}
func (b *countingBackend) ApplyPeers(context.Context, PeerChanges) error { return b.hit() }
func (b *countingBackend) RemovePeers(context.Context, []Key) error      { return b.hit() }
func (b *countingBackend) State(context.Context) (InterfaceState, error) {
	return InterfaceState{}, b.hit()
}
func (b *countingBackend) ApplyRoutes(context.Context, RouteChanges) error { return b.hit() }
func (b *countingBackend) SetFilter(context.Context, Filter) error         { return b.hit() }
func (b *countingBackend) Close(context.Context) error                     { return b.hit() }

// TestServerRejectsMalformedRequests sends requests no Go host would send
// (another language's host might) and checks that they fail with
// CodeInvalidArgument before reaching the implementation.
func TestServerRejectsMalformedRequests(t *testing.T) {
	impl := &countingBackend{}
	cc := dialWire(t, func(s *grpc.Server) { pb.RegisterBackendServer(s, &backendServer{impl: impl}) })
	raw := pb.NewBackendClient(cc)
	key := make([]byte, KeyLen)
	tests := []struct {
		name string
		send func(context.Context) error
	}{
		{"short peer key to RemovePeers", func(ctx context.Context) error {
			_, err := raw.RemovePeers(ctx, &pb.BackendRemovePeersRequest{Keys: [][]byte{key, key[:31]}})
			return err
		}},
		{"short private key", func(ctx context.Context) error {
			_, err := raw.Configure(ctx, &pb.BackendConfigureRequest{Config: &pb.InterfaceConfig{PrivateKey: key[:5]}})
			return err
		}},
		{"missing private key", func(ctx context.Context) error {
			_, err := raw.Configure(ctx, &pb.BackendConfigureRequest{})
			return err
		}},
		{"listen port out of range", func(ctx context.Context) error {
			_, err := raw.Configure(ctx, &pb.BackendConfigureRequest{Config: &pb.InterfaceConfig{PrivateKey: key, ListenPort: 70000}})
			return err
		}},
		{"address text", func(ctx context.Context) error {
			_, err := raw.Configure(ctx, &pb.BackendConfigureRequest{Config: &pb.InterfaceConfig{PrivateKey: key, Addresses: []string{"bogus"}}})
			return err
		}},
		{"forward protocol", func(ctx context.Context) error {
			_, err := raw.Configure(ctx, &pb.BackendConfigureRequest{Config: &pb.InterfaceConfig{PrivateKey: key,
				Proxy: &pb.ProxyConfig{Forwards: []*pb.Forward{{Proto: 7, Listen: "127.0.0.1:1", Target: "10.0.0.1:1"}}}}})
			return err
		}},
		{"expose mesh port", func(ctx context.Context) error {
			_, err := raw.Configure(ctx, &pb.BackendConfigureRequest{Config: &pb.InterfaceConfig{PrivateKey: key,
				Proxy: &pb.ProxyConfig{Exposes: []*pb.Expose{{Proto: pb.Proto_PROTO_TCP, MeshPort: 1 << 20, Target: "127.0.0.1:22"}}}}})
			return err
		}},
		{"empty upsert key", func(ctx context.Context) error {
			_, err := raw.ApplyPeers(ctx, &pb.BackendApplyPeersRequest{Changes: &pb.PeerChanges{Upsert: []*pb.PeerConfig{{}}}})
			return err
		}},
		{"endpoint text", func(ctx context.Context) error {
			_, err := raw.ApplyPeers(ctx, &pb.BackendApplyPeersRequest{Changes: &pb.PeerChanges{Upsert: []*pb.PeerConfig{{PublicKey: key, Endpoint: "host:port"}}}})
			return err
		}},
		{"route text", func(ctx context.Context) error {
			_, err := raw.ApplyRoutes(ctx, &pb.BackendApplyRoutesRequest{Changes: &pb.RouteChanges{Add: []string{"1.2.3.4"}}})
			return err
		}},
		{"filter port", func(ctx context.Context) error {
			_, err := raw.SetFilter(ctx, &pb.BackendSetFilterRequest{Filter: &pb.Filter{Rules: []*pb.FilterRule{{Ports: []*pb.PortRange{{First: 1, Last: 70000}}}}}})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := fromStatus(t.Context(), BackendPluginName, tt.send(t.Context()))
			if CodeOf(err) != CodeInvalidArgument {
				t.Errorf("got %v, want INVALID_ARGUMENT", err)
			}
			if n := impl.calls.Load(); n != 0 {
				t.Errorf("implementation called %d times, want 0", n)
			}
		})
	}
}

// malformedStateServer answers State with the reply it holds, whatever
// was asked: a reply no Go plugin would send, or the rows of an older one.
type malformedStateServer struct {
	pb.UnimplementedBackendServer
	state *pb.InterfaceState
}

func (s *malformedStateServer) State(context.Context, *pb.BackendStateRequest) (*pb.BackendStateResponse, error) {
	return &pb.BackendStateResponse{State: s.state}, nil
}

func TestClientRejectsMalformedReplies(t *testing.T) {
	key := make([]byte, KeyLen)
	tests := []struct {
		name  string
		state *pb.InterfaceState
		want  string
	}{
		{"missing state", nil, "public_key: key is 0 bytes"},
		{"short public key", &pb.InterfaceState{PublicKey: key[:31]}, "public_key: key is 31 bytes"},
		{"peer endpoint", &pb.InterfaceState{PublicKey: key, Peers: []*pb.PeerState{{PublicKey: key, Endpoint: "nowhere"}}}, "peers[0].endpoint"},
		{"peer allowed IP", &pb.InterfaceState{PublicKey: key, Peers: []*pb.PeerState{{PublicKey: key, AllowedIps: []string{"10.0.0.0/40"}}}}, "peers[0].allowed_ips[0]"},
		{"listen port", &pb.InterfaceState{PublicKey: key, ListenPort: 1 << 17}, "listen_port"},
		{"peer columns", &pb.InterfaceState{PublicKey: key, PeerColumns: &pb.PeerColumns{Count: 1}}, "peer_columns.public_keys"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cc := dialWire(t, func(s *grpc.Server) { pb.RegisterBackendServer(s, &malformedStateServer{state: tt.state}) })
			c := &backendClient{rpc: pb.NewBackendClient(cc)}
			_, err := c.State(t.Context())
			if CodeOf(err) != CodeInvalidArgument {
				t.Fatalf("got %v, want INVALID_ARGUMENT", err)
			}
			if !strings.Contains(err.Error(), "invalid State reply") || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not name the reply and %q", err, tt.want)
			}
		})
	}
}

// TestClientReadsPeerRows: a plugin built before peer columns ignores the
// request's peer_columns and answers with one message a peer; the host
// reads that as it always did.
func TestClientReadsPeerRows(t *testing.T) {
	key := make([]byte, KeyLen)
	rows := &pb.InterfaceState{PublicKey: key, Peers: []*pb.PeerState{
		{PublicKey: key, Endpoint: "192.0.2.1:51820", AllowedIps: []string{"100.64.0.2/32"}, RxBytes: 7},
	}}
	cc := dialWire(t, func(s *grpc.Server) { pb.RegisterBackendServer(s, &malformedStateServer{state: rows}) })
	c := &backendClient{rpc: pb.NewBackendClient(cc)}
	st, err := c.State(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := []PeerState{{
		Endpoint:   netip.MustParseAddrPort("192.0.2.1:51820"),
		AllowedIPs: []netip.Prefix{netip.MustParsePrefix("100.64.0.2/32")},
		RxBytes:    7,
	}}
	if !reflect.DeepEqual(st.Peers, want) {
		t.Errorf("got %+v, want %+v", st.Peers, want)
	}
}

func TestClientMapsTransportFailures(t *testing.T) {
	cc := dialWire(t, func(s *grpc.Server) {}) // no services registered
	c := &backendClient{rpc: pb.NewBackendClient(cc)}
	if err := c.Probe(t.Context()); CodeOf(err) != CodeUnsupported {
		t.Errorf("unimplemented method: got %v, want UNSUPPORTED", err)
	}
	_ = cc.Close()
	if err := c.Probe(t.Context()); CodeOf(err) != CodeUnavailable {
		t.Errorf("closed connection: got %v, want UNAVAILABLE", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := c.Probe(ctx); err != context.Canceled {
		t.Errorf("canceled ctx: got %v, want context.Canceled", err)
	}
}
