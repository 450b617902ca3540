package daemon

import (
	"bytes"
	"fmt"
	"net/netip"
	"slices"
	"testing"
	"time"
	"unsafe"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/hostapi"
)

func TestPeersAndRoutes(t *testing.T) {
	state := membershiptest.New(t, 3).Chain.State()
	n1, n2 := membershiptest.Node("n00001", 1), membershiptest.Node("n00002", 2)
	key := func(n membership.Node) hostapi.Key { return hostapi.Key(n.PublicKey) }
	k1, k2, stranger := key(n1), key(n2), hostapi.Key{7}
	p := netip.MustParsePrefix
	hs := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	cur := hostapi.InterfaceState{
		Peers: []hostapi.PeerState{
			{PublicKey: k1, Endpoint: netip.MustParseAddrPort("192.0.2.1:51820"), AllowedIPs: []netip.Prefix{n1.Addresses[0], p("10.1.0.0/16")}, LastHandshake: hs, RxBytes: 1, TxBytes: 2},
			{PublicKey: stranger, AllowedIPs: []netip.Prefix{p("192.0.2.7/32")}},
			{PublicKey: k2, AllowedIPs: []netip.Prefix{p("0.0.0.0/0"), p("::/0")}},
		},
		Routes: []netip.Prefix{n1.Addresses[0], p("10.1.0.0/16"), p("192.0.2.7/32"), p("0.0.0.0/0"), p("::/0"), p("198.51.100.0/24")},
	}
	peers := func(ids ...string) []controlapi.PeerStatus {
		return []controlapi.PeerStatus{
			{NodeID: ids[0], PublicKey: k1.String(), Endpoint: "192.0.2.1:51820", AllowedIPs: []string{n1.Addresses[0].String(), "10.1.0.0/16"}, LastHandshake: hs, RxBytes: 1, TxBytes: 2},
			{PublicKey: stranger.String(), AllowedIPs: []string{"192.0.2.7/32"}},
			{NodeID: ids[1], PublicKey: k2.String(), AllowedIPs: []string{"0.0.0.0/0", "::/0"}},
		}
	}
	for _, tc := range []struct {
		name   string
		state  *membership.State
		peers  []controlapi.PeerStatus
		routes []controlapi.RouteStatus
	}{
		{"under a state", state, peers("n00001", "n00002"), []controlapi.RouteStatus{
			{Prefix: n1.Addresses[0].String(), Via: "n00001", Kind: controlapi.RouteMesh},
			{Prefix: "10.1.0.0/16", Via: "n00001", Kind: controlapi.RouteSubnet},
			{Prefix: "192.0.2.7/32", Kind: controlapi.RouteSubnet}, // a peer of no node
			{Prefix: "0.0.0.0/0", Via: "n00002", Kind: controlapi.RouteExit},
			{Prefix: "::/0", Via: "n00002", Kind: controlapi.RouteExit},
			{Prefix: "198.51.100.0/24", Kind: controlapi.RouteSubnet}, // no peer has it
		}},
		{"before genesis", nil, peers("", ""), []controlapi.RouteStatus{
			{Prefix: n1.Addresses[0].String(), Kind: controlapi.RouteSubnet},
			{Prefix: "10.1.0.0/16", Kind: controlapi.RouteSubnet},
			{Prefix: "192.0.2.7/32", Kind: controlapi.RouteSubnet},
			{Prefix: "0.0.0.0/0", Kind: controlapi.RouteExit},
			{Prefix: "::/0", Kind: controlapi.RouteExit},
			{Prefix: "198.51.100.0/24", Kind: controlapi.RouteSubnet},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gotPeers, gotRoutes := peersAndRoutes(cur, keyIndexOf(tc.state))
			if diff := cmp.Diff(tc.peers, gotPeers); diff != "" {
				t.Errorf("peers (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.routes, gotRoutes); diff != "" {
				t.Errorf("routes (-want +got):\n%s", diff)
			}
		})
	}

	// Nothing yet: empty lists, never null in JSON.
	gotPeers, gotRoutes := peersAndRoutes(hostapi.InterfaceState{Peers: []hostapi.PeerState{{PublicKey: k1}}}, keyIndexOf(state))
	if gotRoutes == nil || gotPeers[0].AllowedIPs == nil {
		t.Errorf("routes %#v, allowed IPs %#v: want empty, not nil", gotRoutes, gotPeers[0].AllowedIPs)
	}
}

// TestStatusPeersReuse: statusPeers.convert gives what peersAndRoutes
// gives, through a sequence of backend states and membership states
// changing one thing at a time; it reuses the last conversion's texts
// when only endpoints, handshakes and counters changed, and never changes
// a result it returned.
func TestStatusPeersReuse(t *testing.T) {
	net := membershiptest.New(t, 4)
	state := net.Chain.State()
	var nodes []membership.Node
	for n := range state.SharedNodes() {
		nodes = append(nodes, *n)
	}
	p := netip.MustParsePrefix
	base := func() hostapi.InterfaceState {
		var cur hostapi.InterfaceState
		for i, n := range nodes[1:] {
			cur.Peers = append(cur.Peers, hostapi.PeerState{PublicKey: hostapi.Key(n.PublicKey), AllowedIPs: slices.Clone(n.Addresses), RxBytes: uint64(i)})
			cur.Routes = append(cur.Routes, n.Addresses...)
		}
		cur.Peers[0].Endpoint = netip.MustParseAddrPort("192.0.2.1:51820")
		return cur
	}
	type step struct {
		name   string
		change func(*hostapi.InterfaceState)
		state  *membership.State
		reuse  bool // the texts of the last conversion are reused
	}
	hs := time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)
	net.MustApply(t, net.Sign(t, net.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: nodes[2].ID}), "alice", "bob"))
	revoked := net.Chain.State() // the same peers, one of them revoked
	steps := []step{
		{"first", func(*hostapi.InterfaceState) {}, state, false},
		{"the same", func(*hostapi.InterfaceState) {}, state, true},
		{"counters and a handshake", func(c *hostapi.InterfaceState) {
			c.Peers[1].RxBytes, c.Peers[1].TxBytes, c.Peers[1].LastHandshake = 9, 8, hs
		}, state, true},
		{"an endpoint moved", func(c *hostapi.InterfaceState) { c.Peers[0].Endpoint = netip.MustParseAddrPort("[2001:db8::1]:1") }, state, true},
		{"an endpoint learnt", func(c *hostapi.InterfaceState) { c.Peers[2].Endpoint = netip.MustParseAddrPort("192.0.2.3:3") }, state, true},
		{"an endpoint lost", func(c *hostapi.InterfaceState) { c.Peers[0].Endpoint = netip.AddrPort{} }, state, true},
		{"an allowed IP more", func(c *hostapi.InterfaceState) {
			c.Peers[1].AllowedIPs = append(c.Peers[1].AllowedIPs, p("10.9.0.0/16"))
		}, state, false},
		{"the same again", func(*hostapi.InterfaceState) {}, state, true},
		{"a route more", func(c *hostapi.InterfaceState) { c.Routes = append(c.Routes, p("10.9.0.0/16")) }, state, false},
		{"a peer less", func(c *hostapi.InterfaceState) { c.Peers = c.Peers[1:] }, state, false},
		{"another key", func(c *hostapi.InterfaceState) { c.Peers[0].PublicKey = hostapi.Key{7} }, state, false},
		{"before genesis", func(*hostapi.InterfaceState) {}, nil, false},
		{"a new state", func(*hostapi.InterfaceState) {}, revoked, false},
	}
	var c statusPeers
	cur := base()
	var lastPeers []controlapi.PeerStatus
	type result struct {
		peers  []controlapi.PeerStatus
		routes []controlapi.RouteStatus
		copy   string
	}
	var results []result
	for _, s := range steps {
		next := cur
		next.Peers = slices.Clone(cur.Peers) // the backend's every read is new
		next.Routes = slices.Clone(cur.Routes)
		s.change(&next)
		cur = next
		peers, routes := c.convert(cur, s.state)
		wantPeers, wantRoutes := peersAndRoutes(cur, keyIndexOf(s.state))
		if d := cmp.Diff(wantPeers, peers); d != "" {
			t.Errorf("%s: peers (-want +got):\n%s", s.name, d)
		}
		if d := cmp.Diff(wantRoutes, routes); d != "" {
			t.Errorf("%s: routes (-want +got):\n%s", s.name, d)
		}
		if len(peers) > 0 && len(lastPeers) > 0 {
			if reused := unsafe.StringData(peers[0].PublicKey) == unsafe.StringData(lastPeers[0].PublicKey); reused != s.reuse {
				t.Errorf("%s: reused the last conversion %v, want %v", s.name, reused, s.reuse)
			}
		}
		lastPeers = peers
		results = append(results, result{peers, routes, fmt.Sprintf("%+v %+v", peers, routes)})
	}
	for i, r := range results {
		if now := fmt.Sprintf("%+v %+v", r.peers, r.routes); now != r.copy {
			t.Errorf("%s: the result changed after it was returned", steps[i].name)
		}
	}
}

