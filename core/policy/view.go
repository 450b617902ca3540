package policy

import (
	"net/netip"
	"slices"
	"strings"

	"github.com/rustynet/rustynet/core/membership"
)

// active is the rule this package rests on (SPEC §7, seed M5): only an
// active member is ever selected, served through, or given a filter. An
// unknown node is no member at all; a revoked one is not active. Every
// check of membership status in the package is this function.
func active(n *membership.Node) bool { return n.Status == membership.StatusActive }

// view resolves selectors against one trusted state: the one place that
// decides what a rule selects (docs/policy.md §2). Only active members are
// ever selected. A view is built per call and not shared.
type view struct {
	s      *membership.State
	all    []*membership.Node // every node, any status, by id (byID searches it); the state's own
	active []*membership.Node // active members, by id

	// Built on first use (a compile of a policy without router or exit
	// rules needs none of them, and a compile runs on every membership
	// change): see byAddr, meshSpace and routed.
	byAddrs   map[netip.Addr]*membership.Node
	byTag     map[string][]*membership.Node // active members by tag (tagged)
	mesh      []netip.Prefix                // every node's mesh addresses, any status
	routes    []netip.Prefix                // what active routers serve
	meshDone  bool
	routeDone bool

	addrMemo map[string][]netip.Prefix // selector list (and excluded node) → addresses
	exitMemo map[string][]netip.Prefix // dst list → exit destinations
	// lastMemo is the addrMemo of the Compiler's previous compile when the
	// node set is the same (addrs reads it; nil otherwise): the addresses
	// a selector list stands for depend on the nodes alone, so a policy
	// change at 10,000 members resolves none of its lists again.
	lastMemo map[string][]netip.Prefix

	scratch *scratch // memory lent by a Compiler, or nil
}

// scratch is memory a view borrows from a Compiler for one compile: what
// a compile of a large state would otherwise allocate afresh every time.
type scratch struct {
	all, active []*membership.Node
	addrs       []netip.Prefix

	// The addrMemo of the last compile (whose lists are never modified)
	// and the digest of the node set it was built on.
	memo      map[string][]netip.Prefix
	memoNodes membership.Hash
}

func newView(s *membership.State) *view { return newViewWith(s, nil) }

// newViewWith is newView on sc's memory (nil: fresh memory); sc must not
// be used by anything else while the view is.
func newViewWith(s *membership.State, sc *scratch) *view {
	count := s.NodeCount()
	v := &view{s: s, addrMemo: map[string][]netip.Prefix{}, exitMemo: map[string][]netip.Prefix{}, scratch: sc}
	// The view points at the state's own nodes, never modified: a compile
	// runs on every membership change, and a copy per node was most of its
	// cost (and of its garbage).
	if sc != nil {
		v.all, v.active = slices.Grow(sc.all[:0], count), slices.Grow(sc.active[:0], count)
		if sc.memo != nil && sc.memoNodes == s.NodesDigest() {
			v.lastMemo = sc.memo
		}
	} else {
		v.all = make([]*membership.Node, 0, count)
		v.active = make([]*membership.Node, 0, count)
	}
	for n := range s.SharedNodes() {
		v.all = append(v.all, n)
		if active(n) {
			v.active = append(v.active, n)
		}
	}
	return v
}

// byID returns the node with id, any status, or nil.
func (v *view) byID(id string) *membership.Node {
	i, ok := slices.BinarySearchFunc(v.all, id, func(n *membership.Node, id string) int { return strings.Compare(n.ID, id) })
	if !ok {
		return nil
	}
	return v.all[i]
}

// byAddr returns the node, any status, one of whose mesh addresses is a,
// or nil.
func (v *view) byAddr(a netip.Addr) *membership.Node {
	if v.byAddrs == nil {
		v.byAddrs = make(map[netip.Addr]*membership.Node, len(v.all))
		for _, n := range v.all {
			for _, p := range n.Addresses {
				v.byAddrs[p.Addr()] = n
			}
		}
	}
	return v.byAddrs[a]
}

// meshSpace returns the aggregate of every node's mesh addresses, any
// status.
func (v *view) meshSpace() []netip.Prefix {
	if !v.meshDone {
		var mesh []netip.Prefix
		for _, n := range v.all {
			mesh = append(mesh, n.Addresses...)
		}
		v.mesh, v.meshDone = aggregate(mesh), true
	}
	return v.mesh
}

// routed returns the aggregate of what active routers serve.
func (v *view) routed() []netip.Prefix {
	if !v.routeDone {
		var routed []netip.Prefix
		for _, n := range v.active {
			routed = append(routed, routerServes(n)...)
		}
		v.routes, v.routeDone = aggregate(routed), true
	}
	return v.routes
}

// selects reports whether the selector list ss selects node n: n is active
// and named by id, carries a named tag, or ss holds members.
func selects(ss []membership.Selector, n *membership.Node) bool {
	if !active(n) {
		return false
	}
	for _, s := range ss {
		switch s.Kind {
		case membership.SelectMembers:
			return true
		case membership.SelectNode:
			if s.Name == n.ID {
				return true
			}
		case membership.SelectTag:
			if n.HasTag(s.Name) {
				return true
			}
		}
	}
	return false
}

