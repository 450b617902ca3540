package membership

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
)

// validID reports whether s is a valid network, node or approver ID: 1–63
// bytes of [a-z0-9._-], starting with a letter or digit.
func validID(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}

// validTag: 1–63 bytes of [a-z0-9-], starting with a letter or digit.
func validTag(s string) bool {
	if len(s) == 0 || len(s) > 63 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i > 0) {
			return false
		}
	}
	return true
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// sortedUnique reports whether xs is strictly increasing under cmp.
func sortedUnique[T any](xs []T, cmp func(a, b T) int) bool {
	for i := 1; i < len(xs); i++ {
		if cmp(xs[i-1], xs[i]) >= 0 {
			return false
		}
	}
	return true
}

// comparePrefix is the frozen v1 order of prefixes: IPv4 before IPv6, then
// address bytes, then prefix length. It is spelled out rather than taken
// from netip.Prefix.Compare, whose order has changed between Go releases:
// the canonical form must not depend on the compiler version. For the
// prefixes the schema admits (masked routes, host addresses) it agrees
// with Go 1.26's Prefix.Compare.
func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}
func compareAddrPort(a, b netip.AddrPort) int {
	return a.Compare(b)
}

// validAddresses checks mesh addresses: host prefixes of plain IPv4 or IPv6
// (no IPv4-mapped IPv6), sorted and unique.
func validAddresses(ps []netip.Prefix, max int) error {
	if len(ps) == 0 {
		return errorf(IllegalOperation, "a node needs at least one mesh address")
	}
	if len(ps) > max {
		return errorf(LimitExceeded, "%d addresses exceed the limit of %d", len(ps), max)
	}
	for _, p := range ps {
		if !p.IsValid() || p.Addr().Is4In6() || p.Bits() != p.Addr().BitLen() || p.Addr().IsUnspecified() {
			return errorf(IllegalOperation, "mesh address %s is not a host prefix (/32 or /128)", p)
		}
	}
	if !sortedUnique(ps, comparePrefix) {
		return errorf(NonCanonical, "addresses are not sorted and unique")
	}
	return nil
}

func validRoutes(ps []netip.Prefix, max int) error {
	if len(ps) > max {
		return errorf(LimitExceeded, "%d routes exceed the limit of %d", len(ps), max)
	}
	for _, p := range ps {
		if !p.IsValid() || p.Addr().Is4In6() || p != p.Masked() {
			return errorf(IllegalOperation, "route %s is not a masked prefix", p)
		}
	}
	if !sortedUnique(ps, comparePrefix) {
		return errorf(NonCanonical, "routes are not sorted and unique")
	}
	return nil
}

func validEndpoints(es []netip.AddrPort, max int) error {
	if len(es) > max {
		return errorf(LimitExceeded, "%d endpoints exceed the limit of %d", len(es), max)
	}
	for _, e := range es {
		if !e.IsValid() || e.Port() == 0 || e.Addr().IsUnspecified() || e.Addr().Zone() != "" || e.Addr().Is4In6() {
			return errorf(IllegalOperation, "endpoint %s is not an IP address with a non-zero port", e)
		}
	}
	if !sortedUnique(es, compareAddrPort) {
		return errorf(NonCanonical, "endpoints are not sorted and unique")
	}
	return nil
}

func validTags(ts []string, max int) error {
	if len(ts) > max {
		return errorf(LimitExceeded, "%d tags exceed the limit of %d", len(ts), max)
	}
	for _, t := range ts {
		if !validTag(t) {
			return errorf(IllegalOperation, "tag %q is not 1-63 characters of [a-z0-9-]", t)
		}
	}
	if !sortedUnique(ts, strings.Compare) {
		return errorf(NonCanonical, "tags are not sorted and unique")
	}
	return nil
}

