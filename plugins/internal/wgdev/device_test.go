package wgdev

import (
	"errors"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rustynet/rustynet/hostapi"
	"go.uber.org/goleak"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/tun/tuntest"
)

func TestHandshakeAndCounters(t *testing.T) {
	a, b := newNode(t, "10.9.0.1"), newNode(t, "10.9.0.2")
	connect(t, a, b)
	ping(t, a, b)
	ping(t, b, a)

	pa, ok := peerState(t, a, b.pub)
	if !ok {
		t.Fatal("a has no peer b")
	}
	if pa.LastHandshake.IsZero() {
		t.Error("a's peer b: got zero last handshake after traffic, want a time")
	}
	if pa.TxBytes == 0 || pa.RxBytes == 0 {
		t.Errorf("a's peer b: got tx %d rx %d, want both > 0", pa.TxBytes, pa.RxBytes)
	}
	pb, ok := peerState(t, b, a.pub)
	if !ok {
		t.Fatal("b has no peer a")
	}
	want := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), a.port)
	if pb.Endpoint != want {
		t.Errorf("b's peer a: got endpoint %v, want the learned %v", pb.Endpoint, want)
	}
	if diff := cmp.Diff([]netip.Prefix{netip.MustParsePrefix("10.9.0.1/32")}, pb.AllowedIPs, cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })); diff != "" {
		t.Errorf("b's peer a allowed IPs (-want +got):\n%s", diff)
	}
}

func TestStateReportsInterface(t *testing.T) {
	priv, pub := newKey(t)
	n := newNode(t, "10.9.0.1")
	addrs := []netip.Prefix{netip.MustParsePrefix("10.9.0.1/32")}
	if err := n.dev.Configure(hostapi.InterfaceConfig{PrivateKey: priv, Addresses: addrs}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	st, err := n.dev.State()
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	if st.PublicKey != pub {
		t.Errorf("got public key %v, want %v", st.PublicKey, pub)
	}
	if st.ListenPort != n.port {
		t.Errorf("got listen port %d after a Configure with port 0, want the kept %d", st.ListenPort, n.port)
	}
	if !cmp.Equal(st.Addresses, addrs, cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })) {
		t.Errorf("got addresses %v, want %v", st.Addresses, addrs)
	}
}

func TestUpdateKeepsSession(t *testing.T) {
	a, b := newNode(t, "10.9.0.1"), newNode(t, "10.9.0.2")
	connect(t, a, b)
	ping(t, a, b)
	before, _ := peerState(t, a, b.pub)

	_, other := newKey(t)
	cPeer := hostapi.PeerConfig{PublicKey: other, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.9.0.3/32")}}
	tests := []struct {
		name string
		c    hostapi.PeerChanges
	}{
		{"unchanged peer while adding another", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{b.peerOf(true), cPeer}}},
		{"allowed IPs and keepalive change, endpoint omitted", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{
			PublicKey:           b.pub,
			AllowedIPs:          []netip.Prefix{netip.MustParsePrefix("10.9.0.2/32"), netip.MustParsePrefix("10.9.1.0/24")},
			PersistentKeepalive: 25 * time.Second,
		}}}},
		{"removing another peer", hostapi.PeerChanges{Remove: []hostapi.Key{other}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := a.dev.ApplyPeers(tt.c); err != nil {
				t.Fatalf("ApplyPeers: %v", err)
			}
			ping(t, a, b)
			got, ok := peerState(t, a, b.pub)
			if !ok {
				t.Fatal("peer b is gone")
			}
			if !got.LastHandshake.Equal(before.LastHandshake) {
				t.Errorf("got last handshake %v, want the unchanged %v (session kept)", got.LastHandshake, before.LastHandshake)
			}
			if got.Endpoint != b.peerOf(true).Endpoint {
				t.Errorf("got endpoint %v, want %v", got.Endpoint, b.peerOf(true).Endpoint)
			}
		})
	}
	got, _ := peerState(t, a, b.pub)
	if got.PersistentKeepalive != 25*time.Second {
		t.Errorf("got keepalive %v, want 25s", got.PersistentKeepalive)
	}
}

