package hostapi_test

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rustynet/rustynet/hostapi"
)

// cmpBytes compares byte slices at once rather than byte by byte.
var cmpBytes = cmp.Comparer(bytes.Equal)

// cmpNetip compares netip values, whose fields are unexported.
var cmpNetip = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}, netip.AddrPort{})

func serveStore(t *testing.T, impl hostapi.Store) *hostapi.StoreClient {
	t.Helper()
	c, err := hostapi.ServeStoreTest(t.Context(), impl)
	if err != nil {
		t.Fatalf("ServeStoreTest: %v", err)
	}
	t.Cleanup(c.Kill)
	return c
}

func serveBackend(t *testing.T, impl hostapi.Backend) *hostapi.BackendClient {
	t.Helper()
	c, err := hostapi.ServeBackendTest(t.Context(), impl)
	if err != nil {
		t.Fatalf("ServeBackendTest: %v", err)
	}
	t.Cleanup(c.Kill)
	return c
}

func TestStoreRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte{0xab}, 3<<20) // three of these need two ReadLog chunks
	impl := &scriptedStore{
		info:    hostapi.StoreInfo{Name: "scripted", Version: "1.2.3", Capabilities: hostapi.StoreCapLock | hostapi.StoreCapPermissions | 1<<40},
		head:    1<<63 + 5,
		entries: []hostapi.LogEntry{{Index: 3, Data: big}, {Index: 4, Data: []byte{0}}, {Index: 5, Data: big}, {Index: 6, Data: big}},
		snap:    hostapi.Snapshot{Index: 9, Data: []byte("snapshot")},
	}
	c := serveStore(t, impl)
	tests := []struct {
		name     string
		call     func(context.Context) (any, error)
		wantCall call
		want     any
	}{
		{"Info", func(ctx context.Context) (any, error) { return c.Info(ctx) },
			call{Method: "Info"}, impl.info},
		{"Open", func(ctx context.Context) (any, error) {
			return nil, c.Open(ctx, hostapi.StoreConfig{Dir: "/var/lib/rustynet/ü"})
		},
			call{"Open", []any{hostapi.StoreConfig{Dir: "/var/lib/rustynet/ü"}}}, nil},
		{"Append", func(ctx context.Context) (any, error) {
			return nil, c.Append(ctx, hostapi.LogEntry{Index: 1<<64 - 1, Data: []byte{0, 1, 0xff}})
		}, call{"Append", []any{hostapi.LogEntry{Index: 1<<64 - 1, Data: []byte{0, 1, 0xff}}}}, nil},
		{"Truncate", func(ctx context.Context) (any, error) { return nil, c.Truncate(ctx, 1<<63+1) },
			call{"Truncate", []any{uint64(1<<63 + 1)}}, nil},
		{"Head", func(ctx context.Context) (any, error) { return c.Head(ctx) },
			call{Method: "Head"}, impl.head},
		{"ReadLog", func(ctx context.Context) (any, error) { return c.ReadLog(ctx, 3, 4) },
			call{"ReadLog", []any{uint64(3), 4}}, impl.entries},
		{"ReadLog negative limit", func(ctx context.Context) (any, error) { return c.ReadLog(ctx, 0, -7) },
			call{"ReadLog", []any{uint64(0), -7}}, impl.entries},
		{"PutSnapshot", func(ctx context.Context) (any, error) {
			return nil, c.PutSnapshot(ctx, hostapi.Snapshot{Index: 2, Data: []byte("s")})
		}, call{"PutSnapshot", []any{hostapi.Snapshot{Index: 2, Data: []byte("s")}}}, nil},
		{"GetSnapshot", func(ctx context.Context) (any, error) { return c.GetSnapshot(ctx) },
			call{Method: "GetSnapshot"}, impl.snap},
		{"Close", func(ctx context.Context) (any, error) { return nil, c.Close(ctx) },
			call{Method: "Close"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(impl.received())
			got, err := tt.call(t.Context())
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.want, got, cmpBytes); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			calls := impl.received()[before:]
			if diff := cmp.Diff([]call{tt.wantCall}, calls, cmpBytes); diff != "" {
				t.Errorf("calls the plugin received (-want +got):\n%s", diff)
			}
		})
	}
}

