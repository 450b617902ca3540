package hostapitest_test

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/crypto/curve25519"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/hostapi/hostapitest"
)

var cmpNetip = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}, netip.AddrPort{})

const allCaps = hostapi.BackendCapPeerStats | hostapi.BackendCapRoutes |
	hostapi.BackendCapPacketFilter | hostapi.BackendCapProxy | hostapi.BackendCapUAPI

// runBackendTargets runs test against a fake Backend with caps, directly
// and across the gRPC boundary; fake is always the Backend itself.
func runBackendTargets(t *testing.T, caps hostapi.BackendCapabilities, test func(t *testing.T, b hostapi.Backend, fake *hostapitest.Backend)) {
	t.Run("direct", func(t *testing.T) {
		fake := hostapitest.NewBackend(caps)
		test(t, fake, fake)
	})
	t.Run("over gRPC", func(t *testing.T) {
		fake := hostapitest.NewBackend(caps)
		c, err := hostapi.ServeBackendTest(t.Context(), fake)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.Kill)
		test(t, c, fake)
	})
}

func prefixes(ss ...string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// ownKey is the public key of the private key configure gives.
var ownKey = func() hostapi.Key {
	priv := hostapi.PrivateKey{7}
	pub, _ := curve25519.X25519(priv[:], curve25519.Basepoint)
	return hostapi.Key(pub)
}()

func configure(t *testing.T, b hostapi.Backend) {
	t.Helper()
	if err := b.Configure(t.Context(), hostapi.InterfaceConfig{PrivateKey: hostapi.PrivateKey{7}, Addresses: prefixes("100.64.0.1/32")}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
}

func peersOf(t *testing.T, b hostapi.Backend) []hostapi.PeerState {
	t.Helper()
	st, err := b.State(t.Context())
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	return st.Peers
}

func TestBackendLifecycle(t *testing.T) {
	runBackendTargets(t, allCaps, func(t *testing.T, b hostapi.Backend, _ *hostapitest.Backend) {
		ctx := t.Context()
		if _, err := b.Info(ctx); err != nil {
			t.Errorf("Info before Configure: %v", err)
		}
		if err := b.Probe(ctx); err != nil {
			t.Errorf("Probe before Configure: %v", err)
		}
		before := map[string]error{
			"ApplyPeers":  b.ApplyPeers(ctx, hostapi.PeerChanges{}),
			"RemovePeers": b.RemovePeers(ctx, nil),
			"ApplyRoutes": b.ApplyRoutes(ctx, hostapi.RouteChanges{}),
			"SetFilter":   b.SetFilter(ctx, hostapi.Filter{}),
		}
		_, before["State"] = b.State(ctx)
		for op, err := range before {
			wantIs(t, op+" before Configure", err, hostapi.ErrClosed)
		}

		priv := hostapi.PrivateKey{7}
		configure(t, b)
		st, err := b.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pub, _ := curve25519.X25519(priv[:], curve25519.Basepoint)
		want := hostapi.InterfaceState{Name: hostapitest.DefaultInterfaceName, PublicKey: hostapi.Key(pub),
			ListenPort: hostapitest.DefaultListenPort, Addresses: prefixes("100.64.0.1/32")}
		if diff := cmp.Diff(want, st, cmpNetip); diff != "" {
			t.Errorf("State after Configure (-want +got):\n%s", diff)
		}

		if err := b.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.Close(ctx); err != nil {
			t.Errorf("second Close: %v", err)
		}
		_, err = b.State(ctx)
		wantIs(t, "State after Close", err, hostapi.ErrClosed)
		wantIs(t, "Configure after Close", b.Configure(ctx, hostapi.InterfaceConfig{}), hostapi.ErrClosed)
		if err := b.Probe(ctx); err != nil {
			t.Errorf("Probe after Close: %v", err)
		}
	})
}

func TestBackendConfigureValidates(t *testing.T) {
	tests := []struct {
		name string
		caps hostapi.BackendCapabilities
		cfg  hostapi.InterfaceConfig
		want error
	}{
		{"proxy without capability", 0, hostapi.InterfaceConfig{Proxy: &hostapi.ProxyConfig{}}, hostapi.ErrUnsupported},
		{"UAPI without capability", 0, hostapi.InterfaceConfig{UAPI: true}, hostapi.ErrUnsupported},
		{"rename", allCaps, hostapi.InterfaceConfig{Name: "other"}, hostapi.ErrUnsupported},
		{"negative MTU", allCaps, hostapi.InterfaceConfig{MTU: -1}, hostapi.ErrInvalidArgument},
		{"forward without protocol", allCaps, hostapi.InterfaceConfig{Proxy: &hostapi.ProxyConfig{Forwards: []hostapi.Forward{
			{Listen: netip.MustParseAddrPort("127.0.0.1:1"), Target: netip.MustParseAddrPort("100.64.0.2:1")}}}}, hostapi.ErrInvalidArgument},
		{"expose to nowhere", allCaps, hostapi.InterfaceConfig{Proxy: &hostapi.ProxyConfig{Exposes: []hostapi.Expose{
			{Proto: hostapi.ProtoTCP, MeshPort: 22, Target: netip.MustParseAddrPort("0.0.0.0:22")}}}}, hostapi.ErrInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runBackendTargets(t, tt.caps, func(t *testing.T, b hostapi.Backend, fake *hostapitest.Backend) {
				configure(t, b)
				peer := hostapi.PeerConfig{PublicKey: hostapi.Key{1}, AllowedIPs: prefixes("100.64.0.2/32")}
				if err := b.ApplyPeers(t.Context(), hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer}}); err != nil {
					t.Fatal(err)
				}
				before, _ := fake.Config()
				wantIs(t, "Configure", b.Configure(t.Context(), tt.cfg), tt.want)
				after, _ := fake.Config()
				if diff := cmp.Diff(before, after, cmpNetip); diff != "" {
					t.Errorf("a failed Configure changed the config (-before +after):\n%s", diff)
				}
				if n := len(peersOf(t, b)); n != 1 {
					t.Errorf("%d peers after a failed Configure, want 1", n)
				}
			})
		})
	}
}

