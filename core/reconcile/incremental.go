package reconcile

import (
	"net/netip"
	"slices"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

// Delta is a difference to the data plane: peers and routes.
type Delta struct {
	Peers  hostapi.PeerChanges
	Routes hostapi.RouteChanges
}

// IsZero reports whether c changes nothing.
func (c Delta) IsZero() bool {
	return len(c.Peers.Remove)+len(c.Peers.Upsert)+len(c.Routes.Remove)+len(c.Routes.Add) == 0
}

// Changes returns the changes that take a data plane from the plan of pre
// to the plan of post, where post is pre with op applied. For the common
// case — an operation on one node that is neither a router nor an exit —
// it looks only at that node: O(1) in the size of the network instead of a
// full Desired + Diff. An operation on a router or an exit, or on a node
// whose address a router serves, compares the two plans in memory (O(n),
// no read-back). It reports full = true when op can change this node's own
// interface (a genesis, or any operation on this node itself); the caller
// then reconciles fully. Approver, threshold and policy changes change no
// peer or route (a policy change changes the packet filter, which is the
// caller's: see core/policy).
func Changes(pre, post *membership.State, op *membership.Operation, opts Options) (c Delta, full bool) {
	var id string
	switch op.Type {
	case membership.OpAddNode:
		id = op.Node.ID
	case membership.OpRemoveNode, membership.OpRevokeNode, membership.OpRestoreNode,
		membership.OpRotateNodeKey, membership.OpUpdateNode:
		id = op.NodeID
	case membership.OpAddApprover, membership.OpRemoveApprover, membership.OpSetThreshold, membership.OpSetPolicy:
		return c, false // no peer, route or gateway depends on approvers or on the policy
	default:
		return c, true
	}
	if id == opts.Self || pre == nil {
		return c, true
	}
	if isolation(pre, opts) != "" {
		return c, false // an isolated node has no peers, whatever happens to others
	}
	before, _ := pre.Node(id)
	after, _ := post.Node(id)
	if routing(before) || routing(after) || servedByRouter(pre, before, after) || servedByRouter(post, before, after) {
		return DiffPlans(Desired(pre, opts), Desired(post, opts)), false
	}
	bp, had := peerOf(before, opts, nil)
	ap, has := peerOf(after, opts, nil)
	switch {
	case had && !has:
		c.Peers.Remove = []hostapi.Key{bp.PublicKey}
	case !had && has:
		c.Peers.Upsert = []hostapi.PeerConfig{ap}
	case had && has && bp.PublicKey != ap.PublicKey:
		c.Peers.Remove = []hostapi.Key{bp.PublicKey}
		c.Peers.Upsert = []hostapi.PeerConfig{ap}
	case had && has:
		c.Peers.Upsert = []hostapi.PeerConfig{ap}
	}
	c.Routes = DiffRoutes(ap.AllowedIPs, bp.AllowedIPs)
	return c, false
}

// routing reports whether n's allowed IPs can depend on other nodes, or
// other nodes' on n's: it is tagged router or exit.
func routing(n membership.Node) bool {
	return n.HasTag(membership.TagRouter) || n.HasTag(membership.TagExit)
}

// servedByRouter reports whether a router in s serves one of the mesh
// addresses of a or b as a route (then that route's owner depends on them).
func servedByRouter(s *membership.State, a, b membership.Node) bool {
	for n := range s.RoutingNodes() { // on every update: the routers and exits alone
		if !n.HasTag(membership.TagRouter) {
			continue
		}
		for _, r := range n.Routes {
			if r.IsSingleIP() && (slices.Contains(a.Addresses, r) || slices.Contains(b.Addresses, r)) {
				return true
			}
		}
	}
	return false
}

// DiffPlans returns the changes that turn a data plane holding plan a into
// plan b: peers removed, added or changed (allowed IPs, endpoint,
// keepalive), and routes. Both plans' lists must be sorted as Desired
// sorts them.
func DiffPlans(a, b Plan) Delta {
	var c Delta
	old := make(map[hostapi.Key]hostapi.PeerConfig, len(a.Peers))
	for _, p := range a.Peers {
		old[p.PublicKey] = p
	}
	for _, p := range b.Peers {
		q, ok := old[p.PublicKey]
		delete(old, p.PublicKey)
		if !ok || q.Endpoint != p.Endpoint || q.PersistentKeepalive != p.PersistentKeepalive || !equalPrefixes(q.AllowedIPs, p.AllowedIPs) {
			c.Peers.Upsert = append(c.Peers.Upsert, p)
		}
	}
	for k := range old {
		c.Peers.Remove = append(c.Peers.Remove, k)
	}
	slices.SortFunc(c.Peers.Remove, compareKeys)
	c.Routes = DiffRoutes(b.Routes, a.Routes)
	return c
}

// routesOf returns the allowed IPs of peers, sorted: the routes into the
// interface.
func routesOf(peers []hostapi.PeerConfig) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range peers {
		out = append(out, p.AllowedIPs...)
	}
	slices.SortFunc(out, netip.Prefix.Compare)
	return slices.Compact(out)
}
