package hostapi

import (
	"fmt"
	"iter"
	"net/netip"
	"slices"
	"time"
)

// MaxPersistentKeepalive is the longest persistent keepalive WireGuard can
// carry: a 16-bit count of seconds.
const MaxPersistentKeepalive = 65535 * time.Second

// PeerLimits are what a backend adds to the contract's rules for a peer
// set.
type PeerLimits struct {
	// Self is the interface's own public key, which no peer may have; the
	// zero key checks nothing.
	Self Key
	// MaxPeers is the most peers the resulting set may hold; 0 is no limit.
	MaxPeers int
}

// CheckPeer reports whether p is a valid peer on its own, as ApplyPeers
// requires: a non-zero key; at least one allowed IP, each valid, masked
// (no host bits set), not IPv4-mapped and listed once; an endpoint that is
// the zero value or a unicast address without a zone and with a non-zero
// port; a persistent keepalive of whole seconds from 0 to
// MaxPersistentKeepalive. Its errors are ErrInvalidArgument.
func CheckPeer(p PeerConfig) error {
	if p.PublicKey.IsZero() {
		return Errorf(CodeInvalidArgument, "peer with a zero public key")
	}
	if len(p.AllowedIPs) == 0 {
		return Errorf(CodeInvalidArgument, "peer %s has no allowed IPs", p.PublicKey)
	}
	for i, a := range p.AllowedIPs {
		if err := checkPrefix(a, "allowed IP"); err != nil {
			return Errorf(CodeInvalidArgument, "peer %s: %v", p.PublicKey, err)
		}
		for _, b := range p.AllowedIPs[:i] {
			if a == b {
				return Errorf(CodeInvalidArgument, "peer %s lists allowed IP %s twice", p.PublicKey, a)
			}
		}
	}
	if ep := p.Endpoint; ep != (netip.AddrPort{}) {
		a := ep.Addr()
		switch {
		case !a.IsValid() || ep.Port() == 0:
			return Errorf(CodeInvalidArgument, "peer %s: endpoint %s needs an address and a non-zero port", p.PublicKey, ep)
		case a.Unmap().IsUnspecified() || a.Unmap().IsMulticast() || a.Unmap() == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
			return Errorf(CodeInvalidArgument, "peer %s: endpoint %s is not a unicast address", p.PublicKey, ep)
		case a.Zone() != "":
			return Errorf(CodeInvalidArgument, "peer %s: endpoint %s has a zone", p.PublicKey, ep)
		}
	}
	if k := p.PersistentKeepalive; k < 0 || k%time.Second != 0 || k > MaxPersistentKeepalive {
		return Errorf(CodeInvalidArgument, "peer %s: persistent keepalive %v is not whole seconds from 0s to %v", p.PublicKey, k, MaxPersistentKeepalive)
	}
	return nil
}

// PeerSet is a backend's configured peer set, indexed so that a change is
// validated against the whole resulting set in time proportional to the
// change, not to the set. It is the one implementation of the peer rules of
// Backend.ApplyPeers; backends and test doubles plan every change with it.
// A PeerSet is not safe for concurrent use.
//
// A backend holds one for as long as it runs, at up to tens of thousands
// of peers, so it is compact: the peers in one dense list, and two maps to
// positions in it — by key, and by allowed IP (as ownerKey, without
// netip's zone pointer) — rather than maps holding whole configurations.
type PeerSet struct {
	peers   []PeerConfig       // in no particular order
	index   map[Key]int32      // a peer's key → its position in peers
	owners  map[ownerKey]int32 // allowed IP → position of the one peer that has it
	lengths [2][129]int32      // owners' prefixes per family (0: IPv4) and length, for Owner
	gen     uint64             // counts the changes: Generation
}

// ownerKey is an allowed IP as PeerSet.owners keys it: its address's
// sixteen bytes (IPv4 mapped), its length and its family.
type ownerKey struct {
	addr [16]byte
	bits uint8
	v6   bool
}

func ownerKeyOf(p netip.Prefix) ownerKey {
	return ownerKey{addr: p.Addr().As16(), bits: uint8(p.Bits()), v6: !p.Addr().Is4()}
}