func TestBackendReconfigureKeepsPeers(t *testing.T) {
	runBackendTargets(t, allCaps, func(t *testing.T, b hostapi.Backend, fake *hostapitest.Backend) {
		configure(t, b)
		k := hostapi.Key{1}
		if err := b.ApplyPeers(t.Context(), hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k, AllowedIPs: prefixes("100.64.0.2/32")}}}); err != nil {
			t.Fatal(err)
		}
		at := time.Unix(1700000000, 0)
		if err := fake.Handshake(k, netip.MustParseAddrPort("192.0.2.1:51820"), at, 10, 20); err != nil {
			t.Fatal(err)
		}
		if err := b.Configure(t.Context(), hostapi.InterfaceConfig{Addresses: prefixes("100.64.0.1/32", "fd7a::1/128"), MTU: 1280}); err != nil {
			t.Fatalf("reconfigure: %v", err)
		}
		peers := peersOf(t, b)
		if len(peers) != 1 || !peers[0].LastHandshake.Equal(at) || peers[0].RxBytes != 10 {
			t.Errorf("peers after reconfiguring = %+v, want the peer with its session", peers)
		}
		cfg, _ := fake.Config()
		if cfg.MTU != 1280 || cfg.ListenPort != hostapitest.DefaultListenPort || cfg.Name != hostapitest.DefaultInterfaceName {
			t.Errorf("config after reconfiguring = %+v", cfg)
		}
	})
}