// BenchmarkPeersAndRoutes converts the backend state of a node of a
// 10,000-member network for a status: 9,999 peers, each with its mesh
// address as allowed IP and route, sorted as a backend reports them.
// cached: the nodes by key already indexed (a status read under the state
// the last one was); after-an-update: indexed afresh; reused: by
// statusPeers, from the last status's conversion (the same peers, routes
// and state; only counters would differ).
func BenchmarkPeersAndRoutes(b *testing.B) {
	const members = 10000
	state := membershiptest.New(b, members).Chain.State()
	var cur hostapi.InterfaceState
	for n := range state.SharedNodes() {
		if n.ID == membershiptest.NodeID(0) {
			continue
		}
		cur.Peers = append(cur.Peers, hostapi.PeerState{PublicKey: hostapi.Key(n.PublicKey), Endpoint: netip.MustParseAddrPort("192.0.2.1:51820"),
			AllowedIPs: n.Addresses, LastHandshake: time.Now(), RxBytes: 1 << 20, TxBytes: 1 << 20})
		cur.Routes = append(cur.Routes, n.Addresses...)
	}
	slices.SortFunc(cur.Peers, func(a, b hostapi.PeerState) int { return bytes.Compare(a.PublicKey[:], b.PublicKey[:]) })
	slices.SortFunc(cur.Routes, netip.Prefix.Compare)
	check := func(b *testing.B, peers []controlapi.PeerStatus, routes []controlapi.RouteStatus) {
		if len(peers) != members-1 || routes[0].Kind != controlapi.RouteMesh || routes[0].Via == "" {
			b.Fatalf("%d peers, first route %+v", len(peers), routes[0])
		}
	}
	b.Run(fmt.Sprintf("peers=%d/cached", len(cur.Peers)), func(b *testing.B) {
		b.ReportAllocs()
		nodes := keyIndexOf(state)
		for b.Loop() {
			peers, routes := peersAndRoutes(cur, nodes)
			check(b, peers, routes)
		}
	})
	b.Run(fmt.Sprintf("peers=%d/reused", len(cur.Peers)), func(b *testing.B) {
		b.ReportAllocs()
		var c statusPeers
		c.convert(cur, state)
		for b.Loop() {
			b.StopTimer()
			next := cur
			next.Peers = slices.Clone(cur.Peers) // as a backend read: new, with the same keys, IPs and routes
			b.StartTimer()
			peers, routes := c.convert(next, state)
			check(b, peers, routes)
		}
	})
	b.Run(fmt.Sprintf("peers=%d/after-an-update", len(cur.Peers)), func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			peers, routes := peersAndRoutes(cur, keyIndexOf(state))
			check(b, peers, routes)
		}
	})
}
