package hostapi_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
)

func pfx(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func TestPeerSetPlan(t *testing.T) {
	k1, k2, k3, self := hostapi.Key{1}, hostapi.Key{2}, hostapi.Key{3}, hostapi.Key{9}
	ep := netip.MustParseAddrPort("192.0.2.1:51820")
	base := []hostapi.PeerConfig{
		{PublicKey: k1, Endpoint: ep, AllowedIPs: pfx("100.64.0.1/32", "10.1.0.0/16")},
		{PublicKey: k2, AllowedIPs: pfx("100.64.0.2/32")},
	}
	lim := hostapi.PeerLimits{Self: self, MaxPeers: 3}
	tests := []struct {
		name    string
		c       hostapi.PeerChanges
		wantErr bool
		want    hostapi.PeerPlan
	}{
		{"update keeps the endpoint", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k1, AllowedIPs: pfx("100.64.0.1/32")}}}, false,
			hostapi.PeerPlan{Upsert: []hostapi.PeerUpsert{{Peer: hostapi.PeerConfig{PublicKey: k1, Endpoint: ep, AllowedIPs: pfx("100.64.0.1/32")}, Old: &base[0]}}}},
		{"remove and re-add is a new peer", hostapi.PeerChanges{Remove: []hostapi.Key{k1}, Upsert: []hostapi.PeerConfig{{PublicKey: k1, AllowedIPs: pfx("100.64.0.1/32")}}}, false,
			hostapi.PeerPlan{Remove: []hostapi.Key{k1}, Upsert: []hostapi.PeerUpsert{{Peer: hostapi.PeerConfig{PublicKey: k1, AllowedIPs: pfx("100.64.0.1/32")}}}}},
		{"zero, repeated and absent removals", hostapi.PeerChanges{Remove: []hostapi.Key{{}, k3, k3}}, false,
			hostapi.PeerPlan{Remove: []hostapi.Key{k3}}},
		{"overlapping prefixes: an exit beside host routes", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: pfx("100.64.0.3/32", "0.0.0.0/0", "::/0", "10.1.2.0/24")}}}, false,
			hostapi.PeerPlan{Upsert: []hostapi.PeerUpsert{{Peer: hostapi.PeerConfig{PublicKey: k3, AllowedIPs: pfx("100.64.0.3/32", "0.0.0.0/0", "::/0", "10.1.2.0/24")}}}}},
		{"move an allowed IP between peers in one change", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{
			{PublicKey: k2, AllowedIPs: pfx("100.64.0.2/32", "10.1.0.0/16")}, {PublicKey: k1, Endpoint: ep, AllowedIPs: pfx("100.64.0.1/32")}}}, false,
			hostapi.PeerPlan{Upsert: []hostapi.PeerUpsert{
				{Peer: hostapi.PeerConfig{PublicKey: k2, AllowedIPs: pfx("100.64.0.2/32", "10.1.0.0/16")}, Old: &base[1]},
				{Peer: hostapi.PeerConfig{PublicKey: k1, Endpoint: ep, AllowedIPs: pfx("100.64.0.1/32")}, Old: &base[0]}}}},
		{"an IP freed by a removal", hostapi.PeerChanges{Remove: []hostapi.Key{k2}, Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: pfx("100.64.0.2/32")}}}, false,
			hostapi.PeerPlan{Remove: []hostapi.Key{k2}, Upsert: []hostapi.PeerUpsert{{Peer: hostapi.PeerConfig{PublicKey: k3, AllowedIPs: pfx("100.64.0.2/32")}}}}},
		{"allowed IP of an untouched peer", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: pfx("10.1.0.0/16")}}}, true, hostapi.PeerPlan{}},
		{"same allowed IP on two upserts", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: pfx("fd00::/64")}, {PublicKey: hostapi.Key{4}, AllowedIPs: pfx("fd00::/64")}}}, true, hostapi.PeerPlan{}},
		{"own key", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: self, AllowedIPs: pfx("10.9.0.0/16")}}}, true, hostapi.PeerPlan{}},
		{"zero key", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{AllowedIPs: pfx("10.9.0.0/16")}}}, true, hostapi.PeerPlan{}},
		{"key twice", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: pfx("10.9.0.0/16")}, {PublicKey: k3, AllowedIPs: pfx("10.8.0.0/16")}}}, true, hostapi.PeerPlan{}},
		{"no allowed IPs", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3}}}, true, hostapi.PeerPlan{}},
		{"host bits", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: pfx("10.9.1.0/16")}}}, true, hostapi.PeerPlan{}},
		{"IPv4-mapped", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: pfx("::ffff:10.9.0.0/112")}}}, true, hostapi.PeerPlan{}},
		{"allowed IP listed twice", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: pfx("10.9.0.0/16", "10.9.0.0/16")}}}, true, hostapi.PeerPlan{}},
		{"endpoint port 0", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: pfx("10.9.0.0/16"), Endpoint: netip.MustParseAddrPort("192.0.2.9:0")}}}, true, hostapi.PeerPlan{}},
		{"multicast endpoint", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: pfx("10.9.0.0/16"), Endpoint: netip.MustParseAddrPort("224.0.0.1:51820")}}}, true, hostapi.PeerPlan{}},
		{"keepalive not whole seconds", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: pfx("10.9.0.0/16"), PersistentKeepalive: 1500 * time.Millisecond}}}, true, hostapi.PeerPlan{}},
		{"keepalive too long", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: pfx("10.9.0.0/16"), PersistentKeepalive: hostapi.MaxPersistentKeepalive + time.Second}}}, true, hostapi.PeerPlan{}},
		{"more peers than the limit", hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k3, AllowedIPs: pfx("10.9.0.0/16")}, {PublicKey: hostapi.Key{4}, AllowedIPs: pfx("10.8.0.0/16")}}}, true, hostapi.PeerPlan{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := hostapi.NewPeerSet(base...)
			got, err := s.Plan(tt.c, lim)
			if tt.wantErr {
				if !errors.Is(err, hostapi.ErrInvalidArgument) {
					t.Fatalf("Plan = %+v, %v; want INVALID_ARGUMENT", got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpNetip); diff != "" {
				t.Errorf("plan (-want +got):\n%s", diff)
			}
			if s.Len() != len(base) {
				t.Errorf("Plan changed the set: %d peers, want %d", s.Len(), len(base))
			}
		})
	}
}