func TestBackendApplyPeers(t *testing.T) {
	k1, k2, k3 := hostapi.Key{1}, hostapi.Key{2}, hostapi.Key{3}
	ep := netip.MustParseAddrPort("192.0.2.1:51820")
	base := []hostapi.PeerConfig{
		{PublicKey: k2, Endpoint: ep, AllowedIPs: prefixes("100.64.0.2/32", "10.2.0.0/16"), PersistentKeepalive: 25 * time.Second},
		{PublicKey: k1, AllowedIPs: prefixes("100.64.0.1/32")},
	}
	handshake := time.Unix(1700000000, 0)
	tests := []struct {
		name    string
		changes hostapi.PeerChanges
		want    []hostapi.PeerState // nil: the call must fail with ErrInvalidArgument
	}{
		{"update in place keeps session and endpoint", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k2, AllowedIPs: prefixes("100.64.0.2/32")}}},
			[]hostapi.PeerState{
				{PublicKey: k1, AllowedIPs: prefixes("100.64.0.1/32")},
				{PublicKey: k2, Endpoint: ep, AllowedIPs: prefixes("100.64.0.2/32"), LastHandshake: handshake, RxBytes: 5, TxBytes: 6},
			}},
		{"remove then re-add starts a new session", hostapi.PeerChanges{Remove: []hostapi.Key{k2}, Upsert: []hostapi.PeerConfig{{PublicKey: k2, AllowedIPs: prefixes("100.64.0.2/32")}}},
			[]hostapi.PeerState{
				{PublicKey: k1, AllowedIPs: prefixes("100.64.0.1/32")},
				{PublicKey: k2, AllowedIPs: prefixes("100.64.0.2/32")},
			}},
		{"add, remove absent", hostapi.PeerChanges{Remove: []hostapi.Key{{9}, {}}, Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: prefixes("10.3.0.0/16")}}},
			[]hostapi.PeerState{
				{PublicKey: k1, AllowedIPs: prefixes("100.64.0.1/32")},
				{PublicKey: k2, Endpoint: ep, AllowedIPs: prefixes("100.64.0.2/32", "10.2.0.0/16"), PersistentKeepalive: 25 * time.Second, LastHandshake: handshake, RxBytes: 5, TxBytes: 6},
				{PublicKey: k3, AllowedIPs: prefixes("10.3.0.0/16")},
			}},
		{"move an allowed IP between peers in one call", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{
			{PublicKey: k2, Endpoint: ep, AllowedIPs: prefixes("100.64.0.2/32")},
			{PublicKey: k1, AllowedIPs: prefixes("100.64.0.1/32", "10.2.0.0/16")},
		}}, []hostapi.PeerState{
			{PublicKey: k1, AllowedIPs: prefixes("100.64.0.1/32", "10.2.0.0/16")},
			{PublicKey: k2, Endpoint: ep, AllowedIPs: prefixes("100.64.0.2/32"), LastHandshake: handshake, RxBytes: 5, TxBytes: 6},
		}},
		{"overlap with another peer: the longest match wins", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: prefixes("10.2.3.0/24", "0.0.0.0/0")}}},
			[]hostapi.PeerState{
				{PublicKey: k1, AllowedIPs: prefixes("100.64.0.1/32")},
				{PublicKey: k2, Endpoint: ep, AllowedIPs: prefixes("100.64.0.2/32", "10.2.0.0/16"), PersistentKeepalive: 25 * time.Second, LastHandshake: handshake, RxBytes: 5, TxBytes: 6},
				{PublicKey: k3, AllowedIPs: prefixes("10.2.3.0/24", "0.0.0.0/0")},
			}},
		{"zero key", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{AllowedIPs: prefixes("10.9.0.0/16")}}}, nil},
		{"own key", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: ownKey, AllowedIPs: prefixes("10.9.0.0/16")}}}, nil},
		{"duplicate key", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: prefixes("10.9.0.0/16")}, {PublicKey: k3, AllowedIPs: prefixes("10.8.0.0/16")}}}, nil},
		{"no allowed IPs", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3}}}, nil},
		{"invalid allowed IP", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: []netip.Prefix{{}}}}}, nil},
		{"allowed IP with host bits", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: prefixes("10.3.1.1/16")}}}, nil},
		{"allowed IP of another peer", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: prefixes("10.2.0.0/16")}}}, nil},
		{"same allowed IP on two new peers", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{
			{PublicKey: k3, AllowedIPs: prefixes("fd00::/64")}, {PublicKey: hostapi.Key{4}, AllowedIPs: prefixes("fd00::/64")}}}, nil},
		{"endpoint port 0", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: prefixes("10.9.0.0/16"), Endpoint: netip.MustParseAddrPort("192.0.2.9:0")}}}, nil},
		{"unspecified endpoint", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: prefixes("10.9.0.0/16"), Endpoint: netip.MustParseAddrPort("0.0.0.0:51820")}}}, nil},
		{"fractional keepalive", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: prefixes("10.9.0.0/16"), PersistentKeepalive: 1500 * time.Millisecond}}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runBackendTargets(t, allCaps, func(t *testing.T, b hostapi.Backend, fake *hostapitest.Backend) {
				configure(t, b)
				if err := b.ApplyPeers(t.Context(), hostapi.PeerChanges{Upsert: base}); err != nil {
					t.Fatal(err)
				}
				if err := fake.Handshake(k2, netip.AddrPort{}, handshake, 5, 6); err != nil {
					t.Fatal(err)
				}
				before := peersOf(t, b)
				err := b.ApplyPeers(t.Context(), tt.changes)
				want := tt.want
				if want == nil {
					wantIs(t, "ApplyPeers", err, hostapi.ErrInvalidArgument)
					want = before
				} else if err != nil {
					t.Fatalf("ApplyPeers: %v", err)
				}
				if diff := cmp.Diff(want, peersOf(t, b), cmpNetip, cmpopts.EquateEmpty()); diff != "" {
					t.Errorf("peers (-want +got):\n%s", diff)
				}
			})
		})
	}
}

