package wgdev

import (
	"bytes"
	"net/netip"

	"github.com/google/btree"
	"github.com/rustynet/rustynet/hostapi"
)

// prefixEntry is one allowed IP of one peer.
type prefixEntry struct {
	p     netip.Prefix
	owner hostapi.Key
}

// lessEntry orders entries by address, then prefix length, then owner, so
// that every prefix starting inside a range [first, last] sits in one run.
func lessEntry(a, b prefixEntry) bool {
	if c := a.p.Addr().Compare(b.p.Addr()); c != 0 {
		return c < 0
	}
	if a.p.Bits() != b.p.Bits() {
		return a.p.Bits() < b.p.Bits()
	}
	return bytes.Compare(a.owner[:], b.owner[:]) < 0
}

// prefixIndex finds allowed IPs that overlap a prefix in O(log n) plus the
// entries it is told to skip. Two CIDR prefixes overlap exactly when one
// contains the other, so the overlaps of p are the entries that start inside
// p (one ordered run) and the ancestors of p (one exact look-up per prefix
// length in use).
type prefixIndex struct {
	tree *btree.BTreeG[prefixEntry]
	// lengths counts entries per family (0: IPv4, 1: IPv6) and prefix length,
	// so ancestor look-ups visit only lengths that hold something.
	lengths [2][129]int
}

func newPrefixIndex() *prefixIndex {
	return &prefixIndex{tree: btree.NewG(32, lessEntry)}
}

func family(p netip.Prefix) int {
	if p.Addr().Is4() {
		return 0
	}
	return 1
}

func (x *prefixIndex) insert(owner hostapi.Key, prefixes []netip.Prefix) {
	for _, p := range prefixes {
		if _, found := x.tree.ReplaceOrInsert(prefixEntry{p, owner}); !found {
			x.lengths[family(p)][p.Bits()]++
		}
	}
}

func (x *prefixIndex) remove(owner hostapi.Key, prefixes []netip.Prefix) {
	for _, p := range prefixes {
		if _, found := x.tree.Delete(prefixEntry{p, owner}); found {
			x.lengths[family(p)][p.Bits()]--
		}
	}
}

// overlap returns an entry that overlaps p and whose owner skip rejects, if
// there is one. p must be valid and masked.
func (x *prefixIndex) overlap(p netip.Prefix, skip func(hostapi.Key) bool) (prefixEntry, bool) {
	var hit prefixEntry
	found := false
	last := lastAddr(p)
	// Entries starting inside p: p itself, its descendants, and ancestors
	// that share its first address.
	x.tree.AscendGreaterOrEqual(prefixEntry{p: netip.PrefixFrom(p.Addr(), 0)}, func(e prefixEntry) bool {
		if e.p.Addr().Compare(last) > 0 {
			return false
		}
		if skip(e.owner) {
			return true
		}
		hit, found = e, true
		return false
	})
	if found {
		return hit, true
	}
	// Ancestors that start before p.
	lengths := &x.lengths[family(p)]
	for bits := 0; bits < p.Bits(); bits++ {
		if lengths[bits] == 0 {
			continue
		}
		anc := netip.PrefixFrom(p.Addr(), bits).Masked()
		x.tree.AscendGreaterOrEqual(prefixEntry{p: anc}, func(e prefixEntry) bool {
			if e.p != anc {
				return false
			}
			if skip(e.owner) {
				return true
			}
			hit, found = e, true
			return false
		})
		if found {
			return hit, true
		}
	}
	return prefixEntry{}, false
}

// lastAddr returns the highest address inside p.
func lastAddr(p netip.Prefix) netip.Addr {
	if p.Addr().Is4() {
		a := p.Addr().As4()
		setHostBits(a[:], p.Bits())
		return netip.AddrFrom4(a)
	}
	a := p.Addr().As16()
	setHostBits(a[:], p.Bits())
	return netip.AddrFrom16(a)
}

func setHostBits(b []byte, bits int) {
	for i := range b {
		switch {
		case bits >= 8*(i+1):
		case bits <= 8*i:
			b[i] = 0xff
		default:
			b[i] |= 0xff >> (bits - 8*i)
		}
	}
}
