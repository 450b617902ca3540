package wgdev

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rustynet/rustynet/hostapi"
	"golang.zx2c4.com/wireguard/conn"
)

func prefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

type validationCase struct {
	name    string
	c       hostapi.PeerChanges
	wantErr bool
}

// validationCases are changes to a set holding validationCurrent's peers
// k1 and k2; k3 and k4 are not in it.
func validationCases(k1, k2, k3, k4 hostapi.Key) []validationCase {
	ep := netip.MustParseAddrPort("192.0.2.1:51820")
	peer := func(k hostapi.Key, ips ...string) hostapi.PeerConfig {
		return hostapi.PeerConfig{PublicKey: k, Endpoint: ep, AllowedIPs: prefixes(ips...)}
	}
	with := func(p hostapi.PeerConfig, f func(*hostapi.PeerConfig)) hostapi.PeerConfig {
		f(&p)
		return p
	}
	up := func(ps ...hostapi.PeerConfig) hostapi.PeerChanges { return hostapi.PeerChanges{Upsert: ps} }

	return []validationCase{
		{"empty change", hostapi.PeerChanges{}, false},
		{"add disjoint peer", up(peer(k3, "10.0.0.3/32")), false},
		{"update keeps own prefixes", up(peer(k1, "10.0.0.1/32", "fd00::1/128", "10.0.9.0/24")), false},
		{"nested prefixes within one peer", up(peer(k3, "10.0.3.0/24", "10.0.3.1/32")), false},
		{"IPv4 and IPv6 default routes do not overlap", hostapi.PeerChanges{Remove: []hostapi.Key{k1, k2}, Upsert: []hostapi.PeerConfig{peer(k3, "0.0.0.0/0"), peer(k4, "::/0")}}, false},
		{"take the prefix of a removed peer", hostapi.PeerChanges{Remove: []hostapi.Key{k2}, Upsert: []hostapi.PeerConfig{peer(k3, "10.0.2.0/24")}}, false},
		{"move a prefix between two updated peers", up(peer(k2, "10.0.0.1/32"), peer(k1, "10.0.2.0/24")), false},
		{"remove absent, zero and repeated keys", hostapi.PeerChanges{Remove: []hostapi.Key{k3, {}, k1, k1}}, false},
		{"remove and re-add in one change", hostapi.PeerChanges{Remove: []hostapi.Key{k1}, Upsert: []hostapi.PeerConfig{peer(k1, "10.0.0.1/32")}}, false},
		{"zero endpoint", up(with(peer(k3, "10.0.0.3/32"), func(p *hostapi.PeerConfig) { p.Endpoint = netip.AddrPort{} })), false},
		{"contains an untouched peer's prefix: longest match", up(peer(k3, "10.0.0.0/16")), false},
		{"inside an untouched peer's prefix: longest match", up(peer(k3, "10.0.2.7/32")), false},
		{"default route beside every peer (an exit)", up(peer(k3, "0.0.0.0/0", "::/0")), false},
		{"nested prefixes on two upserts", up(peer(k3, "10.0.3.0/24"), peer(k4, "10.0.3.128/25")), false},
		{"keepalive at the limit", up(with(peer(k3, "10.0.0.3/32"), func(p *hostapi.PeerConfig) { p.PersistentKeepalive = 65535 * time.Second })), false},

		{"zero key", up(peer(hostapi.Key{}, "10.0.0.3/32")), true},
		{"valid removal beside an invalid upsert", hostapi.PeerChanges{Remove: []hostapi.Key{k2}, Upsert: []hostapi.PeerConfig{peer(k3, "10.0.0.1/32")}}, true},
		{"duplicate key", up(peer(k3, "10.0.0.3/32"), peer(k3, "10.0.0.4/32")), true},
		{"no allowed IPs", up(peer(k3)), true},
		{"invalid allowed IP", up(hostapi.PeerConfig{PublicKey: k3, AllowedIPs: []netip.Prefix{{}}}), true},
		{"host bits set", up(peer(k3, "10.0.3.1/24")), true},
		{"IPv4-mapped IPv6 prefix", up(peer(k3, "::ffff:10.0.0.3/128")), true},
		{"repeated allowed IP", up(peer(k3, "10.0.0.3/32", "10.0.0.3/32")), true},
		{"same prefix as an untouched peer", up(peer(k3, "10.0.0.1/32")), true},
		{"IPv6 prefix of an untouched peer", up(peer(k3, "fd00::1/128")), true},
		{"same prefix on two upserts", up(peer(k3, "10.0.3.0/24"), peer(k4, "10.0.3.0/24")), true},
		{"update onto another peer's prefix", up(peer(k1, "10.0.2.0/24")), true},
		{"IPv6 endpoint with zone", up(with(peer(k3, "10.0.0.3/32"), func(p *hostapi.PeerConfig) { p.Endpoint = netip.MustParseAddrPort("[fe80::1%eth0]:51820") })), true},
		{"endpoint port 0", up(with(peer(k3, "10.0.0.3/32"), func(p *hostapi.PeerConfig) { p.Endpoint = netip.MustParseAddrPort("192.0.2.1:0") })), true},
		{"unspecified IPv4 endpoint", up(with(peer(k3, "10.0.0.3/32"), func(p *hostapi.PeerConfig) { p.Endpoint = netip.MustParseAddrPort("0.0.0.0:51820") })), true},
		{"unspecified IPv6 endpoint", up(with(peer(k3, "10.0.0.3/32"), func(p *hostapi.PeerConfig) { p.Endpoint = netip.MustParseAddrPort("[::]:51820") })), true},
		{"multicast endpoint", up(with(peer(k3, "10.0.0.3/32"), func(p *hostapi.PeerConfig) { p.Endpoint = netip.MustParseAddrPort("224.0.0.1:51820") })), true},
		{"broadcast endpoint", up(with(peer(k3, "10.0.0.3/32"), func(p *hostapi.PeerConfig) { p.Endpoint = netip.MustParseAddrPort("255.255.255.255:51820") })), true},
		{"port without address", up(with(peer(k3, "10.0.0.3/32"), func(p *hostapi.PeerConfig) { p.Endpoint = netip.AddrPortFrom(netip.Addr{}, 51820) })), true},
		{"keepalive not whole seconds", up(with(peer(k3, "10.0.0.3/32"), func(p *hostapi.PeerConfig) { p.PersistentKeepalive = 1500 * time.Millisecond })), true},
		{"negative keepalive", up(with(peer(k3, "10.0.0.3/32"), func(p *hostapi.PeerConfig) { p.PersistentKeepalive = -time.Second })), true},
		{"keepalive above 65535 s", up(with(peer(k3, "10.0.0.3/32"), func(p *hostapi.PeerConfig) { p.PersistentKeepalive = 65536 * time.Second })), true},
	}
}

