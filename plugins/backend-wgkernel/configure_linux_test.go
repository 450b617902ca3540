package wgkernel

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/rustynet/rustynet/hostapi"
)

func testProbe(t *testing.T) {
	ctx := context.Background()
	if err := New(nil).Probe(ctx); err != nil {
		t.Fatalf("Probe as root with WireGuard loaded: got %v, want nil", err)
	}
	// Capabilities belong to threads: drop CAP_NET_ADMIN on one thread that
	// is never given back (it exits with its goroutine).
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := dropNetAdmin(); err != nil {
			errc <- err
			return
		}
		errc <- New(nil).Probe(ctx)
	}()
	wantCode(t, "Probe without CAP_NET_ADMIN", <-errc, hostapi.CodePermission)
}

// dropNetAdmin removes CAP_NET_ADMIN from the calling thread's effective
// set.
func dropNetAdmin() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return err
	}
	data[unix.CAP_NET_ADMIN/32].Effective &^= 1 << (unix.CAP_NET_ADMIN % 32)
	return unix.Capset(&hdr, &data[0])
}

func testInfo(t *testing.T) {
	ctx := context.Background()
	b := New(nil)
	info, err := b.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := hostapi.BackendInfo{
		Name: "wgkernel", Version: Version,
		Capabilities: hostapi.BackendCapPeerStats | hostapi.BackendCapRoutes | hostapi.BackendCapGateway | hostapi.BackendCapPacketFilter,
		Privileges:   hostapi.Privileges{Root: true, KernelModule: true},
	}
	if diff := cmp.Diff(want, info); diff != "" {
		t.Errorf("Info (-want +got):\n%s", diff)
	}
}

func testClosed(t *testing.T) {
	ctx := context.Background()
	ns := newNetNS(t)
	b := New(testLogger(t))
	calls := func(when string) {
		t.Helper()
		wantCode(t, when+": ApplyPeers", b.ApplyPeers(ctx, hostapi.PeerChanges{}), hostapi.CodeClosed)
		wantCode(t, when+": RemovePeers", b.RemovePeers(ctx, nil), hostapi.CodeClosed)
		_, err := b.State(ctx)
		wantCode(t, when+": State", err, hostapi.CodeClosed)
		wantCode(t, when+": ApplyRoutes", b.ApplyRoutes(ctx, hostapi.RouteChanges{}), hostapi.CodeClosed)
		wantCode(t, when+": SetFilter", b.SetFilter(ctx, hostapi.Filter{}), hostapi.CodeClosed)
	}
	calls("before Configure")

	cfg := hostapi.InterfaceConfig{Name: "wgclosed0", PrivateKey: newKeyPair(t).priv}
	var err error
	inNetNS(t, ns, func() { err = b.Configure(ctx, cfg) })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := linkIn(t, ns, "wgclosed0"); err != nil {
		t.Fatalf("after Configure: %v", err)
	}
	for i := range 2 {
		if err := b.Close(ctx); err != nil {
			t.Fatalf("Close #%d: %v", i+1, err)
		}
	}
	if _, err := linkIn(t, ns, "wgclosed0"); err == nil {
		t.Error("the interface still exists after Close")
	}
	calls("after Close")
	wantCode(t, "Configure after Close", b.Configure(ctx, cfg), hostapi.CodeClosed)
}

