package wgdev

import (
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"golang.zx2c4.com/wireguard/device"
)

// maxKeepalive is the largest persistent keepalive WireGuard can carry
// (a 16-bit count of seconds).
const maxKeepalive = 65535 * time.Second

// peerSet is the configured peer set: what the core asked for, indexed so a
// change can be validated against the whole result in time proportional to
// the change, not to the set.
type peerSet struct {
	peers map[hostapi.Key]hostapi.PeerConfig
	index *prefixIndex
}

func newPeerSet() *peerSet {
	return &peerSet{peers: make(map[hostapi.Key]hostapi.PeerConfig), index: newPrefixIndex()}
}

// plan is a validated change: what to remove and what to create or update.
type plan struct {
	remove []hostapi.Key // every key asked for removal, deduplicated, zero keys dropped
	upsert []upsert
}

// upsert is one peer to create (old == nil) or update in place.
type upsert struct {
	cfg hostapi.PeerConfig // desired; on update a zero Endpoint is already replaced by the old one
	old *hostapi.PeerConfig
}

// ValidatePeers reports whether applying c to a device that holds current
// gives a valid peer set, as hostapi.Backend.ApplyPeers requires, without
// changing anything. It fails with hostapi.ErrInvalidArgument on a zero or
// duplicate key in c.Upsert, an empty, invalid, non-canonical (host bits set,
// IPv4-mapped) or repeated allowed IP, allowed IPs that overlap between two
// peers of the resulting set, an endpoint with a zero port or an
// unspecified, multicast or broadcast address, a persistent keepalive that
// is negative, not whole seconds or above 65535 s, or a resulting set larger
// than wireguard-go's limit. Zero, repeated and absent keys in c.Remove are
// not errors: removal is never refused.
//
// A small change is checked by scanning current (no allocation in
// proportion to it); a large one builds the same index Device keeps.
func ValidatePeers(current []hostapi.PeerState, c hostapi.PeerChanges) error {
	n := 0
	for _, p := range c.Upsert {
		n += len(p.AllowedIPs)
	}
	if n <= linearLimit {
		return validateScanning(current, c)
	}
	return validateIndexed(current, c)
}

func validateScanning(current []hostapi.PeerState, c hostapi.PeerChanges) error {
	_, err := makePlan(stateList(current), c)
	return err
}

func validateIndexed(current []hostapi.PeerState, c hostapi.PeerChanges) error {
	s := newPeerSet()
	for _, p := range current {
		s.add(hostapi.PeerConfig{
			PublicKey:           p.PublicKey,
			Endpoint:            p.Endpoint,
			AllowedIPs:          p.AllowedIPs,
			PersistentKeepalive: p.PersistentKeepalive,
		})
	}
	_, err := makePlan(s, c)
	return err
}

// linearLimit is the number of new allowed IPs up to which ValidatePeers
// scans the current peers instead of indexing them: a scan costs about
// 25 ns per current prefix per new prefix, an index about 2 µs per current
// prefix.
const linearLimit = 64

// existing is the peer set a change is validated against.
type existing interface {
	lookup(k hostapi.Key) (hostapi.PeerConfig, bool)
	size() int
	// overlap returns an allowed IP of a peer that skip rejects and that
	// overlaps p, if there is one.
	overlap(p netip.Prefix, skip func(hostapi.Key) bool) (prefixEntry, bool)
}

func (s *peerSet) lookup(k hostapi.Key) (hostapi.PeerConfig, bool) {
	cfg, ok := s.peers[k]
	return cfg, ok
}

func (s *peerSet) size() int { return len(s.peers) }

func (s *peerSet) overlap(p netip.Prefix, skip func(hostapi.Key) bool) (prefixEntry, bool) {
	return s.index.overlap(p, skip)
}

// stateList is a peer set read back from a device, scanned linearly.
type stateList []hostapi.PeerState

func (l stateList) lookup(k hostapi.Key) (hostapi.PeerConfig, bool) {
	for _, p := range l {
		if p.PublicKey == k {
			return hostapi.PeerConfig{
				PublicKey:           p.PublicKey,
				Endpoint:            p.Endpoint,
				AllowedIPs:          p.AllowedIPs,
				PersistentKeepalive: p.PersistentKeepalive,
			}, true
		}
	}
	return hostapi.PeerConfig{}, false
}

func (l stateList) size() int { return len(l) }

func (l stateList) overlap(p netip.Prefix, skip func(hostapi.Key) bool) (prefixEntry, bool) {
	for _, peer := range l {
		for _, q := range peer.AllowedIPs {
			if q.Overlaps(p) && !skip(peer.PublicKey) {
				return prefixEntry{q, peer.PublicKey}, true
			}
		}
	}
	return prefixEntry{}, false
}

// add records cfg, replacing any earlier entry for the same key.
func (s *peerSet) add(cfg hostapi.PeerConfig) {
	s.delete(cfg.PublicKey)
	s.peers[cfg.PublicKey] = cfg
	s.index.insert(cfg.PublicKey, cfg.AllowedIPs)
}

func (s *peerSet) delete(k hostapi.Key) {
	if old, ok := s.peers[k]; ok {
		s.index.remove(k, old.AllowedIPs)
		delete(s.peers, k)
	}
}

