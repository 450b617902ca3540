package reconcile

import (
	"slices"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

// peer returns node id's peer entry in the plan of s, if it has one: it is
// an active node other than opts.Self. It does not check opts.Self's own
// standing; Changes does.
func peer(s *membership.State, id string, opts Options) (hostapi.PeerConfig, bool) {
	if id == opts.Self {
		return hostapi.PeerConfig{}, false
	}
	n, ok := s.Node(id)
	if !ok || n.Status != membership.StatusActive {
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
	return p, true
}

// Changes returns the peer changes that take a data plane from the plan of
// pre to the plan of post, where post is pre with op applied, looking only
// at the node op touches: O(1) in the size of the network instead of a full
// Desired + Diff. It reports full = true when op can change more than one
// peer (a genesis, or any operation on this node itself); the caller then
// reconciles fully. Approver and threshold changes change no peer.
func Changes(pre, post *membership.State, op *membership.Operation, opts Options) (c hostapi.PeerChanges, full bool) {
	var id string
	switch op.Type {
	case membership.OpAddNode:
		id = op.Node.ID
	case membership.OpRemoveNode, membership.OpRevokeNode, membership.OpRestoreNode,
		membership.OpRotateNodeKey, membership.OpUpdateNode:
		id = op.NodeID
	case membership.OpAddApprover, membership.OpRemoveApprover, membership.OpSetThreshold:
		return c, false
	default:
		return c, true
	}
	if id == opts.Self || pre == nil {
		return c, true
	}
	if isolatedSelf(pre, opts) {
		return c, false // an isolated node has no peers, whatever happens to others
	}
	before, had := peer(pre, id, opts)
	after, has := peer(post, id, opts)
	switch {
	case had && !has:
		c.Remove = []hostapi.Key{before.PublicKey}
	case !had && has:
		c.Upsert = []hostapi.PeerConfig{after}
	case had && has && before.PublicKey != after.PublicKey:
		c.Remove = []hostapi.Key{before.PublicKey}
		c.Upsert = []hostapi.PeerConfig{after}
	case had && has:
		c.Upsert = []hostapi.PeerConfig{after}
	}
	return c, false
}

// isolatedSelf reports whether opts.Self has no peers in s.
func isolatedSelf(s *membership.State, opts Options) bool {
	self, ok := s.Node(opts.Self)
	return !ok || self.Status != membership.StatusActive || self.PublicKey != opts.SelfKey
}
