package daemon

import (
	"encoding/base64"
	"net/netip"
	"slices"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

// peersAndRoutes converts the backend's peers and routes for a status,
// naming each peer's node and each route's kind under state (nil before
// genesis: no node known, every route a subnet or exit route). A route
// leads to the peer whose allowed IPs hold it; it is a mesh route if that
// peer's node has it as an address, the exit route if it is a default
// route, else a subnet route.
//
// A status of 10,000 peers carries some 40,000 short texts (keys,
// endpoints, prefixes): they are substrings of one string (texts), and
// the peers' allowed IPs share one slice, so converting it costs a few
// allocations rather than one per text.
func peersAndRoutes(cur hostapi.InterfaceState, state *membership.State) ([]controlapi.PeerStatus, []controlapi.RouteStatus) {
	var nodes map[hostapi.Key]*membership.Node
	if state != nil {
		nodes = make(map[hostapi.Key]*membership.Node, state.NodeCount())
		for n := range state.SharedNodes() {
			nodes[hostapi.Key(n.PublicKey)] = n
		}
	}
	var via map[netip.Prefix]*membership.Node // the node each route leads to; nil if none
	if len(cur.Routes) > 0 {
		via = make(map[netip.Prefix]*membership.Node, len(cur.Routes))
		for _, r := range cur.Routes {
			via[r] = nil
		}
	}

	ips := 0
	for _, p := range cur.Peers {
		ips += len(p.AllowedIPs)
	}
	// Sized for IPv4: a key is 44 bytes, an endpoint up to 21, a prefix up
	// to 18; IPv6 grows it once or twice.
	t := texts{b: make([]byte, 0, len(cur.Peers)*(44+21)+(ips+len(cur.Routes))*18), ends: make([]int, 0, 2*len(cur.Peers)+ips+len(cur.Routes))}
	for _, p := range cur.Peers {
		t.add(base64.StdEncoding.AppendEncode(t.b, p.PublicKey[:]))
		if p.Endpoint.IsValid() {
			t.add(p.Endpoint.AppendTo(t.b))
		}
		for _, a := range p.AllowedIPs {
			t.add(a.AppendTo(t.b))
			if _, ok := via[a]; ok {
				via[a] = nodes[p.PublicKey]
			}
		}
	}
	for _, r := range cur.Routes {
		t.add(r.AppendTo(t.b))
	}

	next := t.reader()
	allIPs := make([]string, ips)
	peers := make([]controlapi.PeerStatus, len(cur.Peers))
	for i, p := range cur.Peers {
		ps := controlapi.PeerStatus{PublicKey: next(), LastHandshake: p.LastHandshake, RxBytes: p.RxBytes, TxBytes: p.TxBytes}
		if n := nodes[p.PublicKey]; n != nil {
			ps.NodeID = n.ID
		}
		if p.Endpoint.IsValid() {
			ps.Endpoint = next()
		}
		ps.AllowedIPs = allIPs[:len(p.AllowedIPs):len(p.AllowedIPs)]
		for j := range ps.AllowedIPs {
			ps.AllowedIPs[j] = next()
		}
		allIPs = allIPs[len(p.AllowedIPs):]
		peers[i] = ps
	}
	routes := make([]controlapi.RouteStatus, len(cur.Routes))
	for i, r := range cur.Routes {
		rs := controlapi.RouteStatus{Prefix: next(), Kind: controlapi.RouteSubnet}
		if n := via[r]; n != nil {
			rs.Via = n.ID
			if slices.Contains(n.Addresses, r) {
				rs.Kind = controlapi.RouteMesh
			}
		}
		if rs.Kind != controlapi.RouteMesh && hostapi.IsDefaultRoute(r) {
			rs.Kind = controlapi.RouteExit
		}
		routes[i] = rs
	}
	return peers, routes
}

// texts builds many short strings as substrings of one: add each text's
// bytes appended to b, then read them back in the same order. The strings
// keep the whole of the one alive while any of them is referenced, which
// suits a status: converted, sent, dropped.
type texts struct {
	b    []byte
	ends []int // where each text ends in b
}

// add records b, which is t.b with one more text appended.
func (t *texts) add(b []byte) {
	t.b = b
	t.ends = append(t.ends, len(b))
}

// reader returns a function that yields the texts in the order added.
func (t *texts) reader() func() string {
	s, i, start := string(t.b), 0, 0
	return func() string {
		end := t.ends[i]
		text := s[start:end]
		i, start = i+1, end
		return text
	}
}
