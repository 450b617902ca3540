package policy

import (
	"cmp"
	"encoding/binary"
	"net/netip"
	"slices"
	"sync"
)

// This file is arithmetic on sets of addresses written as prefix lists.
// Every function returns the set's one form (aggregate): masked prefixes,
// IPv4 before IPv6, sorted by address then length, none inside another,
// and no two that are the halves of one prefix. Two lists are the same set
// exactly when their aggregates are equal, which is what lets Compile merge
// rules and compare them.

// comparePrefix orders prefixes as the membership encoding does: IPv4
// before IPv6, then address bytes, then length.
func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

// aggregate returns the aggregate of the set ps covers. It does not modify
// ps.
func aggregate(ps []netip.Prefix) []netip.Prefix {
	return aggregateInPlace(slices.Clone(ps))
}

// aggregateInPlace is aggregate of a list the caller gives up: it reuses
// ps's array (a list built for one aggregate is not copied again). It
// works on the prefixes as integers (prefixKey; an IPv4 one packed in one
// word, which sorts fastest): a compile aggregates the addresses of every
// member a rule selects, and on netip's own methods that was most of a
// compile at 10,000 members.
func aggregateInPlace(ps []netip.Prefix) []netip.Prefix {
	sc := aggregatePool.Get().(*aggregateScratch)
	defer aggregatePool.Put(sc)
	v4, v6 := sc.v4[:0], sc.v6[:0]
	for _, p := range ps {
		if !p.IsValid() {
			continue
		}
		if k := keyOf(p); k.v6 {
			v6 = append(v6, k)
		} else {
			v4 = append(v4, k.lo<<8|uint64(k.bits))
		}
	}
	if !slices.IsSorted(v4) {
		slices.Sort(v4)
	}
	if !slices.IsSortedFunc(v6, prefixKey.compare) {
		slices.SortFunc(v6, prefixKey.compare)
	}
	out := sc.out[:0]
	add := func(k prefixKey) {
		// Sorted, a prefix that overlaps the last kept one lies inside it.
		if n := len(out); n > 0 && out[n-1].holds(k) {
			return
		}
		out = append(out, k)
		// Merge halves into their parent, as long as they pair up.
		for n := len(out); n >= 2; n = len(out) {
			a, b := out[n-2], out[n-1]
			if a.bits != b.bits || a.bits == 0 || a.v6 != b.v6 {
				break
			}
			pa, pb := a.masked(a.bits-1), b.masked(b.bits-1)
			if pa != pb {
				break
			}
			out = append(out[:n-2], pa)
		}
	}
	for _, w := range v4 { // IPv4 first, as comparePrefix orders
		add(prefixKey{lo: w >> 8, bits: int(w & 0xff)})
	}
	for _, k := range v6 {
		add(k)
	}
	ps = ps[:0]
	for _, k := range out {
		ps = append(ps, k.prefix())
	}
	sc.v4, sc.v6, sc.out = v4, v6, out
	return slices.Clip(ps)
}

// aggregateScratch is aggregateInPlace's memory, kept between calls in
// aggregatePool: the IPv4 keys (address << 8 | length), the IPv6 ones,
// and the aggregate being built.
type aggregateScratch struct {
	v4      []uint64
	v6, out []prefixKey
}

var aggregatePool = sync.Pool{New: func() any { return new(aggregateScratch) }}

// prefixKey is a valid prefix as integers: its family, its address masked
// to its length (128 bits; an IPv4 address in the low 32 of lo) and its
// length. Its order (compare) is comparePrefix's.
type prefixKey struct {
	hi, lo uint64
	bits   int
	v6     bool
}

// keyOf returns the key of p, which must be valid: its address masked.
func keyOf(p netip.Prefix) prefixKey {
	a := p.Addr()
	k := prefixKey{bits: p.Bits()}
	if a.Is4() {
		b := a.As4()
		k.lo = uint64(binary.BigEndian.Uint32(b[:]))
	} else {
		b := a.As16()
		k.hi, k.lo, k.v6 = binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]), true
	}
	return k.masked(k.bits)
}

