package membership

import (
	"cmp"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// This file is the access policy document of schema version 2 (the
// encoding doc, §13.3): its types, the one spelling of each value, and the
// normalisation of operator input. What a policy means is package
// core/policy's; here it is a record like any other.

// Policy is a network's access policy: allow rules, everything else
// denied. Rules are sorted by Name and unique. Values held by a State are
// never modified; use Clone for a copy to change.
type Policy struct {
	Rules []Rule
}

// Rule allows traffic from what Src selects to what Dst selects, for the
// protocols and ports of Ports, in one Context.
type Rule struct {
	Name    string // an id
	Context Context
	Src     []Selector // sorted by spelling, unique
	Dst     []Selector // sorted by spelling, unique
	Ports   []PortSpec // canonical order (SortPortSpecs)
}

// Context is the kind of traffic a rule applies to.
type Context string

// Rule contexts.
const (
	// ContextMesh: node to node inside the tunnel.
	ContextMesh Context = "mesh"
	// ContextRouter: a node to a subnet a router serves.
	ContextRouter Context = "router"
	// ContextExit: a node to the internet through an exit node.
	ContextExit Context = "exit"
)

// SelectorKind says what a Selector names.
type SelectorKind uint8

// Selector kinds. The zero value is no selector.
const (
	SelectNode     SelectorKind = iota + 1 // node:ID
	SelectTag                              // tag:NAME
	SelectMembers                          // members
	SelectInternet                         // internet
	SelectPrefix                           // a prefix
)

// Selector is one element of a rule's Src or Dst.
type Selector struct {
	Kind   SelectorKind
	Name   string       // the node id (SelectNode) or tag (SelectTag)
	Prefix netip.Prefix // SelectPrefix
}

// Selector spellings.
const (
	selectorNodePrefix = "node:"
	selectorTagPrefix  = "tag:"
	selectorMembers    = "members"
	selectorInternet   = "internet"
)

// NodeSelector returns the selector of node id.
func NodeSelector(id string) Selector { return Selector{Kind: SelectNode, Name: id} }

// TagSelector returns the selector of the nodes carrying tag.
func TagSelector(tag string) Selector { return Selector{Kind: SelectTag, Name: tag} }

// MembersSelector returns the selector of every member.
func MembersSelector() Selector { return Selector{Kind: SelectMembers} }

// InternetSelector returns the selector of the internet (exit rules).
func InternetSelector() Selector { return Selector{Kind: SelectInternet} }

// PrefixSelector returns the selector of the addresses in p.
func PrefixSelector(p netip.Prefix) Selector { return Selector{Kind: SelectPrefix, Prefix: p} }

// String returns the selector's one spelling; "" for the zero Selector.
func (s Selector) String() string {
	switch s.Kind {
	case SelectNode:
		return selectorNodePrefix + s.Name
	case SelectTag:
		return selectorTagPrefix + s.Name
	case SelectMembers:
		return selectorMembers
	case SelectInternet:
		return selectorInternet
	case SelectPrefix:
		return s.Prefix.String()
	}
	return ""
}

// ParseSelector parses a selector. It fails (ILLEGAL_OPERATION) for a
// string that is no selector at all; a selector spelled otherwise than
// String would spell it (a non-canonical prefix) parses, and the encoding's
// byte-identity check refuses it. Whether the selector is allowed where it
// appears is ValidateRule's business.
func ParseSelector(s string) (Selector, error) {
	switch {
	case s == selectorMembers:
		return MembersSelector(), nil
	case s == selectorInternet:
		return InternetSelector(), nil
	case strings.HasPrefix(s, selectorNodePrefix):
		if id := s[len(selectorNodePrefix):]; validID(id) {
			return NodeSelector(id), nil
		}
	case strings.HasPrefix(s, selectorTagPrefix):
		if t := s[len(selectorTagPrefix):]; validTag(t) {
			return TagSelector(t), nil
		}
	case strings.Contains(s, "/"):
		if p, err := netip.ParsePrefix(s); err == nil {
			return PrefixSelector(p), nil
		}
	}
	return Selector{}, errorf(IllegalOperation, "%q is not a selector (node:ID, tag:NAME, members, internet or a prefix)", s)
}

// Proto is a protocol of a port spec.
type Proto string

// Protocols of port specs.
const (
	ProtoAny  Proto = "any"  // every packet
	ProtoICMP Proto = "icmp" // ICMP and ICMPv6
	ProtoTCP  Proto = "tcp"
	ProtoUDP  Proto = "udp"
)

// PortSpec is one element of a rule's Ports: a protocol and, for TCP and
// UDP, an inclusive range of destination ports (1–65535 for the bare
// protocol). For any and icmp, First and Last are 0.
type PortSpec struct {
	Proto       Proto
	First, Last uint16
}

// HasPorts reports whether p's protocol has ports (tcp, udp).
func (p Proto) HasPorts() bool { return p == ProtoTCP || p == ProtoUDP }

// AllPorts returns the spec of every port of proto (tcp, udp), or proto
// itself (any, icmp).
func AllPorts(proto Proto) PortSpec {
	if proto.HasPorts() {
		return PortSpec{Proto: proto, First: 1, Last: 65535}
	}
	return PortSpec{Proto: proto}
}

// String returns the spec's one spelling.
func (p PortSpec) String() string {
	if !p.Proto.HasPorts() || p.First == 1 && p.Last == 65535 {
		return string(p.Proto)
	}
	s := string(p.Proto) + "/" + strconv.Itoa(int(p.First))
	if p.Last != p.First {
		s += "-" + strconv.Itoa(int(p.Last))
	}
	return s
}

// ParsePortSpec parses a port spec: any, icmp, tcp, udp, tcp/P, tcp/P-Q
// (udp alike). It fails (ILLEGAL_OPERATION) for a string that is no port
// spec: an unknown protocol, ports on any or icmp, a port outside 1–65535,
// a range whose first port is above its last. Another spelling of a spec
// (tcp/22-22, tcp/022, tcp/1-65535) parses, and the encoding's
// byte-identity check refuses it.
func ParsePortSpec(s string) (PortSpec, error) {
	bad := func() (PortSpec, error) {
		return PortSpec{}, errorf(IllegalOperation, "%q is not a port spec (any, icmp, tcp, udp, tcp/PORT, tcp/FIRST-LAST, udp/…)", s)
	}
	name, ports, hasPorts := strings.Cut(s, "/")
	proto := Proto(name)
	switch proto {
	case ProtoAny, ProtoICMP, ProtoTCP, ProtoUDP:
	default:
		return bad()
	}
	if !hasPorts {
		return AllPorts(proto), nil
	}
	if !proto.HasPorts() {
		return bad()
	}
	first, last, isRange := strings.Cut(ports, "-")
	f, ok := parsePort(first)
	if !ok {
		return bad()
	}
	l := f
	if isRange {
		if l, ok = parsePort(last); !ok || l < f {
			return bad()
		}
	}
	return PortSpec{Proto: proto, First: f, Last: l}, nil
}

// validRange reports whether p's range is a range of ports: 1 ≤ First ≤ Last.
func (p PortSpec) validRange() bool { return p.First >= 1 && p.First <= p.Last }

// parsePort parses a decimal port 1–65535 (digits only: no sign).
func parsePort(s string) (uint16, bool) {
	if s == "" || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, false
	}
	return uint16(n), true
}

