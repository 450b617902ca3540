// Package reconcile computes a node's data plane from trusted membership: the
// desired peer set (Desired) and the difference between it and what a
// backend reports (Diff). Both are pure functions; the daemon calls them
// under its enforcement gate, so nothing here can add a peer that is not an
// active member of a verified state.
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

// Options are local settings that shape the peer set.
type Options struct {
	// Self is this node's id in the membership.
	Self string
	// SelfKey is the public key of this node's private key. If the state
	// holds another key for Self (it was rotated and this node does not yet
	// have the new key), the node has no peers.
	SelfKey membership.NodeKey
	// PersistentKeepalive for every peer; 0 = off.
	PersistentKeepalive time.Duration
}

// Plan is the desired data plane.
type Plan struct {
	// Peers is every peer this node must have, sorted by public key.
	Peers []hostapi.PeerConfig
	// Isolated is non-empty when the node must have no peers at all, and
	// says why (revoked, removed, key rotated away).
	Isolated string
}

// Desired returns the peer set of opts.Self in s: every other active node,
// with its mesh addresses as allowed IPs and its first endpoint hint as
// endpoint. Revoked nodes are never peers. A node that is not an active
// member with its own key gets no peers (Plan.Isolated says why). A nil
// state (no trusted membership yet) gives no peers.
func Desired(s *membership.State, opts Options) Plan {
	if s == nil {
		return Plan{Isolated: "no trusted membership"}
	}
	self, ok := s.Node(opts.Self)
	switch {
	case !ok:
		return Plan{Isolated: fmt.Sprintf("node %s is not a member of network %s", opts.Self, s.NetworkID())}
	case self.Status != membership.StatusActive:
		return Plan{Isolated: fmt.Sprintf("node %s is %s", opts.Self, self.Status)}
	case self.PublicKey != opts.SelfKey:
		return Plan{Isolated: fmt.Sprintf("node %s's key in the membership is %s, not this node's key %s", opts.Self, self.PublicKey, opts.SelfKey)}
	}
	peers := make([]hostapi.PeerConfig, 0, s.NodeCount())
	for n := range s.Nodes() {
		if n.ID == opts.Self || n.Status != membership.StatusActive {
			continue
		}
		p := hostapi.PeerConfig{
			PublicKey:           hostapi.Key(n.PublicKey),
			AllowedIPs:          slices.Clone(n.Addresses),
			PersistentKeepalive: opts.PersistentKeepalive,
		}
		if len(n.Endpoints) > 0 {
			p.Endpoint = n.Endpoints[0]
		}
		peers = append(peers, p)
	}
	slices.SortFunc(peers, func(a, b hostapi.PeerConfig) int { return compareKeys(a.PublicKey, b.PublicKey) })
	return Plan{Peers: peers}
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
// alone, so their sessions survive.
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
		if !equalPrefixes(d.AllowedIPs, p.AllowedIPs) || d.PersistentKeepalive != p.PersistentKeepalive ||
			!known || prev.Endpoint != d.Endpoint {
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

// equalPrefixes compares allowed-IP sets regardless of order.
func equalPrefixes(a, b []netip.Prefix) bool {
	if len(a) != len(b) {
		return false
	}
	as, bs := slices.Clone(a), slices.Clone(b)
	cmpP := func(x, y netip.Prefix) int { return x.Compare(y) }
	slices.SortFunc(as, cmpP)
	slices.SortFunc(bs, cmpP)
	return slices.Equal(as, bs)
}