// masked returns k's address masked to bits (at most k's length) as a
// prefix of that length.
func (k prefixKey) masked(bits int) prefixKey {
	k.bits = bits
	switch {
	case !k.v6:
		// A shift by the width or more gives 0 in Go: bits 0 masks all.
		k.lo &= uint64(^uint32(0) << (32 - bits))
	case bits <= 64:
		k.hi &= ^uint64(0) << (64 - bits)
		k.lo = 0
	default:
		k.lo &= ^uint64(0) << (128 - bits)
	}
	return k
}

// holds reports whether prefix k holds prefix q.
func (k prefixKey) holds(q prefixKey) bool {
	return k.v6 == q.v6 && q.bits >= k.bits && q.masked(k.bits) == k
}

// compare orders keys as comparePrefix orders their prefixes.
func (k prefixKey) compare(q prefixKey) int {
	switch {
	case k.v6 != q.v6:
		if q.v6 {
			return -1
		}
		return 1
	case k.hi != q.hi:
		return cmp.Compare(k.hi, q.hi)
	case k.lo != q.lo:
		return cmp.Compare(k.lo, q.lo)
	}
	return cmp.Compare(k.bits, q.bits)
}

// prefix returns the prefix k is.
func (k prefixKey) prefix() netip.Prefix {
	if !k.v6 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(k.lo))
		return netip.PrefixFrom(netip.AddrFrom4(b), k.bits)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], k.hi)
	binary.BigEndian.PutUint64(b[8:], k.lo)
	return netip.PrefixFrom(netip.AddrFrom16(b), k.bits)
}

// halves returns the two prefixes one bit longer that make up p.
func halves(p netip.Prefix) (netip.Prefix, netip.Prefix) {
	lo := netip.PrefixFrom(p.Addr(), p.Bits()+1)
	b := p.Addr().AsSlice()
	i := p.Bits() / 8
	b[i] |= 0x80 >> (p.Bits() % 8)
	hi, _ := netip.AddrFromSlice(b)
	return lo, netip.PrefixFrom(hi, p.Bits()+1)
}

// subtract returns the aggregate of a without b.
func subtract(a, b []netip.Prefix) []netip.Prefix {
	b = aggregate(b)
	var out []netip.Prefix
	for _, p := range aggregate(a) {
		out = subtractOne(out, p, overlapping(b, p))
	}
	return aggregate(out)
}

// subtractOne appends p without the prefixes of b (each overlapping p).
func subtractOne(out []netip.Prefix, p netip.Prefix, b []netip.Prefix) []netip.Prefix {
	if len(b) == 0 {
		return append(out, p)
	}
	for _, q := range b {
		if q.Bits() <= p.Bits() {
			return out // q holds p
		}
	}
	lo, hi := halves(p)
	out = subtractOne(out, lo, overlapping(b, lo))
	return subtractOne(out, hi, overlapping(b, hi))
}

// overlapping returns the prefixes of b that overlap p.
func overlapping(b []netip.Prefix, p netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, q := range b {
		if q.Overlaps(p) {
			out = append(out, q)
		}
	}
	return out
}

// intersect returns the aggregate of the addresses in both a and b. Two
// prefixes overlap only when one holds the other, so each overlapping pair
// contributes the longer one.
func intersect(a, b []netip.Prefix) []netip.Prefix {
	var out []netip.Prefix
	for _, p := range a {
		for _, q := range b {
			if p.Overlaps(q) {
				if p.Bits() >= q.Bits() {
					out = append(out, p)
				} else {
					out = append(out, q)
				}
			}
		}
	}
	return aggregate(out)
}

// containsAddr reports whether a holds addr.
func containsAddr(a []netip.Prefix, addr netip.Addr) bool {
	for _, p := range a {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}
