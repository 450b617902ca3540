package wgkernel

import (
	"bytes"
	"net/netip"
	"slices"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// maxKeepalive is the longest persistent keepalive WireGuard can carry
// (a 16-bit number of seconds).
const maxKeepalive = 65535 * time.Second

// peerModel is the configured part of one peer as this backend last set it
// (or, for a peer it found on the device, as it read it).
type peerModel struct {
	endpoint   netip.AddrPort // zero: unknown
	allowedIPs []netip.Prefix // masked, sorted, unique
	keepalive  time.Duration
}

// peerSet is the configured peer set, by public key.
type peerSet map[hostapi.Key]peerModel

// peerOp is one change to one peer, in the order the device gets them.
type peerOp struct {
	key    hostapi.Key
	remove bool
	// For an upsert: the desired configuration. update says the peer is on
	// the device (after this plan's removals) and is changed in place, so
	// its session survives; setEndpoint says whether to set the endpoint
	// (a zero endpoint on update leaves it unchanged).
	peer        peerModel
	update      bool
	setEndpoint bool
}

// planPeers validates changes c against the current peer set and returns
// the operations that carry them out, in order. self is the interface's own
// public key, which cannot be a peer. The whole resulting set is checked;
// any fault fails with ErrInvalidArgument. current is not modified: once
// the operations succeed, current.commit applies them.
func planPeers(current peerSet, self hostapi.Key, c hostapi.PeerChanges) ([]peerOp, error) {
	var ops []peerOp
	removed := make(map[hostapi.Key]bool)
	replaced := make(map[hostapi.Key]bool) // removed or upserted: old allowed IPs gone
	for _, k := range c.Remove {
		if k.IsZero() {
			return nil, hostapi.Errorf(hostapi.CodeInvalidArgument, "wgkernel: remove: zero public key")
		}
		if _, ok := current[k]; !ok || removed[k] {
			continue // absent (or already listed): nothing to do
		}
		removed[k], replaced[k] = true, true
		ops = append(ops, peerOp{key: k, remove: true})
	}

	upserts := make([]peerOp, 0, len(c.Upsert))
	for _, p := range c.Upsert {
		if err := checkPeerKey(p.PublicKey, self); err != nil {
			return nil, err
		}
		if replaced[p.PublicKey] && !removed[p.PublicKey] {
			return nil, hostapi.Errorf(hostapi.CodeInvalidArgument, "wgkernel: peer %s is listed twice", p.PublicKey)
		}
		m, err := checkPeer(p)
		if err != nil {
			return nil, err
		}
		_, exists := current[p.PublicKey]
		exists = exists && !removed[p.PublicKey]
		upserts = append(upserts, peerOp{key: p.PublicKey, peer: m, update: exists, setEndpoint: m.endpoint.IsValid()})
		replaced[p.PublicKey] = true
		delete(removed, p.PublicKey) // listed twice from here on
	}
	if err := checkOverlap(current, replaced, upserts); err != nil {
		return nil, err
	}
	return append(ops, upserts...), nil
}

// commit applies ops, planned by planPeers against s, to s.
func (s peerSet) commit(ops []peerOp) {
	for _, op := range ops {
		if op.remove {
			delete(s, op.key)
			continue
		}
		m := op.peer
		if !op.setEndpoint {
			m.endpoint = s[op.key].endpoint // unchanged (zero for a new peer)
		}
		s[op.key] = m
	}
}

func checkPeerKey(k, self hostapi.Key) error {
	switch {
	case k.IsZero():
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "wgkernel: peer with a zero public key")
	case k == self:
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "wgkernel: peer %s is this interface's own key", k)
	}
	return nil
}

