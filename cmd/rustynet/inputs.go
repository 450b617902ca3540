package main

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/rustynet/rustynet/core/membership"
)

// This file parses operator input given in flags. Errors are plain: the
// caller names the flag and reports a usage error.

// parseNodeKey parses a node's WireGuard public key.
func parseNodeKey(s string) (membership.NodeKey, error) {
	k, err := membership.ParseNodeKey(s)
	if err != nil {
		return k, fmt.Errorf("%q is not a node public key (non-zero, 32 bytes of standard base64, as `wg pubkey` prints)", s)
	}
	return k, nil
}

// parseApproverKey parses an approver's Ed25519 public key.
func parseApproverKey(s string) (membership.ApproverKey, error) {
	k, err := membership.ParseApproverKey(s)
	if err != nil {
		return k, fmt.Errorf("%q is not an approver public key (32 bytes of standard base64, as `rustynet key public` prints)", s)
	}
	return k, nil
}

// parseAddresses parses mesh addresses: host prefixes such as
// 100.64.0.1/32, or bare addresses, which mean the host prefix.
func parseAddresses(vs []string) ([]netip.Prefix, error) {
	ps := make([]netip.Prefix, 0, len(vs))
	for _, v := range vs {
		if a, err := netip.ParseAddr(v); err == nil {
			ps = append(ps, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or prefix", v)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// parseRoutes parses advertised routes such as 10.0.0.0/24.
func parseRoutes(vs []string) ([]netip.Prefix, error) {
	ps := make([]netip.Prefix, 0, len(vs))
	for _, v := range vs {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP prefix", v)
		}
		ps = append(ps, p)
	}
	return ps, nil
}

// parseEndpoints parses endpoint hints such as 192.0.2.1:51820 or
// [2001:db8::1]:51820.
func parseEndpoints(vs []string) ([]netip.AddrPort, error) {
	es := make([]netip.AddrPort, 0, len(vs))
	for _, v := range vs {
		e, err := netip.ParseAddrPort(v)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP:port endpoint", v)
		}
		es = append(es, e)
	}
	return es, nil
}

// parseApproverSpec parses ID=PUBKEY[:owner] (or :approver, the default).
// Base64 has no ':', so the role suffix is unambiguous.
func parseApproverSpec(s string) (membership.Approver, error) {
	id, rest, ok := strings.Cut(s, "=")
	if !ok {
		return membership.Approver{}, fmt.Errorf("%q: want ID=PUBKEY[:owner]", s)
	}
	key, role, hasRole := strings.Cut(rest, ":")
	a := membership.Approver{ID: id, Role: membership.RoleApprover}
	if hasRole {
		switch membership.Role(role) {
		case membership.RoleOwner, membership.RoleApprover:
			a.Role = membership.Role(role)
		default:
			return a, fmt.Errorf("%q: role %q is not owner or approver", s, role)
		}
	}
	k, err := parseApproverKey(key)
	if err != nil {
		return a, fmt.Errorf("%s: %v", id, err)
	}
	a.PublicKey = k
	return a, nil
}

// parseNodeSpec parses ID=NODEPUBKEY,ADDR[,ADDR...] into an active node.
func parseNodeSpec(s string) (membership.Node, error) {
	id, rest, ok := strings.Cut(s, "=")
	fields := strings.Split(rest, ",")
	if !ok || len(fields) < 2 {
		return membership.Node{}, fmt.Errorf("%q: want ID=NODEPUBKEY,ADDR[,ADDR...]", s)
	}
	n := membership.Node{ID: id, Status: membership.StatusActive}
	var err error
	if n.PublicKey, err = parseNodeKey(fields[0]); err != nil {
		return n, fmt.Errorf("%s: %v", id, err)
	}
	if n.Addresses, err = parseAddresses(fields[1:]); err != nil {
		return n, fmt.Errorf("%s: %v", id, err)
	}
	return n, nil
}