// comparePortSpec is the frozen order of port specs: protocol name in byte
// order, then first port.
func comparePortSpec(a, b PortSpec) int {
	if c := strings.Compare(string(a.Proto), string(b.Proto)); c != 0 {
		return c
	}
	return cmp.Compare(a.First, b.First)
}

// compareSelector is the frozen order of selectors: by spelling, bytes.
func compareSelector(a, b Selector) int { return strings.Compare(a.String(), b.String()) }

// Clone returns a deep copy of p (nil for nil).
func (p *Policy) Clone() *Policy {
	if p == nil {
		return nil
	}
	c := &Policy{Rules: make([]Rule, len(p.Rules))}
	for i, r := range p.Rules {
		r.Src = slices.Clone(r.Src)
		r.Dst = slices.Clone(r.Dst)
		r.Ports = slices.Clone(r.Ports)
		c.Rules[i] = r
	}
	return c
}

// Rule returns the rule named name.
func (p *Policy) Rule(name string) (Rule, bool) {
	if p == nil {
		return Rule{}, false
	}
	i, ok := slices.BinarySearchFunc(p.Rules, name, func(r Rule, n string) int { return strings.Compare(r.Name, n) })
	if !ok {
		return Rule{}, false
	}
	return p.Rules[i], true
}

// Normalize puts operator input into canonical form without changing what
// it allows: rules sorted by name, selector lists sorted and without
// repeats, and port lists as the one spelling of their set (any absorbs
// everything; overlapping or touching ranges of a protocol merged).
// Repeated rule names are left for validation to refuse.
func (p *Policy) Normalize() {
	slices.SortStableFunc(p.Rules, func(a, b Rule) int { return strings.Compare(a.Name, b.Name) })
	for i := range p.Rules {
		p.Rules[i].Normalize()
	}
}

// Normalize puts r's lists into canonical form (see Policy.Normalize).
func (r *Rule) Normalize() {
	r.Src = normSelectors(r.Src)
	r.Dst = normSelectors(r.Dst)
	r.Ports = NormalizePorts(r.Ports)
}

// normSelectors sorts and de-duplicates ss. It leaves an unmasked prefix
// as it is, for validation to refuse: masking it would change what the
// operator wrote.
func normSelectors(ss []Selector) []Selector {
	ss = slices.Clone(ss)
	slices.SortFunc(ss, compareSelector)
	return slices.Compact(ss)
}

// NormalizePorts returns the one spelling of the set of ports ps allows:
// only any if it holds any; otherwise icmp once, and each protocol's
// ranges sorted with overlapping and touching ones merged. Specs with an
// unknown protocol or an empty range are kept as they are, for validation
// to refuse.
func NormalizePorts(ps []PortSpec) []PortSpec {
	ps = slices.Clone(ps)
	if slices.ContainsFunc(ps, func(p PortSpec) bool { return p.Proto == ProtoAny }) {
		return []PortSpec{AllPorts(ProtoAny)}
	}
	slices.SortFunc(ps, func(a, b PortSpec) int {
		if c := comparePortSpec(a, b); c != 0 {
			return c
		}
		return cmp.Compare(a.Last, b.Last)
	})
	out := ps[:0]
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].Proto == p.Proto {
			last := &out[n-1]
			switch {
			case p.Proto == ProtoICMP:
				continue // icmp twice
			case p.Proto.HasPorts() && last.validRange() && p.validRange() && int(p.First) <= int(last.Last)+1:
				last.Last = max(last.Last, p.Last)
				continue
			}
		}
		out = append(out, p)
	}
	return slices.Clip(out)
}

// DefaultPolicy returns the policy `membership init` writes unless told
// otherwise: every active member may reach every other member, with any
// protocol, in the mesh context.
func DefaultPolicy() *Policy {
	return &Policy{Rules: []Rule{{
		Name:    "allow-members",
		Context: ContextMesh,
		Src:     []Selector{MembersSelector()},
		Dst:     []Selector{MembersSelector()},
		Ports:   []PortSpec{AllPorts(ProtoAny)},
	}}}
}