func TestAllowedIPMovesBetweenPeers(t *testing.T) {
	n := newNode(t, "10.9.0.1")
	_, k1 := newKey(t)
	_, k2 := newKey(t)
	moving := netip.MustParsePrefix("10.9.5.0/24")
	p1 := hostapi.PeerConfig{PublicKey: k1, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.9.0.2/32"), moving}}
	p2 := hostapi.PeerConfig{PublicKey: k2, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("10.9.0.3/32")}}
	if err := n.dev.ApplyPeers(hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p1, p2}}); err != nil {
		t.Fatalf("ApplyPeers: %v", err)
	}
	// p2 takes the /24 before p1 gives it up, in one change.
	p2.AllowedIPs = append(p2.AllowedIPs, moving)
	p1.AllowedIPs = p1.AllowedIPs[:1]
	if err := n.dev.ApplyPeers(hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p2, p1}}); err != nil {
		t.Fatalf("ApplyPeers moving %v: %v", moving, err)
	}
	got1, _ := peerState(t, n, k1)
	got2, _ := peerState(t, n, k2)
	eq := cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })
	if diff := cmp.Diff(p1.AllowedIPs, got1.AllowedIPs, eq); diff != "" {
		t.Errorf("peer 1 allowed IPs (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]netip.Prefix{netip.MustParsePrefix("10.9.0.3/32"), moving}, got2.AllowedIPs, eq); diff != "" {
		t.Errorf("peer 2 allowed IPs (-want +got):\n%s", diff)
	}
	// Owners follows the move: an address in the /24 now goes to peer 2.
	addrs := []netip.Addr{netip.MustParseAddr("10.9.5.7"), netip.MustParseAddr("10.9.0.2"), netip.MustParseAddr("10.9.6.1")}
	owners, err := n.dev.Owners(addrs)
	if err != nil {
		t.Fatalf("Owners: %v", err)
	}
	if want := []hostapi.Key{k2, k1, {}}; !slices.Equal(owners, want) {
		t.Errorf("Owners(%v) = %v, want %v", addrs, owners, want)
	}
}

func TestRemovePeersDropsTraffic(t *testing.T) {
	a, b := newNode(t, "10.9.0.1"), newNode(t, "10.9.0.2")
	connect(t, a, b)
	ping(t, a, b)
	var zero hostapi.Key
	_, absent := newKey(t)
	if err := b.dev.RemovePeers([]hostapi.Key{a.pub, zero, absent}); err != nil {
		t.Fatalf("RemovePeers: %v", err)
	}
	if _, ok := peerState(t, b, a.pub); ok {
		t.Error("b still lists a after RemovePeers")
	}
	// a still holds a session to b, but b has dropped its keys.
	if err := tryPing(a, b, 500*time.Millisecond); !errors.Is(err, errNoArrival) {
		t.Errorf("ping a→b after b removed a: got %v, want %v", err, errNoArrival)
	}
}

func TestApplyPeersRemoveDropsTraffic(t *testing.T) {
	a, b := newNode(t, "10.9.0.1"), newNode(t, "10.9.0.2")
	connect(t, a, b)
	ping(t, a, b)
	if err := b.dev.ApplyPeers(hostapi.PeerChanges{Remove: []hostapi.Key{a.pub}}); err != nil {
		t.Fatalf("ApplyPeers: %v", err)
	}
	if err := tryPing(a, b, 500*time.Millisecond); !errors.Is(err, errNoArrival) {
		t.Errorf("ping a→b after b removed a: got %v, want %v", err, errNoArrival)
	}
	// Adding a back gives a fresh session; traffic flows again.
	if err := b.dev.ApplyPeers(hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{a.peerOf(true)}}); err != nil {
		t.Fatalf("ApplyPeers: %v", err)
	}
	ping(t, b, a)
}

func TestClosedDevice(t *testing.T) {
	n := newNode(t, "10.9.0.1")
	priv, _ := newKey(t)
	fresh := New(tuntest.NewChannelTUN().TUN(), conn.NewDefaultBind(), nil)
	t.Cleanup(func() { fresh.Close() })
	if err := n.dev.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := n.dev.Close(); err != nil {
		t.Errorf("second Close: got %v, want nil", err)
	}
	calls := []struct {
		name string
		d    *Device
		call func(d *Device) error
	}{
		{"ApplyPeers before Configure", fresh, func(d *Device) error { return d.ApplyPeers(hostapi.PeerChanges{}) }},
		{"RemovePeers before Configure", fresh, func(d *Device) error { return d.RemovePeers(nil) }},
		{"State before Configure", fresh, func(d *Device) error { _, err := d.State(); return err }},
		{"Configure after Close", n.dev, func(d *Device) error { return d.Configure(hostapi.InterfaceConfig{PrivateKey: priv}) }},
		{"ApplyPeers after Close", n.dev, func(d *Device) error { return d.ApplyPeers(hostapi.PeerChanges{}) }},
		{"RemovePeers after Close", n.dev, func(d *Device) error { return d.RemovePeers(nil) }},
		{"State after Close", n.dev, func(d *Device) error { _, err := d.State(); return err }},
		{"SetFirewallMark before Configure", fresh, func(d *Device) error { return d.SetFirewallMark(1) }},
		{"SetFirewallMark after Close", n.dev, func(d *Device) error { return d.SetFirewallMark(1) }},
	}
	for _, c := range calls {
		if err := c.call(c.d); !errors.Is(err, hostapi.ErrClosed) {
			t.Errorf("%s: got %v, want %v", c.name, err, hostapi.ErrClosed)
		}
	}
}

func TestCloseLeavesNoGoroutines(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Run("traffic", func(t *testing.T) {
		// Cleanup closes both devices when the subtest ends.
		a, b := newNode(t, "10.9.0.1"), newNode(t, "10.9.0.2")
		connect(t, a, b)
		ping(t, a, b)
	})
	goleak.VerifyNone(t, ignore)
}

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