// validateNode checks one node record on its own (not against a state).
func validateNode(n *Node, l *Limits) error {
	if !validID(n.ID) {
		return errorf(IllegalOperation, "node id %q is not 1-63 characters of [a-z0-9._-]", n.ID)
	}
	if n.PublicKey == (NodeKey{}) {
		return errorf(IllegalOperation, "node %s: public key is all zeroes", n.ID)
	}
	if n.Status != StatusActive && n.Status != StatusRevoked {
		return errorf(IllegalOperation, "node %s: status %q is not active or revoked", n.ID, n.Status)
	}
	if !printableASCII(n.Owner) {
		return errorf(IllegalOperation, "node %s: owner must be printable ASCII", n.ID)
	}
	if len(n.Owner) > l.MaxOwnerLen {
		return errorf(LimitExceeded, "node %s: owner is %d bytes, the limit is %d", n.ID, len(n.Owner), l.MaxOwnerLen)
	}
	for _, check := range []func() error{
		func() error { return validAddresses(n.Addresses, l.MaxAddresses) },
		func() error { return validEndpoints(n.Endpoints, l.MaxEndpoints) },
		func() error { return validTags(n.Tags, l.MaxTags) },
		func() error { return validRoutes(n.Routes, l.MaxRoutes) },
	} {
		if err := check(); err != nil {
			e := err.(*Error)
			return &Error{Code: e.Code, Msg: "node " + n.ID + ": " + e.Msg}
		}
	}
	return nil
}

func validateApprover(a *Approver) error {
	if !validID(a.ID) {
		return errorf(IllegalOperation, "approver id %q is not 1-63 characters of [a-z0-9._-]", a.ID)
	}
	if a.Role != RoleApprover && a.Role != RoleOwner {
		return errorf(IllegalOperation, "approver %s: role %q is not approver or owner", a.ID, a.Role)
	}
	if smallOrderKey(a.PublicKey) {
		return errorf(IllegalOperation, "approver %s: key %s is a small-order point, whose signatures anyone can make", a.ID, a.PublicKey)
	}
	return nil
}

// smallOrder holds the y-coordinates (little-endian, sign bit clear) of the
// Ed25519 points of small order: 0, 1, the two of order 8, p-1, and the
// non-canonical encodings p and p+1 of 0 and 1 — the blocklist of
// libsodium's ge25519_has_small_order. Under such a key, signatures that
// need no secret verify (under the identity, R = identity and S = 0
// verifies every message), so it would prove no possession and would let
// anyone sign as that approver.
var smallOrder = [...][32]byte{
	{},
	{0x01},
	{0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05},
	{0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10, 0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77, 0x92, 0xac, 0x03, 0x7a},
	{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	{0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	{0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
}

// smallOrderKey reports whether k encodes a point of small order.
func smallOrderKey(k ApproverKey) bool {
	k[31] &= 0x7f // the sign of x does not change the order
	for _, s := range smallOrder {
		if k == s {
			return true
		}
	}
	return false
}

// Normalize sorts and de-duplicates n's lists into canonical order, so a
// node built from operator input encodes canonically.
func (n *Node) Normalize() {
	n.Addresses = normPrefixes(n.Addresses)
	n.Routes = normPrefixes(n.Routes)
	slices.SortFunc(n.Endpoints, compareAddrPort)
	n.Endpoints = slices.Compact(n.Endpoints)
	slices.Sort(n.Tags)
	n.Tags = slices.Compact(n.Tags)
}

func normPrefixes(ps []netip.Prefix) []netip.Prefix {
	slices.SortFunc(ps, comparePrefix)
	return slices.Compact(ps)
}

// overlapsAny reports the first prefix of ps that overlaps one of qs. Two
// host prefixes (mesh addresses are) overlap when their addresses are
// equal, which is decided without Overlaps' masking: checkUnique asks it
// of every node on every update.
func overlapsAny(ps, qs []netip.Prefix) (netip.Prefix, bool) {
	for _, p := range ps {
		for _, q := range qs {
			if p.IsSingleIP() && q.IsSingleIP() {
				if p.Addr() == q.Addr() {
					return p, true
				}
				continue
			}
			if p.Overlaps(q) {
				return p, true
			}
		}
	}
	return netip.Prefix{}, false
}