func validationCurrent(k1, k2 hostapi.Key) []hostapi.PeerConfig {
	return []hostapi.PeerConfig{
		{PublicKey: k1, AllowedIPs: prefixes("10.0.0.1/32", "fd00::1/128")},
		{PublicKey: k2, AllowedIPs: prefixes("10.0.2.0/24"), Endpoint: netip.MustParseAddrPort("127.0.0.1:9"), PersistentKeepalive: 5 * time.Second},
	}
}

// configState is the configuration part of a state: what a rejected change
// must leave alone.
func configState(tb testing.TB, d *Device) []hostapi.PeerConfig {
	tb.Helper()
	st, err := d.State()
	if err != nil {
		tb.Fatalf("State: %v", err)
	}
	var out []hostapi.PeerConfig
	for _, p := range st.Peers {
		out = append(out, hostapi.PeerConfig{PublicKey: p.PublicKey, Endpoint: p.Endpoint, AllowedIPs: p.AllowedIPs, PersistentKeepalive: p.PersistentKeepalive})
	}
	return out
}

var prefixEqual = cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })
var addrPortEqual = cmp.Comparer(func(x, y netip.AddrPort) bool { return x == y })

func TestApplyPeersRejectsAndChangesNothing(t *testing.T) {
	n := newNode(t, "10.0.0.9")
	_, k1 := newKey(t)
	_, k2 := newKey(t)
	_, k3 := newKey(t)
	_, k4 := newKey(t)
	if err := n.dev.ApplyPeers(hostapi.PeerChanges{Upsert: validationCurrent(k1, k2)}); err != nil {
		t.Fatalf("ApplyPeers: %v", err)
	}
	before := configState(t, n.dev)
	cases := append(validationCases(k1, k2, k3, k4), validationCase{
		name:    "own public key",
		c:       hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: n.pub, AllowedIPs: prefixes("10.0.0.3/32")}}},
		wantErr: true,
	})
	for _, tt := range cases {
		if !tt.wantErr {
			continue
		}
		t.Run(tt.name, func(t *testing.T) {
			if err := n.dev.ApplyPeers(tt.c); !errors.Is(err, hostapi.ErrInvalidArgument) {
				t.Fatalf("got %v, want %v", err, hostapi.ErrInvalidArgument)
			}
			if diff := cmp.Diff(before, configState(t, n.dev), prefixEqual, addrPortEqual); diff != "" {
				t.Errorf("state changed by a rejected change (-before +after):\n%s", diff)
			}
		})
	}
}

