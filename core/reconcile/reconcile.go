// Package reconcile computes a node's data plane from trusted membership and
// local configuration: the desired peers, the routes into the interface and
// what the node forwards for its peers (Desired), the difference between
// that and what a backend reports (Diff, DiffRoutes), and the change one
// update makes (Changes). All are pure functions; the daemon calls them
// under its enforcement gate, so nothing here can add a peer, an allowed IP
// or a route that an active member's signed record does not carry.
//
// The rules, in one place:
//   - Peers are the active nodes other than this one; this node has no
//     peers at all unless it is itself an active member with its own key.
//   - A peer's allowed IPs are its mesh addresses; plus, with
//     Options.AcceptRoutes, the routes of its signed record if it is tagged
//     "router"; plus 0.0.0.0/0 and ::/0 if it is the exit node this node
//     chose (Options.ExitNode) and it is tagged "exit". A router's default
//     route is never taken: internet traffic goes to an exit only by local
//     choice. A route that is another node's mesh address stays that
//     node's; a route two routers serve goes to the one whose id sorts
//     first; a route this node serves itself is not routed into the tunnel.
//   - The routes into the interface are exactly the union of the peers'
//     allowed IPs.
//   - With Options.Serve, a node tagged "router" forwards to the routes of
//     its signed record, and a node tagged "exit" forwards to everything.
//     Local configuration can only opt out of that, never add to it.
package reconcile

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

// Options are local settings that shape the data plane.
type Options struct {
	// Self is this node's id in the membership.
	Self string
	// SelfKey is the public key of this node's private key. If the state
	// holds another key for Self (it was rotated and this node does not yet
	// have the new key), the node has no peers.
	SelfKey membership.NodeKey
	// PersistentKeepalive for every peer; 0 = off.
	PersistentKeepalive time.Duration
	// AcceptRoutes routes the prefixes subnet routers serve to them.
	AcceptRoutes bool
	// ExitNode is the id of the exit node this node sends its internet
	// traffic through; "" for none.
	ExitNode string
	// Serve lets this node forward for its peers what its signed record
	// allows (routes with the "router" tag, everything with "exit").
	Serve bool
	// Masquerade is the gateway's hostapi.GatewayConfig.Masquerade.
	Masquerade bool
}

// Plan is the desired data plane.
type Plan struct {
	// Peers is every peer this node must have, sorted by public key.
	Peers []hostapi.PeerConfig
	// Routes are the prefixes routed into the interface: the peers'
	// allowed IPs, sorted.
	Routes []netip.Prefix
	// Gateway is what this node forwards for its peers; nil for nothing.
	Gateway *hostapi.GatewayConfig
	// Isolated is non-empty when the node must have no peers at all, and
	// says why (revoked, removed, key rotated away).
	Isolated string
}

// defaultRoutes are an exit node's allowed IPs beyond its addresses.
var defaultRoutes = []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}

// Desired returns the data plane of opts.Self in s (see the package doc
// for the rules). A nil state (no trusted membership yet) gives no peers.
func Desired(s *membership.State, opts Options) Plan {
	if why := isolation(s, opts); why != "" {
		return Plan{Isolated: why}
	}
	claims := routeClaims(s, opts)
	peers := make([]hostapi.PeerConfig, 0, s.NodeCount())
	for n := range s.Nodes() {
		if p, ok := peerOf(n, opts, claims); ok {
			peers = append(peers, p)
		}
	}
	slices.SortFunc(peers, func(a, b hostapi.PeerConfig) int { return compareKeys(a.PublicKey, b.PublicKey) })
	self, _ := s.Node(opts.Self)
	return Plan{Peers: peers, Routes: routesOf(peers), Gateway: gatewayOf(s, self, opts)}
}

// isolation says why opts.Self may have no peers in s, or "" if it may.
func isolation(s *membership.State, opts Options) string {
	if s == nil {
		return "no trusted membership"
	}
	self, ok := s.Node(opts.Self)
	switch {
	case !ok:
		return fmt.Sprintf("node %s is not a member of network %s", opts.Self, s.NetworkID())
	case self.Status != membership.StatusActive:
		return fmt.Sprintf("node %s is %s", opts.Self, self.Status)
	case self.PublicKey != opts.SelfKey:
		return fmt.Sprintf("node %s's key in the membership is %s, not this node's key %s", opts.Self, self.PublicKey, opts.SelfKey)
	}
	return ""
}