// NewPeerSet returns a set holding peers, which must be valid together
// (for example a backend's read-back state); later peers replace earlier
// ones with the same key.
func NewPeerSet(peers ...PeerConfig) *PeerSet {
	s := &PeerSet{peers: make([]PeerConfig, 0, len(peers)), index: make(map[Key]int32, len(peers)), owners: make(map[ownerKey]int32, len(peers))}
	for _, p := range peers {
		s.put(p)
	}
	return s
}

// Generation returns a number that changes whenever s does, and with it
// the order in which All yields the peers (which stays the same while it
// does not), so that a reader can keep what it derived from s.
func (s *PeerSet) Generation() uint64 { return s.gen }

// Len returns the number of peers.
func (s *PeerSet) Len() int { return len(s.peers) }

// Peer returns the peer with key k.
func (s *PeerSet) Peer(k Key) (PeerConfig, bool) {
	i, ok := s.index[k]
	if !ok {
		return PeerConfig{}, false
	}
	return s.peers[i], true
}

// All yields every peer, in no particular order. A peer's AllowedIPs are
// the slice it was planned with: neither s nor the caller may modify it.
func (s *PeerSet) All() iter.Seq[PeerConfig] { return slices.Values(s.peers) }

// Owner returns the peer whose allowed IPs match a the longest, as
// WireGuard routes a packet to a: the peer a is sent to, and the one a
// packet from a must come from. An IPv4-mapped a is matched as IPv4.
func (s *PeerSet) Owner(a netip.Addr) (Key, bool) {
	a = a.Unmap()
	if !a.IsValid() {
		return Key{}, false
	}
	f := family(a)
	for bits := a.BitLen(); bits >= 0; bits-- {
		if s.lengths[f][bits] == 0 {
			continue
		}
		if i, ok := s.owners[ownerKeyOf(netip.PrefixFrom(a, bits).Masked())]; ok {
			return s.peers[i].PublicKey, true
		}
	}
	return Key{}, false
}

// owner returns the key of the peer that has allowed IP a.
func (s *PeerSet) owner(a netip.Prefix) (Key, bool) {
	i, ok := s.owners[ownerKeyOf(a)]
	if !ok {
		return Key{}, false
	}
	return s.peers[i].PublicKey, true
}

// family is 0 for IPv4, 1 for IPv6: the first index of PeerSet.lengths.
func family(a netip.Addr) int {
	if a.Is4() {
		return 0
	}
	return 1
}

// PeerPlan is a validated change: what to remove, then what to create or
// update.
type PeerPlan struct {
	// Remove lists every non-zero key the change asked to remove, once,
	// in the order given; keys absent from the set are included, so a
	// backend may also remove a peer it holds but the set does not know.
	Remove []Key
	// Upsert lists the peers to create or update, in the order given.
	Upsert []PeerUpsert
}

// PeerUpsert is one peer to create or update in place.
type PeerUpsert struct {
	// Peer is the desired configuration; on an update, a zero Endpoint is
	// already replaced by the peer's current one (the contract's
	// "unchanged").
	Peer PeerConfig
	// Old is the peer's current configuration on an update, nil for a new
	// peer.
	Old *PeerConfig
}