func TestConfigureRejectsPeerKey(t *testing.T) {
	n := newNode(t, "10.0.0.9")
	priv, pub := newKey(t)
	if err := n.dev.ApplyPeers(hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: pub, AllowedIPs: prefixes("10.0.0.3/32")}}}); err != nil {
		t.Fatalf("ApplyPeers: %v", err)
	}
	for _, tc := range []struct {
		name string
		cfg  hostapi.InterfaceConfig
	}{
		{"zero private key", hostapi.InterfaceConfig{}},
		{"a peer's key", hostapi.InterfaceConfig{PrivateKey: priv}},
	} {
		if err := n.dev.Configure(tc.cfg); !errors.Is(err, hostapi.ErrInvalidArgument) {
			t.Errorf("%s: got %v, want %v", tc.name, err, hostapi.ErrInvalidArgument)
		}
	}
	if _, ok := peerState(t, n, pub); !ok {
		t.Error("the peer is gone after a rejected Configure")
	}
}

// refusingBind is a bind whose ParseEndpoint refuses one endpoint, so that
// wireguard-go fails part-way through a change that passed validation.
type refusingBind struct {
	conn.Bind
	refuse netip.AddrPort
}

func (b refusingBind) ParseEndpoint(s string) (conn.Endpoint, error) {
	if s == b.refuse.String() {
		return nil, errors.New("refused for the test")
	}
	return b.Bind.ParseEndpoint(s)
}

func TestApplyPeersRollsBackPartialFailure(t *testing.T) {
	refused := netip.MustParseAddrPort("127.0.0.1:7")
	n := newNodeWithBind(t, "10.0.0.9", refusingBind{conn.NewDefaultBind(), refused})
	_, k1 := newKey(t)
	_, k2 := newKey(t)
	_, k3 := newKey(t)
	if err := n.dev.ApplyPeers(hostapi.PeerChanges{Upsert: validationCurrent(k1, k2)}); err != nil {
		t.Fatalf("ApplyPeers: %v", err)
	}
	before := configState(t, n.dev)
	c := hostapi.PeerChanges{
		Remove: []hostapi.Key{k1},
		Upsert: []hostapi.PeerConfig{
			{PublicKey: k2, AllowedIPs: prefixes("10.0.0.1/32")}, // takes k1's prefix, drops its own
			{PublicKey: k3, AllowedIPs: prefixes("10.0.2.0/24"), Endpoint: refused},
		},
	}
	if err := n.dev.ApplyPeers(c); !errors.Is(err, hostapi.ErrInternal) {
		t.Fatalf("got %v, want %v", err, hostapi.ErrInternal)
	}
	if diff := cmp.Diff(before, configState(t, n.dev), prefixEqual, addrPortEqual); diff != "" {
		t.Errorf("state after a failed change (-before +after):\n%s", diff)
	}
	// The Device's own record is consistent with the device: the same
	// change without the refused endpoint now succeeds.
	c.Upsert[1].Endpoint = netip.AddrPort{}
	if err := n.dev.ApplyPeers(c); err != nil {
		t.Fatalf("ApplyPeers after rollback: %v", err)
	}
}