// peerOf is the one constructor of a peer: n's entry in the plan, if n is
// a peer. claims maps each router route to the router that gets it (see
// routeClaims); it is consulted only for nodes tagged "router".
func peerOf(n membership.Node, opts Options, claims map[netip.Prefix]string) (hostapi.PeerConfig, bool) {
	if n.ID == opts.Self || n.Status != membership.StatusActive {
		return hostapi.PeerConfig{}, false
	}
	p := hostapi.PeerConfig{
		PublicKey:           hostapi.Key(n.PublicKey),
		AllowedIPs:          slices.Clone(n.Addresses),
		PersistentKeepalive: opts.PersistentKeepalive,
	}
	if len(n.Endpoints) > 0 {
		p.Endpoint = n.Endpoints[0]
	}
	if opts.AcceptRoutes && n.HasTag(membership.TagRouter) {
		for _, r := range n.Routes {
			if claims[r] == n.ID {
				p.AllowedIPs = append(p.AllowedIPs, r)
			}
		}
	}
	if n.ID == opts.ExitNode && n.HasTag(membership.TagExit) {
		p.AllowedIPs = append(p.AllowedIPs, defaultRoutes...)
	}
	return p, true
}

// routeClaims decides which router gets each route (see the package doc):
// the first active router by id, unless the route is a mesh address of an
// active node, a default route, or a route this node serves itself. It is
// empty unless opts.AcceptRoutes.
func routeClaims(s *membership.State, opts Options) map[netip.Prefix]string {
	claims := map[netip.Prefix]string{}
	if !opts.AcceptRoutes {
		return claims
	}
	taken := map[netip.Prefix]bool{}
	for n := range s.Nodes() {
		if n.Status == membership.StatusActive {
			for _, a := range n.Addresses {
				taken[a] = true
			}
		}
	}
	if self, ok := s.Node(opts.Self); ok {
		if g := gatewayOf(s, self, opts); g != nil {
			for _, p := range g.Prefixes {
				taken[p] = true
			}
		}
	}
	for n := range s.Nodes() {
		if n.ID == opts.Self || n.Status != membership.StatusActive || !n.HasTag(membership.TagRouter) {
			continue
		}
		for _, r := range n.Routes {
			if _, claimed := claims[r]; !claimed && !taken[r] && r.Bits() > 0 {
				claims[r] = n.ID
			}
		}
	}
	return claims
}

// Gateway returns what opts.Self forwards for its peers in s, as Desired
// would (Plan.Gateway), without computing the rest of the plan.
func Gateway(s *membership.State, opts Options) *hostapi.GatewayConfig {
	if isolation(s, opts) != "" {
		return nil
	}
	self, _ := s.Node(opts.Self)
	return gatewayOf(s, self, opts)
}

// gatewayOf is what self forwards for its peers in s under opts, nil for
// nothing: never a default route for a router, never a mesh address.
func gatewayOf(s *membership.State, self membership.Node, opts Options) *hostapi.GatewayConfig {
	if !opts.Serve || self.Status != membership.StatusActive {
		return nil
	}
	var prefixes []netip.Prefix
	if self.HasTag(membership.TagRouter) {
		for _, r := range self.Routes {
			if r.Bits() > 0 && !isMeshAddress(s, r) {
				prefixes = append(prefixes, r)
			}
		}
	}
	if self.HasTag(membership.TagExit) {
		prefixes = append(prefixes, defaultRoutes...)
	}
	if len(prefixes) == 0 {
		return nil
	}
	return &hostapi.GatewayConfig{Prefixes: prefixes, Masquerade: opts.Masquerade}
}

// isMeshAddress reports whether p is the mesh address of a node of s.
func isMeshAddress(s *membership.State, p netip.Prefix) bool {
	if !p.IsSingleIP() {
		return false // mesh addresses are host prefixes
	}
	for n := range s.Nodes() {
		if slices.Contains(n.Addresses, p) {
			return true
		}
	}
	return false
}