// Plan validates c against s and returns what to do, changing nothing. The
// rules are Backend.ApplyPeers': every upsert passes CheckPeer and is not
// lim.Self; no key is upserted twice; no allowed IP belongs to two peers of
// the resulting set (overlapping prefixes are legal: WireGuard routes by the
// longest match); the result holds at most lim.MaxPeers peers. Zero,
// repeated and absent keys in c.Remove are not errors: removal is never
// refused. Its errors are ErrInvalidArgument.
func (s *PeerSet) Plan(c PeerChanges, lim PeerLimits) (PeerPlan, error) {
	var p PeerPlan
	removed := make(map[Key]bool, len(c.Remove))
	size := len(s.peers)
	for _, k := range c.Remove {
		if k.IsZero() || removed[k] {
			continue
		}
		removed[k] = true
		p.Remove = append(p.Remove, k)
		if _, ok := s.index[k]; ok {
			size--
		}
	}
	upserted := make(map[Key]bool, len(c.Upsert))
	fresh := make(map[netip.Prefix]Key)
	for i, cfg := range c.Upsert {
		if err := CheckPeer(cfg); err != nil {
			return PeerPlan{}, Errorf(CodeInvalidArgument, "upsert[%d]: %s", i, err.(*Error).Msg)
		}
		k := cfg.PublicKey
		switch {
		case !lim.Self.IsZero() && k == lim.Self:
			return PeerPlan{}, Errorf(CodeInvalidArgument, "upsert[%d]: peer %s is the interface's own key", i, k)
		case upserted[k]:
			return PeerPlan{}, Errorf(CodeInvalidArgument, "upsert[%d]: peer %s is listed twice", i, k)
		}
		upserted[k] = true
		u := PeerUpsert{Peer: cfg}
		if old, ok := s.Peer(k); ok && !removed[k] {
			u.Old = &old
			if cfg.Endpoint == (netip.AddrPort{}) {
				u.Peer.Endpoint = old.Endpoint
			}
		} else {
			size++
		}
		for _, a := range cfg.AllowedIPs {
			if other, ok := fresh[a]; ok {
				return PeerPlan{}, duplicateIP(a, k, other)
			}
			fresh[a] = k
		}
		p.Upsert = append(p.Upsert, u)
	}
	if lim.MaxPeers > 0 && size > lim.MaxPeers {
		return PeerPlan{}, Errorf(CodeInvalidArgument, "the result would hold %d peers, more than the %d this backend allows", size, lim.MaxPeers)
	}
	// A new allowed IP may also be held by a peer the change leaves alone.
	for a, k := range fresh {
		if owner, ok := s.owner(a); ok && owner != k && !removed[owner] && !upserted[owner] {
			return PeerPlan{}, duplicateIP(a, k, owner)
		}
	}
	return p, nil
}

func duplicateIP(a netip.Prefix, k, other Key) error {
	return Errorf(CodeInvalidArgument, "allowed IP %s is given to both peer %s and peer %s", a, k, other)
}

// Commit records a plan of s that the backend has carried out.
func (s *PeerSet) Commit(p PeerPlan) {
	for _, k := range p.Remove {
		s.delete(k)
	}
	for _, u := range p.Upsert {
		s.put(u.Peer)
	}
}

func (s *PeerSet) put(p PeerConfig) {
	s.delete(p.PublicKey)
	s.gen++
	i := int32(len(s.peers))
	s.peers = append(s.peers, p)
	s.index[p.PublicKey] = i
	for _, a := range p.AllowedIPs {
		k := ownerKeyOf(a)
		if _, held := s.owners[k]; !held {
			s.lengths[family(a.Addr())][a.Bits()]++
		}
		s.owners[k] = i
	}
}

// delete removes the peer with key k, moving the last peer of the list
// into its place.
func (s *PeerSet) delete(k Key) {
	i, ok := s.index[k]
	if !ok {
		return
	}
	s.gen++
	for _, a := range s.peers[i].AllowedIPs {
		if ak := ownerKeyOf(a); s.owners[ak] == i {
			delete(s.owners, ak)
			s.lengths[family(a.Addr())][a.Bits()]--
		}
	}
	delete(s.index, k)
	last := int32(len(s.peers) - 1)
	if i != last {
		moved := s.peers[last]
		s.peers[i] = moved
		s.index[moved.PublicKey] = i
		for _, a := range moved.AllowedIPs {
			if ak := ownerKeyOf(a); s.owners[ak] == last {
				s.owners[ak] = i
			}
		}
	}
	s.peers[last] = PeerConfig{} // holds no allowed IPs
	s.peers = s.peers[:last]
}

// checkPrefix reports whether p is valid, masked and not IPv4-mapped; what
// names it in the error, which carries no code.
func checkPrefix(p netip.Prefix, what string) error {
	switch {
	case !p.IsValid():
		return fmt.Errorf("invalid %s %q", what, p)
	case p.Addr().Is4In6():
		return fmt.Errorf("%s %s is IPv4-mapped IPv6; use the IPv4 form", what, p)
	case p.Masked() != p:
		return fmt.Errorf("%s %s has host bits set; want %s", what, p, p.Masked())
	}
	return nil
}