func TestBackendRemovePeers(t *testing.T) {
	runBackendTargets(t, allCaps, func(t *testing.T, b hostapi.Backend, _ *hostapitest.Backend) {
		configure(t, b)
		var up []hostapi.PeerConfig
		for i := byte(1); i <= 3; i++ {
			up = append(up, hostapi.PeerConfig{PublicKey: hostapi.Key{i}, AllowedIPs: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, 0, i}), 32)}})
		}
		if err := b.ApplyPeers(t.Context(), hostapi.PeerChanges{Upsert: up}); err != nil {
			t.Fatal(err)
		}
		if err := b.RemovePeers(t.Context(), []hostapi.Key{{2}, {9}}); err != nil {
			t.Fatal(err)
		}
		var got []hostapi.Key
		for _, p := range peersOf(t, b) {
			got = append(got, p.PublicKey)
		}
		if diff := cmp.Diff([]hostapi.Key{{1}, {3}}, got); diff != "" {
			t.Errorf("peers after RemovePeers (-want +got):\n%s", diff)
		}
	})
}

func TestBackendRoutesAndFilter(t *testing.T) {
	t.Run("capabilities missing", func(t *testing.T) {
		runBackendTargets(t, hostapi.BackendCapPeerStats, func(t *testing.T, b hostapi.Backend, _ *hostapitest.Backend) {
			configure(t, b)
			wantIs(t, "ApplyRoutes", b.ApplyRoutes(t.Context(), hostapi.RouteChanges{}), hostapi.ErrUnsupported)
			wantIs(t, "SetFilter", b.SetFilter(t.Context(), hostapi.Filter{}), hostapi.ErrUnsupported)
		})
	})
	runBackendTargets(t, allCaps, func(t *testing.T, b hostapi.Backend, fake *hostapitest.Backend) {
		configure(t, b)
		if err := b.ApplyRoutes(t.Context(), hostapi.RouteChanges{Add: prefixes("10.1.0.0/16", "::/0", "10.2.0.0/16")}); err != nil {
			t.Fatal(err)
		}
		if err := b.ApplyRoutes(t.Context(), hostapi.RouteChanges{Remove: prefixes("10.2.0.0/16", "10.9.0.0/16"), Add: prefixes("::/0")}); err != nil {
			t.Fatal(err)
		}
		wantIs(t, "ApplyRoutes with host bits", b.ApplyRoutes(t.Context(), hostapi.RouteChanges{Add: prefixes("10.1.2.3/16")}), hostapi.ErrInvalidArgument)
		if diff := cmp.Diff(prefixes("10.1.0.0/16", "::/0"), fake.Routes(), cmpNetip); diff != "" {
			t.Errorf("routes (-want +got):\n%s", diff)
		}
		if st, err := b.State(t.Context()); err != nil || !slices.Equal(st.Routes, fake.Routes()) {
			t.Errorf("State routes = %v, %v; want %v", st.Routes, err, fake.Routes())
		}
		wantIs(t, "SetFilter with an empty port range", b.SetFilter(t.Context(), hostapi.Filter{Rules: []hostapi.FilterRule{{Ports: []hostapi.PortRange{{First: 9, Last: 8}}}}}), hostapi.ErrInvalidArgument)
		if !fake.Admits(netip.MustParseAddr("100.64.0.9"), netip.MustParseAddr("100.64.0.1"), hostapi.ProtoUDP, 53) {
			t.Error("a packet was dropped with no filter set")
		}
		f := hostapi.Filter{Rules: []hostapi.FilterRule{
			{Src: prefixes("100.64.0.2/32"), Dst: prefixes("100.64.0.1/32"), Proto: hostapi.ProtoTCP, Ports: []hostapi.PortRange{{First: 22, Last: 22}, {First: 8000, Last: 8999}}},
			{Src: prefixes("100.64.0.0/10"), Dst: prefixes("100.64.0.1/32"), Proto: hostapi.ProtoICMP},
		}}
		if err := b.SetFilter(t.Context(), f); err != nil {
			t.Fatal(err)
		}
		src, dst, other := netip.MustParseAddr("100.64.0.2"), netip.MustParseAddr("100.64.0.1"), netip.MustParseAddr("100.64.0.3")
		admits := []struct {
			name     string
			src, dst netip.Addr
			proto    hostapi.Proto
			port     uint16
			want     bool
		}{
			{"allowed port", src, dst, hostapi.ProtoTCP, 22, true},
			{"allowed range", src, dst, hostapi.ProtoTCP, 8443, true},
			{"other port", src, dst, hostapi.ProtoTCP, 23, false},
			{"other protocol", src, dst, hostapi.ProtoUDP, 22, false},
			{"other source", other, dst, hostapi.ProtoTCP, 22, false},
			{"icmp from the mesh", other, dst, hostapi.ProtoICMP, 0, true},
			{"icmp to elsewhere", other, other, hostapi.ProtoICMP, 0, false},
		}
		for _, tt := range admits {
			if got := fake.Admits(tt.src, tt.dst, tt.proto, tt.port); got != tt.want {
				t.Errorf("%s: Admits = %v, want %v", tt.name, got, tt.want)
			}
		}
	})
}

func TestBackendFaultAndContext(t *testing.T) {
	b := hostapitest.NewBackend(allCaps)
	configure(t, b)
	injected := hostapi.Errorf(hostapi.CodeUnavailable, "injected")
	b.SetFault(func(_ context.Context, op string) error {
		if op == "ApplyPeers" {
			return injected
		}
		return nil
	})
	if err := b.ApplyPeers(t.Context(), hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: hostapi.Key{1}}}}); err != injected {
		t.Errorf("ApplyPeers: got %v, want the injected error", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := b.RemovePeers(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("RemovePeers with a canceled ctx: got %v, want context.Canceled", err)
	}
	if n := len(peersOf(t, b)); n != 0 {
		t.Errorf("%d peers, want 0", n)
	}
}
