package policy

import (
	"cmp"
	"net/netip"
	"slices"
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
// ps's array (a list built for one aggregate is not copied again).
func aggregateInPlace(ps []netip.Prefix) []netip.Prefix {
	sorted := ps[:0]
	for _, p := range ps {
		if p.IsValid() {
			sorted = append(sorted, p.Masked())
		}
	}
	slices.SortFunc(sorted, comparePrefix)
	out := sorted[:0]
	for _, p := range sorted {
		// Sorted, a prefix that overlaps the last kept one lies inside it.
		if n := len(out); n > 0 && out[n-1].Overlaps(p) {
			continue
		}
		out = append(out, p)
		// Merge halves into their parent, as long as they pair up.
		for n := len(out); n >= 2; n = len(out) {
			a, b := out[n-2], out[n-1]
			if a.Bits() != b.Bits() || a.Bits() == 0 || a.Addr().Is4() != b.Addr().Is4() {
				break
			}
			pa, pb := parent(a), parent(b)
			if pa != pb {
				break
			}
			out = append(out[:n-2], pa)
		}
	}
	return slices.Clip(out)
}

// parent returns the prefix one bit shorter that holds p.
func parent(p netip.Prefix) netip.Prefix {
	q, _ := p.Addr().Prefix(p.Bits() - 1)
	return q
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
