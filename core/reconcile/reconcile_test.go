package reconcile

import (
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/hostapi"
)

func key(id string) hostapi.Key { return hostapi.Key(membershiptest.NodeKey(id)) }

// network returns a network of nodes n00000..n00003 with n00002 revoked and
// an endpoint hint on n00001.
func network(t *testing.T) *membershiptest.Network {
	t.Helper()
	net := membershiptest.New(t, 4)
	u := net.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00002"})
	net.MustApply(t, net.Sign(t, u, "alice", "bob"))
	n1, _ := net.Chain.State().Node("n00001")
	u = net.Propose(t, membership.Operation{Type: membership.OpUpdateNode, NodeID: "n00001",
		Addresses: n1.Addresses, Endpoints: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:51821")}, Tags: []string{}, Routes: []netip.Prefix{}})
	net.MustApply(t, net.Sign(t, u, "alice", "bob"))
	return net
}

func TestDesired(t *testing.T) {
	net := network(t)
	s := net.Chain.State()
	self := membershiptest.NodeID(0)
	tests := []struct {
		name         string
		state        *membership.State
		opts         Options
		wantPeers    []string
		wantIsolated bool
	}{
		{"active peers only, not self, not revoked", s, Options{Self: self, SelfKey: membershiptest.NodeKey(self)}, []string{"n00001", "n00003"}, false},
		{"revoked self has no peers", s, Options{Self: "n00002", SelfKey: membershiptest.NodeKey("n00002")}, nil, true},
		{"unknown self has no peers", s, Options{Self: "ghost", SelfKey: membershiptest.NodeKey("ghost")}, nil, true},
		{"rotated-away key has no peers", s, Options{Self: self, SelfKey: membershiptest.NodeKey("other")}, nil, true},
		{"no trusted state has no peers", nil, Options{Self: self}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := Desired(tt.state, tt.opts)
			if (plan.Isolated != "") != tt.wantIsolated {
				t.Fatalf("Isolated = %q, want isolated=%v", plan.Isolated, tt.wantIsolated)
			}
			var got []string
			for _, p := range plan.Peers {
				for _, id := range []string{"n00000", "n00001", "n00002", "n00003"} {
					if p.PublicKey == key(id) {
						got = append(got, id)
					}
				}
			}
			want := tt.wantPeers
			if diff := cmp.Diff(sortedIDs(want), sortedIDs(got)); diff != "" {
				t.Errorf("peers (-want +got):\n%s", diff)
			}
		})
	}
	plan := Desired(s, Options{Self: self, SelfKey: membershiptest.NodeKey(self), PersistentKeepalive: 25 * time.Second})
	for _, p := range plan.Peers {
		if p.PublicKey == key("n00001") && p.Endpoint != netip.MustParseAddrPort("127.0.0.1:51821") {
			t.Errorf("n00001 endpoint = %v, want its hint", p.Endpoint)
		}
		if p.PersistentKeepalive != 25*time.Second {
			t.Errorf("keepalive = %v, want 25s", p.PersistentKeepalive)
		}
	}
}

func sortedIDs(ids []string) map[string]bool {
	m := map[string]bool{}
	for _, id := range ids {
		m[id] = true
	}
	return m
}

func TestDiff(t *testing.T) {
	a := netip.MustParsePrefix("100.64.0.1/32")
	b := netip.MustParsePrefix("100.64.0.2/32")
	ep1 := netip.MustParseAddrPort("127.0.0.1:1001")
	ep2 := netip.MustParseAddrPort("127.0.0.1:1002")
	roamed := netip.MustParseAddrPort("127.0.0.9:4444")
	cfg := func(id string, ep netip.AddrPort, ips ...netip.Prefix) hostapi.PeerConfig {
		return hostapi.PeerConfig{PublicKey: key(id), Endpoint: ep, AllowedIPs: ips}
	}
	st := func(id string, ep netip.AddrPort, ips ...netip.Prefix) hostapi.PeerState {
		return hostapi.PeerState{PublicKey: key(id), Endpoint: ep, AllowedIPs: ips}
	}
	tests := []struct {
		name       string
		desired    []hostapi.PeerConfig
		current    []hostapi.PeerState
		applied    map[hostapi.Key]hostapi.PeerConfig
		wantRemove []hostapi.Key
		wantUpsert []hostapi.PeerConfig
	}{
		{
			name:    "unchanged peer is left alone",
			desired: []hostapi.PeerConfig{cfg("x", ep1, a)},
			current: []hostapi.PeerState{st("x", ep1, a)},
			applied: map[hostapi.Key]hostapi.PeerConfig{key("x"): cfg("x", ep1, a)},
		},
		{
			name:    "roamed endpoint is not overridden",
			desired: []hostapi.PeerConfig{cfg("x", ep1, a)},
			current: []hostapi.PeerState{st("x", roamed, a)},
			applied: map[hostapi.Key]hostapi.PeerConfig{key("x"): cfg("x", ep1, a)},
		},
		{
			name:       "new endpoint hint is applied",
			desired:    []hostapi.PeerConfig{cfg("x", ep2, a)},
			current:    []hostapi.PeerState{st("x", ep1, a)},
			applied:    map[hostapi.Key]hostapi.PeerConfig{key("x"): cfg("x", ep1, a)},
			wantUpsert: []hostapi.PeerConfig{cfg("x", ep2, a)},
		},
		{
			name:       "changed allowed IPs are applied",
			desired:    []hostapi.PeerConfig{cfg("x", ep1, a, b)},
			current:    []hostapi.PeerState{st("x", ep1, a)},
			applied:    map[hostapi.Key]hostapi.PeerConfig{key("x"): cfg("x", ep1, a)},
			wantUpsert: []hostapi.PeerConfig{cfg("x", ep1, a, b)},
		},
		{
			// A start, or a relaunched backend whose setup pushed the peers:
			// what the backend reports is all there is to go by.
			name:    "peer never applied by us, already as desired, is left alone",
			desired: []hostapi.PeerConfig{cfg("x", ep1, a)},
			current: []hostapi.PeerState{st("x", ep1, a)},
		},
		{
			name:    "peer never applied by us, without an endpoint hint, is left alone",
			desired: []hostapi.PeerConfig{cfg("x", netip.AddrPort{}, a)},
			current: []hostapi.PeerState{st("x", ep2, a)},
		},
		{
			name:       "peer never applied by us gets its endpoint hint",
			desired:    []hostapi.PeerConfig{cfg("x", ep1, a)},
			current:    []hostapi.PeerState{st("x", ep2, a)},
			wantUpsert: []hostapi.PeerConfig{cfg("x", ep1, a)},
		},
		{
			name:       "new peer added, stale peer removed",
			desired:    []hostapi.PeerConfig{cfg("x", ep1, a)},
			current:    []hostapi.PeerState{st("y", ep2, b)},
			wantRemove: []hostapi.Key{key("y")},
			wantUpsert: []hostapi.PeerConfig{cfg("x", ep1, a)},
		},
		{
			name:       "everything removed when isolated",
			current:    []hostapi.PeerState{st("x", ep1, a), st("y", ep2, b)},
			wantRemove: sortedKeys(key("x"), key("y")),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Diff(tt.desired, tt.current, tt.applied)
			want := hostapi.PeerChanges{Remove: tt.wantRemove, Upsert: tt.wantUpsert}
			if diff := cmp.Diff(want, got, cmp.Comparer(func(x, y netip.Prefix) bool { return x == y }),
				cmp.Comparer(func(x, y netip.AddrPort) bool { return x == y })); diff != "" {
				t.Errorf("Diff (-want +got):\n%s", diff)
			}
		})
	}
}

func sortedKeys(ks ...hostapi.Key) []hostapi.Key {
	if compareKeys(ks[0], ks[1]) > 0 {
		ks[0], ks[1] = ks[1], ks[0]
	}
	return ks
}
