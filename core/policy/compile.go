package policy

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"sync"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

// Options are the local facts Compile needs beside the signed state.
type Options struct {
	// Serve: self forwards for its peers what its signed record allows —
	// its routes if it is tagged "router", the internet if it is tagged
	// "exit" — as reconcile.Options.Serve. Without it, router and exit rules
	// compile to nothing at self: local configuration can only narrow what
	// the signed state allows, never widen it.
	Serve bool
	// MeshServicePort, if not 0, is the TCP port of the node agent's own
	// service (the exchange of membership heads, core/gossip): every
	// active member may reach it at self's mesh addresses, whatever the
	// policy says and even in a state without one. It is how members stay
	// consistent, and nothing else is served on it.
	MeshServicePort uint16
}

// Compile returns the ingress filter node self enforces on the traffic
// that arrives from its peers under policy p and the trusted state s
// (docs/policy.md §3): for each rule, from the mesh addresses of the active
// members its src selects (other than self) to what its dst reaches at
// self — self's mesh addresses for a mesh rule that selects self, the
// served part of a router rule's prefixes, the exit destinations of an exit
// rule — for its protocols and ports.
//
// The result is deterministic and aggregated: prefix lists are aggregates,
// rules with the same sources and destinations share one rule per protocol,
// rules that differ only in sources or only in destinations are merged, and
// rules are sorted; merging never changes what is allowed. It has at most
// three rules per rule of p, and one more for Options.MeshServicePort. It
// is empty (deny everything) when s is nil or self is not an active
// member, and holds only the mesh service's rule when p is nil. p must be a valid policy
// (membership.ValidatePolicy; a state's policy always is). Compile never
// modifies p or s.
func Compile(p *membership.Policy, s *membership.State, self string, opts Options) hostapi.Filter {
	return compile(p, s, self, opts, nil)
}

// A Compiler compiles as Compile does, reusing its working memory from
// one compile to the next: a node recompiles its filter on every
// membership change, and at 10,000 members a compile's fresh lists were
// most of the daemon's garbage per update. A filter it returns shares no
// memory with it. Compiles through one Compiler are serialized; the zero
// value is ready to use.
type Compiler struct {
	mu sync.Mutex
	sc scratch
}

// Compile is Compile on c's memory.
func (c *Compiler) Compile(p *membership.Policy, s *membership.State, self string, opts Options) hostapi.Filter {
	c.mu.Lock()
	defer c.mu.Unlock()
	return compile(p, s, self, opts, &c.sc)
}

func compile(p *membership.Policy, s *membership.State, self string, opts Options, sc *scratch) hostapi.Filter {
	if s == nil || (p == nil && opts.MeshServicePort == 0) {
		return hostapi.Filter{}
	}
	if p == nil {
		p = &membership.Policy{}
	}
	v := newViewWith(s, sc)
	defer v.release()
	v.addrMemo = make(map[string][]netip.Prefix, len(p.Rules)+1) // at most one list per rule: grown once
	me := v.byID(self)
	if me == nil || !active(me) {
		return hostapi.Filter{}
	}
	atoms := make([]atom, 0, len(p.Rules)+1)
	if port := opts.MeshServicePort; port != 0 {
		src := v.addrs([]membership.Selector{{Kind: membership.SelectMembers}}, self)
		if dst := aggregate(me.Addresses); len(src) > 0 && len(dst) > 0 {
			atoms = append(atoms, atom{src: src, dst: dst, ports: []membership.PortSpec{{Proto: membership.ProtoTCP, First: port, Last: port}}})
		}
	}
	for i := range p.Rules {
		r := &p.Rules[i]
		dst := v.dstAt(r, me, opts.Serve)
		if len(dst) == 0 {
			continue
		}
		src := v.addrs(r.Src, self)
		if len(src) == 0 {
			continue
		}
		atoms = append(atoms, atom{src: src, dst: dst, ports: r.Ports})
	}
	return merge(atoms)
}

// dstAt returns what rule r lets traffic reach at node me (active).
func (v *view) dstAt(r *membership.Rule, me *membership.Node, serve bool) []netip.Prefix {
	switch r.Context {
	case membership.ContextMesh:
		if selects(r.Dst, me) {
			return aggregate(me.Addresses)
		}
	case membership.ContextRouter:
		if serve {
			return v.routerDst(r.Dst, me)
		}
	case membership.ContextExit:
		if serve && isExit(me) {
			return v.exitDst(r.Dst)
		}
	}
	return nil
}

// atom is one rule's contribution at one node: aggregates of sources and
// destinations, and its port specs.
type atom struct {
	src, dst []netip.Prefix
	ports    []membership.PortSpec
}