func testConfigure(t *testing.T) {
	ctx := context.Background()
	ns := newNetNS(t)
	kp := newKeyPair(t)
	cfg := hostapi.InterfaceConfig{
		Name:       "wgcfg0",
		PrivateKey: kp.priv,
		ListenPort: 51820,
		Addresses:  []netip.Prefix{netip.MustParsePrefix("fd00:64::1/64"), netip.MustParsePrefix("100.64.0.1/24")},
		MTU:        1380,
	}
	b := newBackendIn(t, ns, cfg)
	want := hostapi.InterfaceState{
		Name:       "wgcfg0",
		PublicKey:  kp.pub,
		ListenPort: 51820,
		Addresses:  []netip.Prefix{netip.MustParsePrefix("100.64.0.1/24"), netip.MustParsePrefix("fd00:64::1/64")},
		Peers:      []hostapi.PeerState{},
	}
	if diff := cmp.Diff(want, mustState(t, b), netipComparers); diff != "" {
		t.Fatalf("State after Configure (-want +got):\n%s", diff)
	}
	checkLink(t, ns, "wgcfg0", 1380)

	// A peer, to show that reconfiguring leaves peers alone.
	peer := hostapi.PeerConfig{PublicKey: newKeyPair(t).pub, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("100.64.0.2/32")}}
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer}}); err != nil {
		t.Fatal(err)
	}

	// Later calls: new key, port 0 keeps the port, addresses replaced,
	// MTU 0 is the default.
	kp2 := newKeyPair(t)
	cfg2 := hostapi.InterfaceConfig{
		Name:       "wgcfg0",
		PrivateKey: kp2.priv,
		Addresses:  []netip.Prefix{netip.MustParsePrefix("100.64.0.9/24")},
	}
	if err := b.Configure(ctx, cfg2); err != nil {
		t.Fatalf("second Configure: %v", err)
	}
	want.PublicKey = kp2.pub
	want.Addresses = cfg2.Addresses
	want.Peers = []hostapi.PeerState{{PublicKey: peer.PublicKey, AllowedIPs: peer.AllowedIPs}}
	if diff := cmp.Diff(want, mustState(t, b), netipComparers); diff != "" {
		t.Fatalf("State after the second Configure (-want +got):\n%s", diff)
	}
	checkLink(t, ns, "wgcfg0", DefaultMTU)

	// Dropping a subnet's primary address keeps the wanted secondary that
	// the kernel would drop with it.
	for _, addrs := range [][]netip.Prefix{prefixList("100.64.0.9/24", "100.64.0.10/24"), prefixList("100.64.0.10/24")} {
		c := cfg2
		c.Addresses = addrs
		if err := b.Configure(ctx, c); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(addrs, mustState(t, b).Addresses, netipComparers); diff != "" {
			t.Errorf("addresses (-want +got):\n%s", diff)
		}
	}

	cfg3 := cfg2
	cfg3.Name = "wgother0"
	wantCode(t, "Configure with another name", b.Configure(ctx, cfg3), hostapi.CodeUnsupported)

	// Defaults on the first call: the name, a port the kernel picks, and no
	// identity without a private key. Later, an empty name is the current
	// one.
	b2 := newBackendIn(t, newNetNS(t), hostapi.InterfaceConfig{})
	st := mustState(t, b2)
	if st.Name != DefaultName || st.ListenPort == 0 || !st.PublicKey.IsZero() {
		t.Errorf("State with defaults: got name %q port %d key %v, want name %q, a port the kernel chose, no key", st.Name, st.ListenPort, st.PublicKey, DefaultName)
	}
	kp3 := newKeyPair(t)
	if err := b2.Configure(ctx, hostapi.InterfaceConfig{PrivateKey: kp3.priv}); err != nil {
		t.Fatalf("Configure with an empty name later: %v", err)
	}
	if st2 := mustState(t, b2); st2.Name != DefaultName || st2.PublicKey != kp3.pub || st2.ListenPort != st.ListenPort {
		t.Errorf("State after setting a key: got name %q key %v port %d, want %q, %v, %d", st2.Name, st2.PublicKey, st2.ListenPort, DefaultName, kp3.pub, st.ListenPort)
	}
}

// checkLink checks that ns has an up WireGuard interface name with mtu.
func checkLink(t *testing.T, ns netns.NsHandle, name string, mtu int) {
	t.Helper()
	link, err := linkIn(t, ns, name)
	if err != nil {
		t.Fatalf("interface %s: %v", name, err)
	}
	a := link.Attrs()
	if link.Type() != "wireguard" || a.MTU != mtu || a.Flags&net.FlagUp == 0 {
		t.Errorf("interface %s: got type %s, MTU %d, flags %v; want wireguard, MTU %d, up", name, link.Type(), a.MTU, a.Flags, mtu)
	}
}

