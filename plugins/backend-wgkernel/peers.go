package wgkernel

import (
	"net/netip"

	"github.com/rustynet/rustynet/hostapi"
)

// peerOp is one change to one peer, in the order the device gets them.
type peerOp struct {
	key    hostapi.Key
	remove bool
	// For an upsert: the desired configuration. update says the peer is on
	// the device (after this change's removals) and is changed in place,
	// so its session survives; setEndpoint says whether to send the
	// endpoint (a new peer's, or one that changed: an unchanged endpoint
	// is not re-sent, so that a roamed one survives).
	peer        hostapi.PeerConfig
	update      bool
	setEndpoint bool
}

// planPeers validates c against the current peer set by the rules of
// hostapi.PeerSet.Plan, with self (the interface's own public key, zero
// without an identity) refused as a peer, and returns the plan and the
// operations that carry it out: removals, then upserts. current is not
// modified: once the operations succeed, current.Commit(plan) records
// them. Its errors are ErrInvalidArgument.
func planPeers(current *hostapi.PeerSet, self hostapi.Key, c hostapi.PeerChanges) (hostapi.PeerPlan, []peerOp, error) {
	plan, err := current.Plan(c, hostapi.PeerLimits{Self: self})
	if err != nil {
		return hostapi.PeerPlan{}, nil, err
	}
	ops := make([]peerOp, 0, len(plan.Remove)+len(plan.Upsert))
	for _, k := range plan.Remove {
		// Sent for every key, known or not: the kernel ignores absent
		// ones, and a peer set behind our back goes too.
		ops = append(ops, peerOp{key: k, remove: true})
	}
	for _, u := range plan.Upsert {
		ep := u.Peer.Endpoint
		ops = append(ops, peerOp{
			key:         u.Peer.PublicKey,
			peer:        u.Peer,
			update:      u.Old != nil,
			setEndpoint: ep.IsValid() && (u.Old == nil || ep != u.Old.Endpoint),
		})
	}
	return plan, ops, nil
}

// restoreOps returns the operations that put the peers keys back as they
// are in before: peers absent from before are removed, the others are set
// to their configuration there. Removals come first, so that allowed IPs
// return to their owners without passing through anyone else.
func restoreOps(before *hostapi.PeerSet, keys []hostapi.Key) []peerOp {
	var removes, restores []peerOp
	for _, k := range keys {
		if p, ok := before.Peer(k); ok {
			restores = append(restores, peerOp{key: k, peer: p, setEndpoint: p.Endpoint.IsValid()})
		} else {
			removes = append(removes, peerOp{key: k, remove: true})
		}
	}
	return append(removes, restores...)
}

// touchedKeys returns the keys ops change, each once.
func touchedKeys(ops []peerOp) []hostapi.Key {
	var keys []hostapi.Key
	seen := make(map[hostapi.Key]bool)
	for _, op := range ops {
		if !seen[op.key] {
			seen[op.key] = true
			keys = append(keys, op.key)
		}
	}
	return keys
}

// unmapped is ep with an IPv4-mapped IPv6 address as plain IPv4, as the
// kernel reports it.
func unmapped(ep netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ep.Addr().Unmap(), ep.Port())
}