// merge turns atoms into the aggregated, sorted filter.
func merge(atoms []atom) hostapi.Filter {
	// Atoms with the same sources and destinations: one port set.
	type pair struct {
		src, dst []netip.Prefix
		ports    []membership.PortSpec
	}
	pairs := make(map[string]*pair, len(atoms))
	order := make([]*pair, 0, len(atoms))
	var k []byte
	for _, a := range atoms {
		k = appendPrefixesKey(appendPrefixesKey(k[:0], a.src), a.dst)
		p := pairs[string(k)]
		if p == nil {
			p = &pair{src: a.src, dst: a.dst}
			pairs[string(k)] = p
			order = append(order, p)
		}
		p.ports = append(p.ports, a.ports...)
	}
	rules := make([]hostapi.FilterRule, 0, len(order)) // one per protocol: most pairs have one
	for _, p := range order {
		rules = append(rules, filterRules(p.src, p.dst, membership.NormalizePorts(p.ports))...)
	}
	// Rules that differ only in sources, then only in destinations. Which
	// rules merge depends only on their keys, and the result is sorted, so
	// the filter does not depend on the order of atoms.
	rules = unionBy(rules, func(k []byte, r *hostapi.FilterRule) []byte { return appendServiceKey(appendPrefixesKey(k, r.Dst), r) },
		func(into *hostapi.FilterRule, r hostapi.FilterRule) { into.Src = aggregate(append(into.Src, r.Src...)) })
	rules = unionBy(rules, func(k []byte, r *hostapi.FilterRule) []byte { return appendServiceKey(appendPrefixesKey(k, r.Src), r) },
		func(into *hostapi.FilterRule, r hostapi.FilterRule) { into.Dst = aggregate(append(into.Dst, r.Dst...)) })
	slices.SortFunc(rules, compareRules)
	return hostapi.Filter{Rules: rules}
}

// filterRules returns the rules of one source and destination set for the
// canonical port specs ps: one per protocol.
func filterRules(src, dst []netip.Prefix, ps []membership.PortSpec) []hostapi.FilterRule {
	rule := func(proto hostapi.Proto, ports []hostapi.PortRange) hostapi.FilterRule {
		return hostapi.FilterRule{Src: slices.Clone(src), Dst: slices.Clone(dst), Proto: proto, Ports: ports}
	}
	var out []hostapi.FilterRule
	var tcp, udp []hostapi.PortRange
	for _, p := range ps {
		switch p.Proto {
		case membership.ProtoAny:
			return []hostapi.FilterRule{rule(hostapi.ProtoAny, nil)}
		case membership.ProtoICMP:
			out = append(out, rule(hostapi.ProtoICMP, nil))
		case membership.ProtoTCP:
			tcp = append(tcp, hostapi.PortRange{First: p.First, Last: p.Last})
		case membership.ProtoUDP:
			udp = append(udp, hostapi.PortRange{First: p.First, Last: p.Last})
		}
	}
	if len(tcp) > 0 {
		out = append(out, rule(hostapi.ProtoTCP, tcp))
	}
	if len(udp) > 0 {
		out = append(out, rule(hostapi.ProtoUDP, udp))
	}
	return out
}

// unionBy merges the rules with the same key (appended by key to its
// first argument) into the first of them, in order. It reuses rules's
// array: each rule is read before its place is written.
func unionBy(rules []hostapi.FilterRule, key func([]byte, *hostapi.FilterRule) []byte, join func(into *hostapi.FilterRule, r hostapi.FilterRule)) []hostapi.FilterRule {
	at := make(map[string]int, len(rules))
	out := rules[:0]
	var k []byte
	for i := range rules {
		k = key(k[:0], &rules[i])
		if j, ok := at[string(k)]; ok {
			join(&out[j], rules[i])
			continue
		}
		at[string(k)] = len(out)
		out = append(out, rules[i])
	}
	return out
}

// appendPrefixesKey appends a key of prefix list ps to b: its length, then
// each prefix in a fixed 18 bytes (family, 16 address bytes, length), so
// two lists append the same bytes exactly when they are equal, and a key
// of several lists is unambiguous.
func appendPrefixesKey(b []byte, ps []netip.Prefix) []byte {
	b = binary.AppendUvarint(b, uint64(len(ps)))
	for _, p := range ps {
		family := byte(6)
		if p.Addr().Is4() {
			family = 4
		}
		a := p.Addr().As16()
		b = append(b, family)
		b = append(b, a[:]...)
		b = append(b, byte(p.Bits()))
	}
	return b
}

// appendServiceKey appends a key of r's protocol and ports to b, in fixed
// widths after their count.
func appendServiceKey(b []byte, r *hostapi.FilterRule) []byte {
	b = append(b, byte(r.Proto))
	b = binary.AppendUvarint(b, uint64(len(r.Ports)))
	for _, p := range r.Ports {
		b = binary.BigEndian.AppendUint16(b, p.First)
		b = binary.BigEndian.AppendUint16(b, p.Last)
	}
	return b
}

// compareRules orders filter rules by destinations, sources, protocol and
// ports.
func compareRules(a, b hostapi.FilterRule) int {
	if c := slices.CompareFunc(a.Dst, b.Dst, comparePrefix); c != 0 {
		return c
	}
	if c := slices.CompareFunc(a.Src, b.Src, comparePrefix); c != 0 {
		return c
	}
	if a.Proto != b.Proto {
		return int(a.Proto) - int(b.Proto)
	}
	return slices.CompareFunc(a.Ports, b.Ports, func(x, y hostapi.PortRange) int {
		if x.First != y.First {
			return int(x.First) - int(y.First)
		}
		return int(x.Last) - int(y.Last)
	})
}