// ExitProblem says why the exit node opts chose carries no traffic in s,
// or returns "" when it does or when none is chosen.
func ExitProblem(s *membership.State, opts Options) string {
	switch {
	case opts.ExitNode == "":
		return ""
	case opts.ExitNode == opts.Self:
		return "this node cannot be its own exit node"
	case s == nil:
		return "no trusted membership"
	}
	n, ok := s.Node(opts.ExitNode)
	switch {
	case !ok:
		return fmt.Sprintf("%s is not a member of network %s", opts.ExitNode, s.NetworkID())
	case n.Status != membership.StatusActive:
		return fmt.Sprintf("%s is %s", opts.ExitNode, n.Status)
	case !n.HasTag(membership.TagExit):
		return fmt.Sprintf("%s is not tagged %q in the signed membership", opts.ExitNode, membership.TagExit)
	}
	return ""
}

func compareKeys(a, b hostapi.Key) int {
	for i := range a {
		if c := cmp.Compare(a[i], b[i]); c != 0 {
			return c
		}
	}
	return 0
}

// Diff returns the changes that turn current (the backend's read-back peer
// set) into desired. applied is what was last successfully applied per
// peer; it decides whether an endpoint changed, because the backend reports
// the peer's current (possibly roamed) endpoint, and overriding a roamed
// endpoint with a stale hint would break a working session. Peers whose
// allowed IPs, keepalive and configured endpoint are unchanged are left
// alone, so their sessions survive. A peer missing from applied (after a
// start, or a backend relaunch whose setup pushed the peers itself) is
// upserted only if its desired endpoint hint is not the one it has: an
// upsert without a hint changes nothing, and at 10,000 peers re-upserting
// them all cost the backend megabytes and a full collection at every
// start.
func Diff(desired []hostapi.PeerConfig, current []hostapi.PeerState, applied map[hostapi.Key]hostapi.PeerConfig) hostapi.PeerChanges {
	want := make(map[hostapi.Key]*hostapi.PeerConfig, len(desired))
	for i := range desired {
		want[desired[i].PublicKey] = &desired[i]
	}
	var c hostapi.PeerChanges
	have := make(map[hostapi.Key]bool, len(current))
	for _, p := range current {
		have[p.PublicKey] = true
		if want[p.PublicKey] == nil {
			c.Remove = append(c.Remove, p.PublicKey)
		}
	}
	for _, p := range current {
		d := want[p.PublicKey]
		if d == nil {
			continue
		}
		prev, known := applied[p.PublicKey]
		hint := known && prev.Endpoint != d.Endpoint || !known && d.Endpoint.IsValid() && p.Endpoint != d.Endpoint
		if !equalPrefixes(d.AllowedIPs, p.AllowedIPs) || d.PersistentKeepalive != p.PersistentKeepalive || hint {
			c.Upsert = append(c.Upsert, *d)
		}
	}
	for _, d := range desired {
		if !have[d.PublicKey] {
			c.Upsert = append(c.Upsert, d)
		}
	}
	slices.SortFunc(c.Remove, compareKeys)
	slices.SortFunc(c.Upsert, func(a, b hostapi.PeerConfig) int { return compareKeys(a.PublicKey, b.PublicKey) })
	return c
}

// DiffRoutes returns the route changes that turn current into desired,
// each list sorted.
func DiffRoutes(desired, current []netip.Prefix) hostapi.RouteChanges {
	want := make(map[netip.Prefix]bool, len(desired))
	for _, p := range desired {
		want[p] = true
	}
	have := make(map[netip.Prefix]bool, len(current))
	var c hostapi.RouteChanges
	for _, p := range current {
		have[p] = true
		if !want[p] {
			c.Remove = append(c.Remove, p)
		}
	}
	for p := range want {
		if !have[p] {
			c.Add = append(c.Add, p)
		}
	}
	slices.SortFunc(c.Remove, netip.Prefix.Compare)
	slices.SortFunc(c.Add, netip.Prefix.Compare)
	return c
}

// equalPrefixes compares allowed-IP sets regardless of order.
func equalPrefixes(a, b []netip.Prefix) bool {
	if len(a) != len(b) {
		return false
	}
	as, bs := slices.Clone(a), slices.Clone(b)
	slices.SortFunc(as, netip.Prefix.Compare)
	slices.SortFunc(bs, netip.Prefix.Compare)
	return slices.Equal(as, bs)
}
