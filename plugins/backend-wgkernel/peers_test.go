package wgkernel

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
)

// testKey returns a distinct non-zero key for n.
func testKey(n byte) hostapi.Key {
	var k hostapi.Key
	k[0], k[31] = n, 1
	return k
}

func pfx(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

var cmpModel = cmp.Options{
	cmp.AllowUnexported(peerOp{}),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }),
}

// peersOf lists the peers of s with the given keys, in that order; an
// absent key is left out.
func peersOf(s *hostapi.PeerSet, keys ...hostapi.Key) []hostapi.PeerConfig {
	var out []hostapi.PeerConfig
	for _, k := range keys {
		if p, ok := s.Peer(k); ok {
			out = append(out, p)
		}
	}
	return out
}

func TestPlanPeers(t *testing.T) {
	self := testKey(100)
	ep := netip.MustParseAddrPort("192.0.2.1:51820")
	p1 := hostapi.PeerConfig{PublicKey: testKey(1), Endpoint: ep, AllowedIPs: pfx("100.64.0.1/32"), PersistentKeepalive: 25 * time.Second}
	p2 := hostapi.PeerConfig{PublicKey: testKey(2), AllowedIPs: pfx("100.64.0.2/32")}
	keys := []hostapi.Key{testKey(1), testKey(2), testKey(3)}
	tests := []struct {
		name     string
		change   hostapi.PeerChanges
		wantOps  []peerOp
		wantNext []hostapi.PeerConfig // peers 1, 2, 3 after the change
	}{
		{
			name:     "empty change",
			wantOps:  []peerOp{},
			wantNext: []hostapi.PeerConfig{p1, p2},
		},
		{
			name: "update keeps an unset endpoint, which is not re-sent",
			change: hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{
				{PublicKey: testKey(1), AllowedIPs: pfx("100.64.1.0/24", "100.64.0.1/32")},
			}},
			wantOps: []peerOp{{key: testKey(1), update: true, peer: hostapi.PeerConfig{PublicKey: testKey(1), Endpoint: ep, AllowedIPs: pfx("100.64.1.0/24", "100.64.0.1/32")}}},
			wantNext: []hostapi.PeerConfig{
				{PublicKey: testKey(1), Endpoint: ep, AllowedIPs: pfx("100.64.1.0/24", "100.64.0.1/32")},
				p2,
			},
		},
		{
			name: "an unchanged endpoint is not re-sent, a new one is",
			change: hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{
				{PublicKey: testKey(1), Endpoint: ep, AllowedIPs: pfx("100.64.0.1/32")},
				{PublicKey: testKey(2), Endpoint: ep, AllowedIPs: pfx("100.64.0.2/32")},
			}},
			wantOps: []peerOp{
				{key: testKey(1), update: true, peer: hostapi.PeerConfig{PublicKey: testKey(1), Endpoint: ep, AllowedIPs: pfx("100.64.0.1/32")}},
				{key: testKey(2), update: true, setEndpoint: true, peer: hostapi.PeerConfig{PublicKey: testKey(2), Endpoint: ep, AllowedIPs: pfx("100.64.0.2/32")}},
			},
			wantNext: []hostapi.PeerConfig{
				{PublicKey: testKey(1), Endpoint: ep, AllowedIPs: pfx("100.64.0.1/32")},
				{PublicKey: testKey(2), Endpoint: ep, AllowedIPs: pfx("100.64.0.2/32")},
			},
		},
		{
			name: "remove then re-add is an add; zero, repeated and absent removals are harmless",
			change: hostapi.PeerChanges{
				Remove: []hostapi.Key{testKey(2), {}, testKey(9), testKey(2)},
				Upsert: []hostapi.PeerConfig{{PublicKey: testKey(2), Endpoint: netip.MustParseAddrPort("192.0.2.2:1"), AllowedIPs: pfx("100.64.0.2/32")}},
			},
			wantOps: []peerOp{
				{key: testKey(2), remove: true},
				{key: testKey(9), remove: true},
				{key: testKey(2), setEndpoint: true, peer: hostapi.PeerConfig{PublicKey: testKey(2), Endpoint: netip.MustParseAddrPort("192.0.2.2:1"), AllowedIPs: pfx("100.64.0.2/32")}},
			},
			wantNext: []hostapi.PeerConfig{p1, {PublicKey: testKey(2), Endpoint: netip.MustParseAddrPort("192.0.2.2:1"), AllowedIPs: pfx("100.64.0.2/32")}},
		},
		{
			name: "an allowed IP moves between peers in one change",
			change: hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{
				{PublicKey: testKey(3), AllowedIPs: pfx("100.64.0.2/32")},
				{PublicKey: testKey(2), AllowedIPs: pfx("100.64.0.22/32")},
			}},
			wantOps: []peerOp{
				{key: testKey(3), peer: hostapi.PeerConfig{PublicKey: testKey(3), AllowedIPs: pfx("100.64.0.2/32")}},
				{key: testKey(2), update: true, peer: hostapi.PeerConfig{PublicKey: testKey(2), AllowedIPs: pfx("100.64.0.22/32")}},
			},
			wantNext: []hostapi.PeerConfig{p1, {PublicKey: testKey(2), AllowedIPs: pfx("100.64.0.22/32")}, {PublicKey: testKey(3), AllowedIPs: pfx("100.64.0.2/32")}},
		},
		{
			name: "overlapping allowed IPs are legal: an exit beside a router and a member",
			change: hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{
				{PublicKey: testKey(3), AllowedIPs: pfx("0.0.0.0/0", "100.64.0.0/10")},
			}},
			wantOps:  []peerOp{{key: testKey(3), peer: hostapi.PeerConfig{PublicKey: testKey(3), AllowedIPs: pfx("0.0.0.0/0", "100.64.0.0/10")}}},
			wantNext: []hostapi.PeerConfig{p1, p2, {PublicKey: testKey(3), AllowedIPs: pfx("0.0.0.0/0", "100.64.0.0/10")}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			current := hostapi.NewPeerSet(p1, p2)
			plan, ops, err := planPeers(current, self, tt.change)
			if err != nil {
				t.Fatalf("planPeers: %v", err)
			}
			if diff := cmp.Diff(tt.wantOps, ops, cmpModel); diff != "" {
				t.Errorf("ops (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]hostapi.PeerConfig{p1, p2}, peersOf(current, keys...), cmpModel); diff != "" {
				t.Errorf("planPeers modified the current set (-want +got):\n%s", diff)
			}
			current.Commit(plan)
			if diff := cmp.Diff(tt.wantNext, peersOf(current, keys...), cmpModel); diff != "" {
				t.Errorf("peers after Commit (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanPeersInvalid(t *testing.T) {
	self := testKey(100)
	existing := hostapi.PeerConfig{PublicKey: testKey(1), AllowedIPs: pfx("100.64.0.0/24")}
	peer := func(f func(*hostapi.PeerConfig)) hostapi.PeerConfig {
		p := hostapi.PeerConfig{PublicKey: testKey(2), AllowedIPs: pfx("10.0.0.0/24")}
		f(&p)
		return p
	}
	tests := []struct {
		name   string
		change hostapi.PeerChanges
	}{
		{"zero key", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer(func(p *hostapi.PeerConfig) { p.PublicKey = hostapi.Key{} })}}},
		{"own key", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer(func(p *hostapi.PeerConfig) { p.PublicKey = self })}}},
		{"key twice", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer(func(*hostapi.PeerConfig) {}), peer(func(*hostapi.PeerConfig) {})}}},
		{"no allowed IPs", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer(func(p *hostapi.PeerConfig) { p.AllowedIPs = nil })}}},
		{"zero prefix", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer(func(p *hostapi.PeerConfig) { p.AllowedIPs = []netip.Prefix{{}} })}}},
		{"host bits are refused, not masked", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer(func(p *hostapi.PeerConfig) { p.AllowedIPs = pfx("10.0.0.7/24") })}}},
		{"4in6 prefix", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer(func(p *hostapi.PeerConfig) { p.AllowedIPs = pfx("::ffff:10.0.0.0/120") })}}},
		{"the same allowed IP as an existing peer", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer(func(p *hostapi.PeerConfig) { p.AllowedIPs = pfx("100.64.0.0/24") })}}},
		{"the same allowed IP on two new peers", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{
			peer(func(*hostapi.PeerConfig) {}),
			peer(func(p *hostapi.PeerConfig) { p.PublicKey = testKey(3) }),
		}}},
		{"endpoint port 0", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer(func(p *hostapi.PeerConfig) { p.Endpoint = netip.MustParseAddrPort("192.0.2.1:0") })}}},
		{"endpoint unspecified", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer(func(p *hostapi.PeerConfig) { p.Endpoint = netip.MustParseAddrPort("[::]:1") })}}},
		{"endpoint multicast", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer(func(p *hostapi.PeerConfig) { p.Endpoint = netip.MustParseAddrPort("224.0.0.1:1") })}}},
		{"keepalive negative", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer(func(p *hostapi.PeerConfig) { p.PersistentKeepalive = -time.Second })}}},
		{"keepalive fractional", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer(func(p *hostapi.PeerConfig) { p.PersistentKeepalive = time.Millisecond })}}},
		{"keepalive too long", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer(func(p *hostapi.PeerConfig) { p.PersistentKeepalive = 65536 * time.Second })}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			current := hostapi.NewPeerSet(existing)
			_, ops, err := planPeers(current, self, tt.change)
			if got := hostapi.CodeOf(err); got != hostapi.CodeInvalidArgument {
				t.Errorf("planPeers: got %v (code %v), want code %v", err, got, hostapi.CodeInvalidArgument)
			}
			if ops != nil {
				t.Errorf("planPeers returned operations with its error: %+v", ops)
			}
			if diff := cmp.Diff([]hostapi.PeerConfig{existing}, peersOf(current, testKey(1), testKey(2), testKey(3)), cmpModel); diff != "" {
				t.Errorf("planPeers modified the current set (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRestoreOps(t *testing.T) {
	p1 := hostapi.PeerConfig{PublicKey: testKey(1), Endpoint: netip.MustParseAddrPort("192.0.2.1:1"), AllowedIPs: pfx("10.0.0.1/32")}
	p2 := hostapi.PeerConfig{PublicKey: testKey(2), AllowedIPs: pfx("10.0.0.2/32")}
	before := hostapi.NewPeerSet(p1, p2)
	got := restoreOps(before, []hostapi.Key{testKey(1), testKey(3), testKey(2)})
	want := []peerOp{
		{key: testKey(3), remove: true},
		{key: testKey(1), setEndpoint: true, peer: p1},
		{key: testKey(2), peer: p2},
	}
	if diff := cmp.Diff(want, got, cmpModel); diff != "" {
		t.Errorf("restoreOps (-want +got):\n%s", diff)
	}
	keys := touchedKeys([]peerOp{{key: testKey(2), remove: true}, {key: testKey(2)}, {key: testKey(1)}})
	if diff := cmp.Diff([]hostapi.Key{testKey(2), testKey(1)}, keys); diff != "" {
		t.Errorf("touchedKeys (-want +got):\n%s", diff)
	}
}

func TestUnmapped(t *testing.T) {
	tests := []struct{ in, want string }{
		{"[::ffff:192.0.2.2]:1", "192.0.2.2:1"},
		{"192.0.2.2:1", "192.0.2.2:1"},
		{"[2001:db8::1]:51820", "[2001:db8::1]:51820"},
	}
	for _, tt := range tests {
		if got := unmapped(netip.MustParseAddrPort(tt.in)); got != netip.MustParseAddrPort(tt.want) {
			t.Errorf("unmapped(%s): got %v, want %s", tt.in, got, tt.want)
		}
	}
}