func TestStoreReadLogEmptyIsNonNil(t *testing.T) {
	c := serveStore(t, &scriptedStore{})
	got, err := c.ReadLog(t.Context(), 1, 1)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("ReadLog = %#v, %v; want an empty, non-nil slice", got, err)
	}
}

func fullInterfaceConfig() hostapi.InterfaceConfig {
	return hostapi.InterfaceConfig{
		Name:       "rn0",
		PrivateKey: hostapi.PrivateKey{1, 2, 3, 31: 0xff},
		ListenPort: 65535,
		Addresses:  []netip.Prefix{netip.MustParsePrefix("100.64.0.1/32"), netip.MustParsePrefix("fd7a::1/128"), netip.MustParsePrefix("10.1.2.3/8")},
		MTU:        1280,
		Proxy: &hostapi.ProxyConfig{
			SOCKS5: netip.MustParseAddrPort("127.0.0.1:1080"),
			Forwards: []hostapi.Forward{
				{Proto: hostapi.ProtoTCP, Listen: netip.MustParseAddrPort("127.0.0.1:8080"), Target: netip.MustParseAddrPort("100.64.0.2:80")},
				{Proto: hostapi.ProtoUDP, Listen: netip.MustParseAddrPort("[::1]:5353"), Target: netip.MustParseAddrPort("[fd7a::2]:53")},
				{Proto: hostapi.ProtoTCP, Listen: netip.MustParseAddrPort("127.0.0.1:8081"), Target: netip.AddrPortFrom(netip.Addr{}, 443), TargetHost: "n2.lab"},
			},
			Exposes:     []hostapi.Expose{{Proto: hostapi.ProtoTCP, MeshPort: 22, Target: netip.MustParseAddrPort("127.0.0.1:2222")}},
			DNS:         []netip.Addr{netip.MustParseAddr("100.100.100.100"), netip.MustParseAddr("fe80::1%eth0")},
			MeshService: &hostapi.MeshService{Port: 7946, Accept: "/run/rn/accept.sock", Dial: "/run/rn/dial.sock"},
			Auth:        &hostapi.ProxyAuth{Username: "ü", Password: "p:w d"},
			Hosts: []hostapi.Host{
				{Name: "n1", Addrs: []netip.Addr{netip.MustParseAddr("100.64.0.1")}},
				{Name: "n2", Addrs: []netip.Addr{netip.MustParseAddr("100.64.0.2"), netip.MustParseAddr("fd7a::2")}},
			},
			Domain: "lab",
		},
		UAPI:    true,
		Gateway: &hostapi.GatewayConfig{Prefixes: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/24"), netip.MustParsePrefix("::/0")}, Masquerade: true},
	}
}

func TestBackendRoundTrip(t *testing.T) {
	k1, k2 := hostapi.Key{1}, hostapi.Key{2, 31: 9}
	impl := &scriptedBackend{
		info: hostapi.BackendInfo{
			Name: "scripted", Version: "v9", Capabilities: hostapi.BackendCapRoutes | hostapi.BackendCapUAPI | 1<<63,
			Privileges: hostapi.Privileges{Root: true, TUN: true, KernelModule: true},
		},
		state: hostapi.InterfaceState{
			Name: "rn0", PublicKey: k1, ListenPort: 51820,
			Addresses: []netip.Prefix{netip.MustParsePrefix("100.64.0.1/32")},
			Routes:    []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("10.20.0.0/24")},
			Peers: []hostapi.PeerState{
				{PublicKey: k1, Endpoint: netip.MustParseAddrPort("[2001:db8::1]:51820"), AllowedIPs: []netip.Prefix{netip.MustParsePrefix("100.64.0.2/32")},
					PersistentKeepalive: 25 * time.Second, LastHandshake: time.Date(2026, 5, 1, 12, 0, 0, 123456789, time.UTC), RxBytes: 1 << 40, TxBytes: 7},
				{PublicKey: k2},
			},
		},
	}
	c := serveBackend(t, impl)
	withoutProxy := fullInterfaceConfig()
	withoutProxy.Proxy, withoutProxy.UAPI, withoutProxy.Gateway = nil, false, nil
	changes := hostapi.PeerChanges{
		Remove: []hostapi.Key{k2},
		Upsert: []hostapi.PeerConfig{
			{PublicKey: k1, Endpoint: netip.MustParseAddrPort("192.0.2.1:51820"), AllowedIPs: []netip.Prefix{netip.MustParsePrefix("100.64.0.2/32"), netip.MustParsePrefix("10.0.0.0/8")}, PersistentKeepalive: 25 * time.Second},
			{PublicKey: k2},
		},
	}
	routes := hostapi.RouteChanges{
		Remove: []netip.Prefix{netip.MustParsePrefix("10.20.0.0/24")},
		Add:    []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")},
	}
	filter := hostapi.Filter{Rules: []hostapi.FilterRule{
		{Src: []netip.Prefix{netip.MustParsePrefix("100.64.0.0/10")}, Dst: []netip.Prefix{netip.MustParsePrefix("100.64.0.1/32")}, Proto: hostapi.ProtoTCP, Ports: []hostapi.PortRange{{First: 22, Last: 22}, {First: 8000, Last: 8999}}},
		{Src: []netip.Prefix{netip.MustParsePrefix("::/0")}, Dst: []netip.Prefix{netip.MustParsePrefix("fd7a::/48")}, Proto: hostapi.ProtoICMP},
	}}
	tests := []struct {
		name     string
		call     func(context.Context) (any, error)
		wantCall call
		want     any
	}{
		{"Info", func(ctx context.Context) (any, error) { return c.Info(ctx) }, call{Method: "Info"}, impl.info},
		{"Probe", func(ctx context.Context) (any, error) { return nil, c.Probe(ctx) }, call{Method: "Probe"}, nil},
		{"Configure with proxy", func(ctx context.Context) (any, error) { return nil, c.Configure(ctx, fullInterfaceConfig()) },
			call{"Configure", []any{fullInterfaceConfig()}}, nil},
		{"Configure without proxy", func(ctx context.Context) (any, error) { return nil, c.Configure(ctx, withoutProxy) },
			call{"Configure", []any{withoutProxy}}, nil},
		{"Configure zero", func(ctx context.Context) (any, error) { return nil, c.Configure(ctx, hostapi.InterfaceConfig{}) },
			call{"Configure", []any{hostapi.InterfaceConfig{}}}, nil},
		{"ApplyPeers", func(ctx context.Context) (any, error) { return nil, c.ApplyPeers(ctx, changes) },
			call{"ApplyPeers", []any{changes}}, nil},
		{"RemovePeers", func(ctx context.Context) (any, error) { return nil, c.RemovePeers(ctx, []hostapi.Key{k1, k2}) },
			call{"RemovePeers", []any{[]hostapi.Key{k1, k2}}}, nil},
		{"State", func(ctx context.Context) (any, error) { return c.State(ctx) }, call{Method: "State"}, impl.state},
		{"ApplyRoutes", func(ctx context.Context) (any, error) { return nil, c.ApplyRoutes(ctx, routes) },
			call{"ApplyRoutes", []any{routes}}, nil},
		{"SetFilter", func(ctx context.Context) (any, error) { return nil, c.SetFilter(ctx, filter) },
			call{"SetFilter", []any{filter}}, nil},
		{"SetFilter empty", func(ctx context.Context) (any, error) { return nil, c.SetFilter(ctx, hostapi.Filter{}) },
			call{"SetFilter", []any{hostapi.Filter{}}}, nil},
		{"Close", func(ctx context.Context) (any, error) { return nil, c.Close(ctx) }, call{Method: "Close"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(impl.received())
			got, err := tt.call(t.Context())
			if err != nil {
				t.Fatalf("%s: %v", tt.name, err)
			}
			if diff := cmp.Diff(tt.want, got, cmpNetip); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]call{tt.wantCall}, impl.received()[before:], cmpNetip, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("calls the plugin received (-want +got):\n%s", diff)
			}
		})
	}
}

