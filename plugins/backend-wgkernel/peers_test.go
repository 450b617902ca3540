package wgkernel

import (
	"maps"
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
	cmp.AllowUnexported(peerModel{}, peerOp{}),
	cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
	cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }),
}

func TestPlanPeers(t *testing.T) {
	self := testKey(100)
	ep := netip.MustParseAddrPort("192.0.2.1:51820")
	current := peerSet{
		testKey(1): {endpoint: ep, allowedIPs: pfx("100.64.0.1/32"), keepalive: 25 * time.Second},
		testKey(2): {allowedIPs: pfx("100.64.0.2/32")},
	}
	tests := []struct {
		name     string
		change   hostapi.PeerChanges
		wantOps  []peerOp
		wantNext peerSet
	}{
		{
			name:     "empty change",
			wantNext: current,
		},
		{
			name: "update keeps an unset endpoint, masks and sorts allowed IPs",
			change: hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{
				{PublicKey: testKey(1), AllowedIPs: pfx("100.64.1.9/24", "100.64.0.1/32", "100.64.0.1/32")},
			}},
			wantOps: []peerOp{{key: testKey(1), update: true, peer: peerModel{allowedIPs: pfx("100.64.0.1/32", "100.64.1.0/24")}}},
			wantNext: peerSet{
				testKey(1): {endpoint: ep, allowedIPs: pfx("100.64.0.1/32", "100.64.1.0/24")},
				testKey(2): current[testKey(2)],
			},
		},
		{
			name: "remove then re-add is an add, absent removals vanish",
			change: hostapi.PeerChanges{
				Remove: []hostapi.Key{testKey(2), testKey(9), testKey(2)},
				Upsert: []hostapi.PeerConfig{{PublicKey: testKey(2), Endpoint: netip.MustParseAddrPort("[::ffff:192.0.2.2]:1"), AllowedIPs: pfx("100.64.0.2/32")}},
			},
			wantOps: []peerOp{
				{key: testKey(2), remove: true},
				{key: testKey(2), setEndpoint: true, peer: peerModel{endpoint: netip.MustParseAddrPort("192.0.2.2:1"), allowedIPs: pfx("100.64.0.2/32")}},
			},
			wantNext: peerSet{
				testKey(1): current[testKey(1)],
				testKey(2): {endpoint: netip.MustParseAddrPort("192.0.2.2:1"), allowedIPs: pfx("100.64.0.2/32")},
			},
		},
		{
			name: "an allowed IP moves between peers in one change",
			change: hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{
				{PublicKey: testKey(3), AllowedIPs: pfx("100.64.0.2/32")},
				{PublicKey: testKey(2)},
			}},
			wantOps: []peerOp{
				{key: testKey(3), peer: peerModel{allowedIPs: pfx("100.64.0.2/32")}},
				{key: testKey(2), update: true},
			},
			wantNext: peerSet{
				testKey(1): current[testKey(1)],
				testKey(2): {},
				testKey(3): {allowedIPs: pfx("100.64.0.2/32")},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ops, err := planPeers(current, self, tt.change)
			if err != nil {
				t.Fatalf("planPeers: %v", err)
			}
			next := maps.Clone(current)
			next.commit(ops)
			if diff := cmp.Diff(tt.wantOps, ops, cmpModel); diff != "" {
				t.Errorf("ops (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantNext, next, cmpModel); diff != "" {
				t.Errorf("next (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPlanPeersInvalid(t *testing.T) {
	self := testKey(100)
	current := peerSet{testKey(1): {allowedIPs: pfx("100.64.0.0/24")}}
	snapshot := peerSet{testKey(1): {allowedIPs: pfx("100.64.0.0/24")}}
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
		{"zero key in remove", hostapi.PeerChanges{Remove: []hostapi.Key{{}}}},
		{"own key", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer(func(p *hostapi.PeerConfig) { p.PublicKey = self })}}},
		{"duplicate", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer(func(*hostapi.PeerConfig) {}), peer(func(*hostapi.PeerConfig) {})}}},
		{"zero prefix", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer(func(p *hostapi.PeerConfig) { p.AllowedIPs = []netip.Prefix{{}} })}}},
		{"4in6 prefix", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer(func(p *hostapi.PeerConfig) { p.AllowedIPs = pfx("::ffff:10.0.0.0/120") })}}},
		{"contained in an existing peer's", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer(func(p *hostapi.PeerConfig) { p.AllowedIPs = pfx("100.64.0.7/32") })}}},
		{"containing an existing peer's", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer(func(p *hostapi.PeerConfig) { p.AllowedIPs = pfx("100.0.0.0/8") })}}},
		{"equal between new peers", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{
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
			_, err := planPeers(current, self, tt.change)
			if got := hostapi.CodeOf(err); got != hostapi.CodeInvalidArgument {
				t.Errorf("planPeers: got %v (code %v), want code %v", err, got, hostapi.CodeInvalidArgument)
			}
			if diff := cmp.Diff(snapshot, current, cmpModel); diff != "" {
				t.Errorf("planPeers modified the current set (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCheckOverlap(t *testing.T) {
	// Peer 1 is on the device; peer 2 comes in the change.
	tests := []struct {
		name     string
		existing []netip.Prefix
		incoming []netip.Prefix
		wantErr  bool
	}{
		{"disjoint", pfx("10.0.0.0/24"), pfx("10.0.1.0/24", "fd00::/64"), false},
		{"IPv4 and IPv6 never overlap", pfx("0.0.0.0/0"), pfx("::/0"), false},
		{"nested between peers", pfx("10.0.0.0/8"), pfx("10.200.3.4/32"), true},
		{"containing", pfx("10.200.3.4/32"), pfx("10.0.0.0/8"), true},
		{"nested below a same-owner chain", pfx("10.0.0.0/8", "10.1.0.0/16"), pfx("10.1.2.0/24"), true},
		{"after a sibling", pfx("10.0.0.0/16", "10.0.0.0/24"), pfx("10.0.1.0/24"), true},
		{"equal", pfx("fd00::/64"), pfx("fd00::/64"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			current := peerSet{testKey(1): {allowedIPs: tt.existing}}
			up := []peerOp{{key: testKey(2), peer: peerModel{allowedIPs: tt.incoming}}}
			err := checkOverlap(current, map[hostapi.Key]bool{testKey(2): true}, up)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Errorf("checkOverlap: got %v, want error %v", err, tt.wantErr)
			}

			// The same sets through the sorting sweep.
			var all []ownedPrefix
			for _, p := range tt.existing {
				all = append(all, ownedPrefix{p, testKey(1)})
			}
			for _, p := range tt.incoming {
				all = append(all, ownedPrefix{p, testKey(2)})
			}
			err = sweepOverlap(all)
			if gotErr := err != nil; gotErr != tt.wantErr {
				t.Errorf("sweepOverlap: got %v, want error %v", err, tt.wantErr)
			}

			// Replacing peer 1 in the same change drops its old prefixes.
			replaced := map[hostapi.Key]bool{testKey(1): true, testKey(2): true}
			if err := checkOverlap(current, replaced, up); err != nil {
				t.Errorf("checkOverlap with peer 1 replaced: %v", err)
			}
		})
	}
}

// TestCheckOverlapLargeChange goes through the sorting path: more new
// prefixes than linearOverlapLimit.
func TestCheckOverlapLargeChange(t *testing.T) {
	current := peerSet{testKey(1): {allowedIPs: pfx("10.0.5.0/24")}}
	var up []peerOp
	for i := range linearOverlapLimit + 1 {
		p := netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 1, byte(i), 0}), 24)
		up = append(up, peerOp{key: testKey(byte(10 + i)), peer: peerModel{allowedIPs: []netip.Prefix{p}}})
	}
	replaced := make(map[hostapi.Key]bool)
	for _, op := range up {
		replaced[op.key] = true
	}
	if err := checkOverlap(current, replaced, up); err != nil {
		t.Fatalf("disjoint large change: %v", err)
	}
	up[3].peer.allowedIPs = pfx("10.0.0.0/16")
	if err := checkOverlap(current, replaced, up); err == nil {
		t.Error("large change overlapping an existing peer: got nil error")
	}
}

func TestRestoreOps(t *testing.T) {
	before := peerSet{
		testKey(1): {endpoint: netip.MustParseAddrPort("192.0.2.1:1"), allowedIPs: pfx("10.0.0.1/32")},
		testKey(2): {allowedIPs: pfx("10.0.0.2/32")},
	}
	got := restoreOps(before, []hostapi.Key{testKey(1), testKey(3), testKey(2)})
	want := []peerOp{
		{key: testKey(3), remove: true},
		{key: testKey(1), setEndpoint: true, peer: before[testKey(1)]},
		{key: testKey(2), peer: before[testKey(2)]},
	}
	if diff := cmp.Diff(want, got, cmpModel); diff != "" {
		t.Errorf("restoreOps (-want +got):\n%s", diff)
	}
	keys := touchedKeys([]peerOp{{key: testKey(2), remove: true}, {key: testKey(2)}, {key: testKey(1)}})
	if diff := cmp.Diff([]hostapi.Key{testKey(2), testKey(1)}, keys); diff != "" {
		t.Errorf("touchedKeys (-want +got):\n%s", diff)
	}
}