// checkPeer validates one peer's values and returns them normalised.
func checkPeer(p hostapi.PeerConfig) (peerModel, error) {
	m := peerModel{endpoint: p.Endpoint, keepalive: p.PersistentKeepalive}
	if ep := p.Endpoint; ep.IsValid() {
		a := ep.Addr().Unmap()
		if ep.Port() == 0 || a.IsUnspecified() || a.IsMulticast() || a.Zone() != "" {
			return peerModel{}, hostapi.Errorf(hostapi.CodeInvalidArgument, "wgkernel: peer %s: invalid endpoint %s", p.PublicKey, ep)
		}
		m.endpoint = netip.AddrPortFrom(a, ep.Port())
	}
	if k := p.PersistentKeepalive; k < 0 || k > maxKeepalive || k%time.Second != 0 {
		return peerModel{}, hostapi.Errorf(hostapi.CodeInvalidArgument, "wgkernel: peer %s: keepalive %v is not a whole number of seconds in [0, %v]", p.PublicKey, k, maxKeepalive)
	}
	for _, ip := range p.AllowedIPs {
		if !ip.IsValid() || ip.Addr().Is4In6() {
			return peerModel{}, hostapi.Errorf(hostapi.CodeInvalidArgument, "wgkernel: peer %s: invalid allowed IP %q", p.PublicKey, ip)
		}
		m.allowedIPs = append(m.allowedIPs, ip.Masked())
	}
	slices.SortFunc(m.allowedIPs, comparePrefix)
	m.allowedIPs = slices.Compact(m.allowedIPs)
	return m, nil
}

// linearOverlapLimit is the number of upserted prefixes up to which
// checkOverlap compares them with every other prefix directly (no
// allocation, O(n) per prefix); larger changes sort everything instead.
const linearOverlapLimit = 16

// ownedPrefix is an allowed IP and the peer it belongs to.
type ownedPrefix struct {
	p   netip.Prefix
	key hostapi.Key
}

// checkOverlap fails if, after the change, an allowed IP of one peer
// overlaps one of another. The peers in replaced lose their current allowed
// IPs; upserts bring their new ones.
func checkOverlap(current peerSet, replaced map[hostapi.Key]bool, upserts []peerOp) error {
	var news []ownedPrefix
	for _, op := range upserts {
		for _, p := range op.peer.allowedIPs {
			news = append(news, ownedPrefix{p, op.key})
		}
	}
	if len(news) > linearOverlapLimit {
		all := news
		for k, m := range current {
			if !replaced[k] {
				for _, p := range m.allowedIPs {
					all = append(all, ownedPrefix{p, k})
				}
			}
		}
		return sweepOverlap(all)
	}
	for i, a := range news {
		for _, b := range news[i+1:] {
			if a.key != b.key && a.p.Overlaps(b.p) {
				return overlapError(a, b)
			}
		}
	}
	for k, m := range current {
		if replaced[k] {
			continue
		}
		for _, p := range m.allowedIPs {
			for _, a := range news {
				if p.Overlaps(a.p) {
					return overlapError(a, ownedPrefix{p, k})
				}
			}
		}
	}
	return nil
}

// sweepOverlap fails if two prefixes of different owners in all overlap.
// Sorted by address then length, a prefix that contains others comes
// right before them, so a stack of nested prefixes finds every overlap in
// O(n log n). It reorders all.
func sweepOverlap(all []ownedPrefix) error {
	slices.SortFunc(all, func(a, b ownedPrefix) int {
		if c := comparePrefix(a.p, b.p); c != 0 {
			return c
		}
		return bytes.Compare(a.key[:], b.key[:])
	})
	var stack []ownedPrefix // each element contains the next; one owner
	for _, o := range all {
		for len(stack) > 0 && !stack[len(stack)-1].p.Contains(o.p.Addr()) {
			stack = stack[:len(stack)-1]
		}
		if len(stack) > 0 && stack[len(stack)-1].key != o.key {
			return overlapError(o, stack[len(stack)-1])
		}
		stack = append(stack, o)
	}
	return nil
}

func overlapError(a, b ownedPrefix) error {
	return hostapi.Errorf(hostapi.CodeInvalidArgument, "wgkernel: allowed IP %s of peer %s overlaps %s of peer %s", a.p, a.key, b.p, b.key)
}

// restoreOps returns the operations that put the peers keys back as they
// are in before: peers absent from before are removed, the others are set
// to their configuration there. Removals come first, so that allowed IPs
// return to their owners without passing through anyone else.
func restoreOps(before peerSet, keys []hostapi.Key) []peerOp {
	var removes, restores []peerOp
	for _, k := range keys {
		if m, ok := before[k]; ok {
			restores = append(restores, peerOp{key: k, peer: m, setEndpoint: m.endpoint.IsValid()})
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