func TestBackendRejectsUnencodableValuesBeforeSending(t *testing.T) {
	impl := &scriptedBackend{}
	c := serveBackend(t, impl)
	badProxy := fullInterfaceConfig()
	badProxy.Proxy.Forwards[0].Proto = hostapi.Proto(9)
	badListen := fullInterfaceConfig()
	badListen.Proxy.HTTP = netip.AddrPortFrom(netip.Addr{}, 8080)
	badHost := fullInterfaceConfig()
	badHost.Proxy.Hosts[1].Addrs = []netip.Addr{{}}
	tests := []struct {
		name string
		call func(context.Context) error
	}{
		{"invalid address", func(ctx context.Context) error {
			return c.Configure(ctx, hostapi.InterfaceConfig{Addresses: []netip.Prefix{{}}})
		}},
		{"unknown forward protocol", func(ctx context.Context) error { return c.Configure(ctx, badProxy) }},
		{"port without address", func(ctx context.Context) error { return c.Configure(ctx, badListen) }},
		{"host without a valid address", func(ctx context.Context) error { return c.Configure(ctx, badHost) }},
		{"invalid allowed IP", func(ctx context.Context) error {
			return c.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{AllowedIPs: []netip.Prefix{{}}}}})
		}},
		{"invalid route", func(ctx context.Context) error {
			return c.ApplyRoutes(ctx, hostapi.RouteChanges{Add: []netip.Prefix{{}}})
		}},
		{"unknown filter protocol", func(ctx context.Context) error {
			return c.SetFilter(ctx, hostapi.Filter{Rules: []hostapi.FilterRule{{Proto: 200}}})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantCode(t, tt.call(t.Context()), hostapi.CodeInvalidArgument)
			if got := impl.received(); len(got) != 0 {
				t.Errorf("plugin received %+v, want nothing", got)
			}
		})
	}
}