// commit records a plan that the device has applied.
func (s *peerSet) commit(p plan) {
	for _, k := range p.remove {
		s.delete(k)
	}
	for _, u := range p.upsert {
		s.add(u.cfg)
	}
}

// makePlan validates c against s and returns what to do. It changes
// nothing.
func makePlan(s existing, c hostapi.PeerChanges) (plan, error) {
	var p plan
	removed := make(map[hostapi.Key]bool, len(c.Remove))
	for _, k := range c.Remove {
		if k.IsZero() || removed[k] {
			continue
		}
		removed[k] = true
		p.remove = append(p.remove, k)
	}

	upserted := make(map[hostapi.Key]bool, len(c.Upsert))
	size := s.size()
	for k := range removed {
		if _, ok := s.lookup(k); ok {
			size--
		}
	}
	for i, cfg := range c.Upsert {
		if err := checkPeer(cfg); err != nil {
			return plan{}, hostapi.Errorf(hostapi.CodeInvalidArgument, "upsert[%d]: %v", i, err)
		}
		if upserted[cfg.PublicKey] {
			return plan{}, hostapi.Errorf(hostapi.CodeInvalidArgument, "upsert[%d]: duplicate peer %s", i, cfg.PublicKey)
		}
		upserted[cfg.PublicKey] = true
		u := upsert{cfg: cfg}
		if old, ok := s.lookup(cfg.PublicKey); ok && !removed[cfg.PublicKey] {
			u.old = &old
			if cfg.Endpoint == (netip.AddrPort{}) {
				u.cfg.Endpoint = old.Endpoint
			}
		} else {
			size++
		}
		p.upsert = append(p.upsert, u)
	}
	if size > device.MaxPeers {
		return plan{}, hostapi.Errorf(hostapi.CodeInvalidArgument, "the result would hold %d peers, more than the %d wireguard-go allows", size, device.MaxPeers)
	}

	// The resulting set is the untouched peers plus the upserts; touched
	// peers' old allowed IPs are gone. Check every new prefix against both.
	touched := func(k hostapi.Key) bool { return removed[k] || upserted[k] }
	fresh := newPrefixIndex()
	for _, u := range p.upsert {
		self := u.cfg.PublicKey
		for _, pfx := range u.cfg.AllowedIPs {
			if e, ok := s.overlap(pfx, touched); ok {
				return plan{}, overlapError(self, pfx, e)
			}
			if e, ok := fresh.overlap(pfx, func(k hostapi.Key) bool { return k == self }); ok {
				return plan{}, overlapError(self, pfx, e)
			}
		}
		fresh.insert(self, u.cfg.AllowedIPs)
	}
	return p, nil
}

func overlapError(k hostapi.Key, p netip.Prefix, e prefixEntry) error {
	return hostapi.Errorf(hostapi.CodeInvalidArgument, "allowed IP %s of peer %s overlaps %s of peer %s", p, k, e.p, e.owner)
}

// checkPeer validates one peer on its own.
func checkPeer(cfg hostapi.PeerConfig) error {
	if cfg.PublicKey.IsZero() {
		return errors.New("zero public key")
	}
	if len(cfg.AllowedIPs) == 0 {
		return fmt.Errorf("peer %s has no allowed IPs", cfg.PublicKey)
	}
	seen := make(map[netip.Prefix]bool, len(cfg.AllowedIPs))
	for _, p := range cfg.AllowedIPs {
		if err := checkPrefix(p); err != nil {
			return fmt.Errorf("peer %s: %v", cfg.PublicKey, err)
		}
		if seen[p] {
			return fmt.Errorf("peer %s lists allowed IP %s twice", cfg.PublicKey, p)
		}
		seen[p] = true
	}
	if err := checkEndpoint(cfg.Endpoint); err != nil {
		return fmt.Errorf("peer %s: %v", cfg.PublicKey, err)
	}
	if k := cfg.PersistentKeepalive; k < 0 || k%time.Second != 0 || k > maxKeepalive {
		return fmt.Errorf("peer %s: persistent keepalive %v is not whole seconds in [0s, %v]", cfg.PublicKey, k, maxKeepalive)
	}
	return nil
}

func checkPrefix(p netip.Prefix) error {
	switch {
	case !p.IsValid():
		return fmt.Errorf("invalid allowed IP %q", p)
	case p.Addr().Is4In6():
		return fmt.Errorf("allowed IP %s is IPv4-mapped IPv6; use the IPv4 form", p)
	case p.Masked() != p:
		return fmt.Errorf("allowed IP %s has host bits set; want %s", p, p.Masked())
	}
	return nil
}

// checkEndpoint accepts the zero value (no endpoint) or a usable unicast
// address with a port.
func checkEndpoint(ep netip.AddrPort) error {
	if ep == (netip.AddrPort{}) {
		return nil
	}
	a := ep.Addr().Unmap()
	switch {
	case !a.IsValid():
		return fmt.Errorf("endpoint %s has no address", ep)
	case ep.Port() == 0:
		return fmt.Errorf("endpoint %s has port 0", ep)
	case a.IsUnspecified():
		return fmt.Errorf("endpoint %s has an unspecified address", ep)
	case a.IsMulticast():
		return fmt.Errorf("endpoint %s is multicast", ep)
	case a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return fmt.Errorf("endpoint %s is broadcast", ep)
	}
	return nil
}