// nodes returns the active members ss selects, by id.
func (v *view) nodes(ss []membership.Selector) []*membership.Node {
	var out []*membership.Node
	for _, n := range v.active {
		if selects(ss, n) {
			out = append(out, n)
		}
	}
	return out
}

// eachSelected calls f for each active member ss selects (selects), once
// per selector that selects it: a node may come more than once. Only a
// list that holds members scans every member; a node selector finds its
// node by id, a tag selector its nodes in an index of tags built once per
// view — a policy of 1,000 rules naming nodes compiled at 10,000 members
// otherwise scanned 10,000 nodes per rule.
func (v *view) eachSelected(ss []membership.Selector, f func(*membership.Node)) {
	for _, s := range ss {
		if s.Kind == membership.SelectMembers {
			for _, n := range v.active {
				f(n)
			}
			return
		}
	}
	for _, s := range ss {
		switch s.Kind {
		case membership.SelectNode:
			if n := v.byID(s.Name); n != nil && active(n) {
				f(n)
			}
		case membership.SelectTag:
			for _, n := range v.tagged(s.Name) {
				f(n)
			}
		}
	}
}

// tagged returns the active members tagged tag, by id.
func (v *view) tagged(tag string) []*membership.Node {
	if v.byTag == nil {
		v.byTag = map[string][]*membership.Node{}
		for _, n := range v.active {
			for _, t := range n.Tags {
				v.byTag[t] = append(v.byTag[t], n)
			}
		}
	}
	return v.byTag[tag]
}

// addrs returns the aggregate of the mesh addresses of the active members
// ss selects, except node except.
func (v *view) addrs(ss []membership.Selector, except string) []netip.Prefix {
	key := selectorKey(ss) + "\x00" + except
	if a, ok := v.addrMemo[key]; ok {
		return a
	}
	if a, ok := v.lastMemo[key]; ok {
		v.addrMemo[key] = a
		return a
	}
	// Two passes, so that the list is allocated once at its size (at
	// 10,000 members a growing one was most of a compile's garbage).
	count := 0
	v.eachSelected(ss, func(n *membership.Node) {
		if n.ID != except {
			count += len(n.Addresses)
		}
	})
	var ps []netip.Prefix
	if v.scratch != nil {
		ps = slices.Grow(v.scratch.addrs[:0], count)
	} else {
		ps = make([]netip.Prefix, 0, count)
	}
	v.eachSelected(ss, func(n *membership.Node) {
		if n.ID != except {
			ps = append(ps, n.Addresses...)
		}
	})
	a := aggregateInPlace(ps) // also drops the addresses of a node selected twice
	if v.scratch != nil {
		// The aggregate (short when addresses are contiguous) leaves the
		// scratch memory, which the next call reuses.
		a = slices.Clone(a)
		v.scratch.addrs = ps[:0]
	}
	v.addrMemo[key] = a
	return a
}

// release hands the view's memory back to its scratch (if it has one),
// holding no node, and with it the lists this compile resolved (only
// those: the memo does not grow with every policy a node has had). The
// view must not be used afterwards.
func (v *view) release() {
	if v.scratch == nil {
		return
	}
	clear(v.all)
	clear(v.active)
	v.scratch.all, v.scratch.active = v.all[:0], v.active[:0]
	v.scratch.memo, v.scratch.memoNodes = v.addrMemo, v.s.NodesDigest()
}

// prefixes returns the prefixes among ss.
func prefixes(ss []membership.Selector) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range ss {
		if s.Kind == membership.SelectPrefix {
			out = append(out, s.Prefix)
		}
	}
	return out
}

// routerDst returns what a router rule's dst ss reaches through router r:
// its prefixes within what r serves, without the mesh space.
func (v *view) routerDst(ss []membership.Selector, r *membership.Node) []netip.Prefix {
	served := routerServes(r)
	if len(served) == 0 {
		return nil
	}
	return subtract(intersect(prefixes(ss), served), v.meshSpace())
}

// exitDst returns what an exit rule's dst ss reaches through an exit node:
// internet (the public space) and its prefixes, without the mesh space and
// the routed space.
func (v *view) exitDst(ss []membership.Selector) []netip.Prefix {
	key := selectorKey(ss)
	if d, ok := v.exitMemo[key]; ok {
		return d
	}
	ps := prefixes(ss)
	if slices.ContainsFunc(ss, func(s membership.Selector) bool { return s.Kind == membership.SelectInternet }) {
		ps = append(ps, publicSpace()...)
	}
	d := subtract(ps, append(slices.Clone(v.meshSpace()), v.routed()...))
	v.exitMemo[key] = d
	return d
}

// servingRouters returns the active routers that serve addr, by id.
func (v *view) servingRouters(addr netip.Addr) []*membership.Node {
	var out []*membership.Node
	for _, n := range v.active {
		if containsAddr(routerServes(n), addr) {
			out = append(out, n)
		}
	}
	return out
}

// exits returns the active exit nodes, by id.
func (v *view) exits() []*membership.Node {
	var out []*membership.Node
	for _, n := range v.active {
		if isExit(n) {
			out = append(out, n)
		}
	}
	return out
}

func selectorKey(ss []membership.Selector) string {
	var b strings.Builder
	for _, s := range ss {
		b.WriteString(s.String())
		b.WriteByte(' ')
	}
	return b.String()
}