func TestPeerSetCommit(t *testing.T) {
	k1, k2 := hostapi.Key{1}, hostapi.Key{2}
	s := hostapi.NewPeerSet(hostapi.PeerConfig{PublicKey: k1, AllowedIPs: pfx("10.1.0.0/16")})
	// Move 10.1.0.0/16 to k2 and commit: k1 may no longer take it back
	// without giving it up, and k2's removal frees it.
	p, err := s.Plan(hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{
		{PublicKey: k1, AllowedIPs: pfx("100.64.0.1/32")}, {PublicKey: k2, AllowedIPs: pfx("10.1.0.0/16")}}}, hostapi.PeerLimits{})
	if err != nil {
		t.Fatal(err)
	}
	s.Commit(p)
	if _, err := s.Plan(hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k1, AllowedIPs: pfx("10.1.0.0/16")}}}, hostapi.PeerLimits{}); !errors.Is(err, hostapi.ErrInvalidArgument) {
		t.Errorf("taking k2's allowed IP after the commit: %v, want INVALID_ARGUMENT", err)
	}
	s.Commit(hostapi.PeerPlan{Remove: []hostapi.Key{k2}})
	if _, err := s.Plan(hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k1, AllowedIPs: pfx("10.1.0.0/16")}}}, hostapi.PeerLimits{}); err != nil {
		t.Errorf("taking the allowed IP of a removed peer: %v", err)
	}
	if got, ok := s.Peer(k1); !ok || !cmp.Equal(got.AllowedIPs, pfx("100.64.0.1/32"), cmpNetip) || s.Len() != 1 {
		t.Errorf("after the commits: k1 = %+v, %v; %d peers", got, ok, s.Len())
	}
}
