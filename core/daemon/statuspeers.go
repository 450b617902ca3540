package daemon

import (
	"encoding/base64"
	"encoding/binary"
	"net/netip"
	"slices"
	"sync"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

// peersAndRoutes converts the backend's peers and routes for a status,
// naming each peer's node (nodes: the nodes of the state the status is
// read under, by key, from nodesByKey; nil before genesis: no node known)
// and each route's kind: a route leads to the peer whose allowed IPs hold
// it; it is a mesh route if that peer's node has it as an address, the
// exit route if it is a default route, else a subnet route.
//
// A status of 10,000 peers carries some 40,000 short texts (keys,
// endpoints, prefixes): they are substrings of one string (texts), and
// the peers' allowed IPs share one slice, so converting it costs a few
// allocations rather than one per text.
func peersAndRoutes(cur hostapi.InterfaceState, nodes map[hostapi.Key]*membership.Node) ([]controlapi.PeerStatus, []controlapi.RouteStatus) {
	via := newRouteNodes(cur.Routes) // the node each route leads to; nil if none

	ips := 0
	for _, p := range cur.Peers {
		ips += len(p.AllowedIPs)
	}
	// Sized for IPv4: a key is 44 bytes, an endpoint up to 21, a prefix up
	// to 18; IPv6 grows it once or twice.
	t := texts{b: make([]byte, 0, len(cur.Peers)*(44+21)+(ips+len(cur.Routes))*18), ends: make([]int, 0, 2*len(cur.Peers)+ips+len(cur.Routes))}
	owners := make([]*membership.Node, len(cur.Peers)) // each peer's node, if known
	for i, p := range cur.Peers {
		t.add(base64.StdEncoding.AppendEncode(t.b, p.PublicKey[:]))
		if p.Endpoint.IsValid() {
			t.add(p.Endpoint.AppendTo(t.b))
		}
		owners[i] = nodes[p.PublicKey]
		for _, a := range p.AllowedIPs {
			t.add(a.AppendTo(t.b))
			if via.has(a) {
				via.set(a, owners[i])
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
		if n := owners[i]; n != nil {
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
		if n := via.get(r); n != nil {
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

// statusPeers converts the backend's peers and routes for the statuses
// (peersAndRoutes), reusing the last conversion where it can: between
// membership and data-plane changes a status's keys, allowed IPs and
// routes are the last one's, and only the endpoints, handshakes and
// counters change. At 10,000 peers converting them afresh was a third of
// the daemon's work on a status. It keeps the last conversion (and the
// backend state it was of) until the next: a status's worth of memory.
type statusPeers struct {
	mu     sync.Mutex // taken under no other lock, and none is taken under it
	valid  bool       // state, nodes, last, peers and routes are set
	state  *membership.State
	nodes  map[hostapi.Key]*membership.Node // state's nodes by key (keyIndexOf)
	last   hostapi.InterfaceState           // the backend state converted last
	peers  []controlapi.PeerStatus          // its conversion; shared with the statuses carrying it, never modified
	routes []controlapi.RouteStatus
}

// convert returns peersAndRoutes(cur, the nodes of state by key); state
// is that the status is read under (nil before genesis). The results
// may be shared with other statuses and must not be modified.
func (c *statusPeers) convert(cur hostapi.InterfaceState, state *membership.State) ([]controlapi.PeerStatus, []controlapi.RouteStatus) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case !c.valid || c.state != state:
		c.state, c.nodes = state, keyIndexOf(state)
		c.peers, c.routes = peersAndRoutes(cur, c.nodes)
	case !sameShape(c.last, cur):
		c.peers, c.routes = peersAndRoutes(cur, c.nodes)
	default:
		c.peers = refreshPeers(c.peers, c.last.Peers, cur.Peers)
	}
	c.valid, c.last = true, cur
	return c.peers, c.routes
}

// sameShape reports whether a and b have the same peers (by key, in the
// same order) with the same allowed IPs, and the same routes: all that
// peersAndRoutes makes of them but endpoints, handshakes and counters.
func sameShape(a, b hostapi.InterfaceState) bool {
	if len(a.Peers) != len(b.Peers) || !slices.Equal(a.Routes, b.Routes) {
		return false
	}
	for i := range a.Peers {
		if a.Peers[i].PublicKey != b.Peers[i].PublicKey || !slices.Equal(a.Peers[i].AllowedIPs, b.Peers[i].AllowedIPs) {
			return false
		}
	}
	return true
}

// refreshPeers returns a copy of peers, the conversion of was, with the
// endpoints, handshakes and counters of now, which has was's shape.
func refreshPeers(peers []controlapi.PeerStatus, was, now []hostapi.PeerState) []controlapi.PeerStatus {
	out := make([]controlapi.PeerStatus, len(now))
	for i, p := range now {
		ps := peers[i]
		ps.LastHandshake, ps.RxBytes, ps.TxBytes = p.LastHandshake, p.RxBytes, p.TxBytes
		if p.Endpoint != was[i].Endpoint {
			ps.Endpoint = ""
			if p.Endpoint.IsValid() {
				ps.Endpoint = p.Endpoint.String()
			}
		}
		out[i] = ps
	}
	return out
}

// keyIndexOf returns the nodes of state by public key; nil for nil.
func keyIndexOf(state *membership.State) map[hostapi.Key]*membership.Node {
	if state == nil {
		return nil
	}
	m := make(map[hostapi.Key]*membership.Node, state.NodeCount())
	for n := range state.SharedNodes() {
		m[hostapi.Key(n.PublicKey)] = n
	}
	return m
}

// routeNodes holds a node (or nil) for each of a set of routes: the node
// the route leads to. IPv4 routes, nearly all of a large mesh's (its
// members' addresses), are keyed by one word, which hashes several times
// faster than a netip.Prefix.
type routeNodes struct {
	v4    map[uint64]*membership.Node // address << 8 | length
	other map[netip.Prefix]*membership.Node
}

// newRouteNodes returns routes, each with no node yet.
func newRouteNodes(routes []netip.Prefix) routeNodes {
	r := routeNodes{v4: make(map[uint64]*membership.Node, len(routes))}
	for _, p := range routes {
		if k, ok := v4Key(p); ok {
			r.v4[k] = nil
		} else {
			if r.other == nil {
				r.other = map[netip.Prefix]*membership.Node{}
			}
			r.other[p] = nil
		}
	}
	return r
}

// has reports whether p is one of the routes.
func (r routeNodes) has(p netip.Prefix) bool {
	if k, ok := v4Key(p); ok {
		_, has := r.v4[k]
		return has
	}
	_, has := r.other[p]
	return has
}

// set records n as the node of route p, which must be one of the routes.
func (r routeNodes) set(p netip.Prefix, n *membership.Node) {
	if k, ok := v4Key(p); ok {
		r.v4[k] = n
		return
	}
	r.other[p] = n
}

// get returns the node of route p; nil if none, or p is not a route.
func (r routeNodes) get(p netip.Prefix) *membership.Node {
	if k, ok := v4Key(p); ok {
		return r.v4[k]
	}
	return r.other[p]
}

// v4Key returns an IPv4 prefix as one word: its address shifted left by
// 8, its length in the low byte.
func v4Key(p netip.Prefix) (uint64, bool) {
	if !p.Addr().Is4() {
		return 0, false
	}
	a := p.Addr().As4()
	return uint64(binary.BigEndian.Uint32(a[:]))<<8 | uint64(p.Bits()), true
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