func testConfigureInvalid(t *testing.T) {
	ctx := context.Background()
	ns := newNetNS(t)
	key := newKeyPair(t).priv
	valid := hostapi.InterfaceConfig{Name: "wgbad0", PrivateKey: key}
	with := func(f func(*hostapi.InterfaceConfig)) hostapi.InterfaceConfig {
		c := valid
		f(&c)
		return c
	}
	tests := []struct {
		name string
		cfg  hostapi.InterfaceConfig
		want hostapi.Code
	}{
		{"name with space", with(func(c *hostapi.InterfaceConfig) { c.Name = "wg bad" }), hostapi.CodeInvalidArgument},
		{"name with slash", with(func(c *hostapi.InterfaceConfig) { c.Name = "wg/bad" }), hostapi.CodeInvalidArgument},
		{"name too long", with(func(c *hostapi.InterfaceConfig) { c.Name = "wg-name-too-long" }), hostapi.CodeInvalidArgument},
		{"MTU too small", with(func(c *hostapi.InterfaceConfig) { c.MTU = 100 }), hostapi.CodeInvalidArgument},
		{"MTU too small for IPv6", with(func(c *hostapi.InterfaceConfig) {
			c.MTU = 1279
			c.Addresses = []netip.Prefix{netip.MustParsePrefix("fd00::1/64")}
		}), hostapi.CodeInvalidArgument},
		{"duplicate address", with(func(c *hostapi.InterfaceConfig) {
			c.Addresses = []netip.Prefix{netip.MustParsePrefix("100.64.0.1/24"), netip.MustParsePrefix("100.64.0.1/24")}
		}), hostapi.CodeInvalidArgument},
		{"invalid address", with(func(c *hostapi.InterfaceConfig) { c.Addresses = []netip.Prefix{{}} }), hostapi.CodeInvalidArgument},
		{"proxy", with(func(c *hostapi.InterfaceConfig) { c.Proxy = &hostapi.ProxyConfig{} }), hostapi.CodeUnsupported},
		{"UAPI", with(func(c *hostapi.InterfaceConfig) { c.UAPI = true }), hostapi.CodeUnsupported},
		{"gateway prefix with host bits", with(func(c *hostapi.InterfaceConfig) {
			c.Gateway = &hostapi.GatewayConfig{Prefixes: []netip.Prefix{netip.MustParsePrefix("10.20.0.1/24")}}
		}), hostapi.CodeInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := New(testLogger(t))
			var err error
			inNetNS(t, ns, func() { err = b.Configure(ctx, tt.cfg) })
			wantCode(t, "Configure", err, tt.want)
			if _, err := linkIn(t, ns, "wgbad0"); err == nil {
				t.Error("a failed Configure left the interface behind")
			}
		})
	}

	t.Run("port in use", func(t *testing.T) {
		// The kernel binds the port when the interface comes up, the last
		// step: the interface it created must be deleted again.
		var sock *net.UDPConn
		var err error
		inNetNS(t, ns, func() { sock, err = net.ListenUDP("udp", &net.UDPAddr{}) })
		if err != nil {
			t.Fatal(err)
		}
		defer sock.Close()
		cfg := valid
		cfg.ListenPort = uint16(sock.LocalAddr().(*net.UDPAddr).Port)
		b := New(testLogger(t))
		inNetNS(t, ns, func() { err = b.Configure(ctx, cfg) })
		wantCode(t, "Configure", err, hostapi.CodeConflict)
		if _, err := linkIn(t, ns, "wgbad0"); err == nil {
			t.Error("a failed Configure left the interface behind")
		}
	})

	t.Run("invalid reconfigure changes nothing", func(t *testing.T) {
		cfg := valid
		cfg.Addresses = []netip.Prefix{netip.MustParsePrefix("100.64.0.1/24")}
		b := newBackendIn(t, ns, cfg)
		before := mustState(t, b)
		bad := cfg
		bad.MTU = 10
		wantCode(t, "Configure", b.Configure(ctx, bad), hostapi.CodeInvalidArgument)
		if diff := cmp.Diff(before, mustState(t, b), netipComparers); diff != "" {
			t.Errorf("State changed (-before +after):\n%s", diff)
		}
	})
}

func testAdopt(t *testing.T) {
	ctx := context.Background()
	ns := newNetNS(t)
	cfg := hostapi.InterfaceConfig{Name: "wgadopt0", PrivateKey: newKeyPair(t).priv, ListenPort: 51821}
	first := newBackendIn(t, ns, cfg)
	peer := hostapi.PeerConfig{
		PublicKey:  newKeyPair(t).pub,
		Endpoint:   netip.MustParseAddrPort("192.0.2.7:51820"),
		AllowedIPs: []netip.Prefix{netip.MustParsePrefix("100.64.0.7/32")},
	}
	if err := first.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer}}); err != nil {
		t.Fatal(err)
	}

	// A second backend (a restarted plugin) takes the interface over with
	// its peers.
	second := newBackendIn(t, ns, cfg)
	if diff := cmp.Diff([]hostapi.PeerConfig{peer}, configuredPeers(mustState(t, second)), netipComparers); diff != "" {
		t.Errorf("adopted peers (-want +got):\n%s", diff)
	}
	// It knows them: giving the peer's allowed IP to a new peer without
	// taking it from the old one puts the same prefix on two peers.
	other := hostapi.PeerConfig{PublicKey: newKeyPair(t).pub, AllowedIPs: peer.AllowedIPs}
	wantCode(t, "the allowed IP of an adopted peer", second.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{other}}), hostapi.CodeInvalidArgument)

	t.Run("not WireGuard", func(t *testing.T) {
		h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
		if err != nil {
			t.Fatal(err)
		}
		defer h.Close()
		veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: "wgveth0"}, PeerName: "wgveth1"}
		if err := h.LinkAdd(veth); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = h.LinkDel(veth) })
		b := New(testLogger(t))
		inNetNS(t, ns, func() {
			err = b.Configure(ctx, hostapi.InterfaceConfig{Name: "wgveth0", PrivateKey: newKeyPair(t).priv})
		})
		wantCode(t, "Configure over a veth", err, hostapi.CodeConflict)
	})
}