func TestBackendRejectsUnencodableState(t *testing.T) {
	impl := &scriptedBackend{state: hostapi.InterfaceState{
		Peers: []hostapi.PeerState{{LastHandshake: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)}},
	}}
	c := serveBackend(t, impl)
	_, err := c.State(t.Context())
	wantCode(t, err, hostapi.CodeInvalidArgument)
}

func TestInProcessKillClosesImplementation(t *testing.T) {
	impl := &scriptedStore{}
	c, err := hostapi.ServeStoreTest(t.Context(), impl)
	if err != nil {
		t.Fatal(err)
	}
	if c.Pid() != os.Getpid() {
		t.Errorf("Pid() = %d, want this process's %d", c.Pid(), os.Getpid())
	}
	if err := c.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if c.Exited() {
		t.Fatal("Exited() before Kill")
	}
	c.Kill()
	c.Kill() // idempotent
	if diff := cmp.Diff([]call{{Method: "Close"}}, impl.received()); diff != "" {
		t.Errorf("calls after Kill (-want +got):\n%s", diff)
	}
	if !c.Exited() {
		t.Error("Exited() = false after Kill")
	}
	wantCode(t, c.Ping(t.Context()), hostapi.CodeUnavailable)
	_, err = c.Head(t.Context())
	wantCode(t, err, hostapi.CodeUnavailable)
}

func TestServeTestHonoursCanceledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := hostapi.ServeStoreTest(ctx, &scriptedStore{}); err != context.Canceled {
		t.Errorf("ServeStoreTest with a canceled ctx: got %v, want context.Canceled", err)
	}
}
