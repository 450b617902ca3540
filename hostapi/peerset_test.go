package hostapi_test

import (
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
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

// TestPeerSetOwner checks the longest match across the set's changes: a
// narrower prefix wins over a wider one of another peer, an address goes
// back to the wider prefix once the narrower one's peer is removed or
// gives it up, IPv4-mapped addresses match as IPv4, and an address no
// prefix covers has no owner.
func TestPeerSetOwner(t *testing.T) {
	k1, k2, k3 := hostapi.Key{1}, hostapi.Key{2}, hostapi.Key{3}
	s := hostapi.NewPeerSet(
		hostapi.PeerConfig{PublicKey: k1, AllowedIPs: pfx("10.0.0.0/8", "fd00::/8")},
		hostapi.PeerConfig{PublicKey: k2, AllowedIPs: pfx("10.1.0.0/16", "fd00::1/128")},
		hostapi.PeerConfig{PublicKey: k3, AllowedIPs: pfx("0.0.0.0/0")},
	)
	type want struct {
		addr string
		key  hostapi.Key
		ok   bool
	}
	check := func(step string, wants ...want) {
		t.Helper()
		for _, w := range wants {
			k, ok := s.Owner(netip.MustParseAddr(w.addr))
			if k != w.key || ok != w.ok {
				t.Errorf("%s: Owner(%s) = %v, %v; want %v, %v", step, w.addr, k, ok, w.key, w.ok)
			}
		}
	}
	check("start",
		want{"10.1.2.3", k2, true}, want{"10.2.0.1", k1, true}, want{"::ffff:10.1.0.9", k2, true},
		want{"192.0.2.1", k3, true}, want{"fd00::1", k2, true}, want{"fd00::2", k1, true}, want{"2001:db8::1", hostapi.Key{}, false})

	p, err := s.Plan(hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: k2, AllowedIPs: pfx("fd00::1/128")}}}, hostapi.PeerLimits{})
	if err != nil {
		t.Fatal(err)
	}
	s.Commit(p)
	check("k2 gave up 10.1.0.0/16", want{"10.1.2.3", k1, true}, want{"fd00::1", k2, true})

	s.Commit(hostapi.PeerPlan{Remove: []hostapi.Key{k2, k3}})
	check("k2 and k3 removed", want{"fd00::1", k1, true}, want{"192.0.2.1", hostapi.Key{}, false}, want{"10.1.2.3", k1, true})

	s.Commit(hostapi.PeerPlan{Remove: []hostapi.Key{k1}})
	check("empty", want{"10.1.2.3", hostapi.Key{}, false}, want{"fd00::2", hostapi.Key{}, false})
}

// TestPeerSetAgainstAModel drives a set through random plans — upserts
// that move allowed IPs between peers, removals, both in one change — and
// after each commit compares it with a plain list of the same peers:
// Len, Peer, All, and Owner of addresses in and around every allowed IP
// (the longest match over every peer). The set keeps its peers in a list
// whose last peer fills a removed one's place, so removals from the
// middle are where it could go wrong.
func TestPeerSetAgainstAModel(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	space := pfx("10.0.0.0/30", "10.0.0.4/30", "10.0.0.0/29", "10.0.0.1/32", "10.0.0.6/32", "10.0.0.0/24",
		"fd00::/126", "fd00::1/128", "fd00::/64", "0.0.0.0/0")
	s := hostapi.NewPeerSet()
	model := map[hostapi.Key]hostapi.PeerConfig{}
	for round := range 3000 {
		var c hostapi.PeerChanges
		for range r.IntN(3) {
			c.Remove = append(c.Remove, hostapi.Key{byte(1 + r.IntN(12))})
		}
		for range r.IntN(3) {
			cfg := hostapi.PeerConfig{PublicKey: hostapi.Key{byte(1 + r.IntN(12))}}
			for _, i := range r.Perm(len(space))[:1+r.IntN(2)] {
				cfg.AllowedIPs = append(cfg.AllowedIPs, space[i])
			}
			c.Upsert = append(c.Upsert, cfg)
		}
		p, err := s.Plan(c, hostapi.PeerLimits{})
		if err != nil {
			continue // a change the rules refuse (an allowed IP twice): nothing changes
		}
		s.Commit(p)
		for _, k := range p.Remove {
			delete(model, k)
		}
		for _, u := range p.Upsert {
			model[u.Peer.PublicKey] = u.Peer
		}

		if s.Len() != len(model) {
			t.Fatalf("round %d: Len %d, want %d", round, s.Len(), len(model))
		}
		seen := 0
		for got := range s.All() {
			seen++
			if want, ok := model[got.PublicKey]; !ok || got.Endpoint != want.Endpoint || !slices.Equal(got.AllowedIPs, want.AllowedIPs) {
				t.Fatalf("round %d: All yields %+v, want %+v (in the model: %v)", round, got, want, ok)
			}
		}
		if seen != len(model) {
			t.Fatalf("round %d: All yields %d peers, want %d", round, seen, len(model))
		}
		for k := range 13 {
			key := hostapi.Key{byte(k)}
			got, ok := s.Peer(key)
			want, wantOK := model[key]
			if ok != wantOK || ok && got.PublicKey != want.PublicKey {
				t.Fatalf("round %d: Peer(%v) = %v, %v; want %v", round, key, got.PublicKey, ok, wantOK)
			}
		}
		for _, sp := range space {
			for _, a := range []netip.Addr{sp.Addr(), sp.Addr().Next(), sp.Addr().Prev()} {
				if !a.IsValid() {
					continue
				}
				var wantKey hostapi.Key
				best := -1
				for _, m := range model {
					for _, ip := range m.AllowedIPs {
						if ip.Contains(a) && ip.Bits() > best {
							best, wantKey = ip.Bits(), m.PublicKey
						}
					}
				}
				if k, ok := s.Owner(a); ok != (best >= 0) || k != wantKey {
					t.Fatalf("round %d: Owner(%s) = %v, %v; want %v, %v", round, a, k, ok, wantKey, best >= 0)
				}
			}
		}
	}
}
