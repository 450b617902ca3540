package policy

import (
	"fmt"
	"net/netip"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

// Decision is the verdict on one new connection.
type Decision struct {
	Allow bool
	// Rule is the name of the rule that allows the connection ("" when it
	// is denied); the first in name order if several do.
	Rule string
	// Context is the context the connection falls in; "" if it was denied
	// before one was found (an unknown or revoked node).
	Context membership.Context
	// Via is the node whose filter decides: the destination node (mesh),
	// the router that serves the address (router), an exit node (exit).
	Via string
	// Reason says why, in words.
	Reason string
}

// Decide says whether a new connection from src to dst with protocol
// proto (tcp, udp or icmp) and destination port port is allowed under
// policy p and the trusted state s, and which rule allows it
// (docs/policy.md §4). src is a node id or mesh address; dst a node id or
// an address: a mesh address or node is the mesh context, an address an
// active router serves the router context, any other address the exit
// context. It is the decision the compiled filter (Compile) of the node
// that receives the connection makes.
func Decide(p *membership.Policy, s *membership.State, src, dst string, proto hostapi.Proto, port uint16) Decision {
	deny := func(ctx membership.Context, via, format string, args ...any) Decision {
		return Decision{Context: ctx, Via: via, Reason: fmt.Sprintf(format, args...)}
	}
	if s == nil {
		return deny("", "", "there is no trusted membership")
	}
	v := newView(s)
	from, why := v.member(src, "src")
	if from == nil {
		return deny("", "", "%s", why)
	}
	if proto != hostapi.ProtoTCP && proto != hostapi.ProtoUDP && proto != hostapi.ProtoICMP {
		return deny("", "", "a connection is tcp, udp or icmp")
	}
	if p == nil {
		return deny("", "", "the state has no policy: everything is denied")
	}

	addr, err := netip.ParseAddr(dst)
	var to *membership.Node
	if err != nil {
		if to, why = v.member(dst, "dst"); to == nil {
			return deny("", "", "%s", why)
		}
	} else {
		addr = addr.Unmap()
		if n := v.byAddr(addr); n != nil {
			if to, why = v.member(n.ID, "dst"); to == nil {
				return deny("", "", "%s", why)
			}
		}
	}

	// Which rules could allow it, and at which node.
	var ctx membership.Context
	var via *membership.Node
	var dstOf func(r *membership.Rule) bool
	switch {
	case to != nil:
		ctx, via = membership.ContextMesh, to
		if to.ID == from.ID {
			return deny(ctx, to.ID, "src and dst are the same node: its traffic does not cross the mesh")
		}
		dstOf = func(r *membership.Rule) bool { return selects(r.Dst, to) }
	case containsAddr(v.routed(), addr):
		ctx = membership.ContextRouter
		routers := v.servingRouters(addr)
		for _, r := range routers {
			if r.ID == from.ID {
				return deny(ctx, r.ID, "src %s serves %s itself: its traffic does not cross the mesh", from.ID, addr)
			}
		}
		via = routers[0]
		dstOf = func(r *membership.Rule) bool { return containsAddr(v.routerDst(r.Dst, via), addr) }
	default:
		ctx = membership.ContextExit
		for _, x := range v.exits() {
			if x.ID != from.ID {
				via = x
				break
			}
		}
		if via == nil {
			return deny(ctx, "", "%s is neither a mesh address nor served by a router, and no active exit node other than src carries it", addr)
		}
		dstOf = func(r *membership.Rule) bool { return containsAddr(v.exitDst(r.Dst), addr) }
	}
	for i := range p.Rules {
		r := &p.Rules[i]
		if r.Context == ctx && selects(r.Src, from) && portsAllow(r.Ports, proto, port) && dstOf(r) {
			return Decision{Allow: true, Rule: r.Name, Context: ctx, Via: via.ID, Reason: fmt.Sprintf("rule %s allows it", r.Name)}
		}
	}
	return deny(ctx, via.ID, "no %s rule allows it", ctx)
}

// member returns the active member named by s (an id or a mesh address),
// or why there is none; what names the argument in the reason.
func (v *view) member(s, what string) (*membership.Node, string) {
	n := v.byID(s)
	if a, err := netip.ParseAddr(s); err == nil {
		n = v.byAddr(a.Unmap())
	}
	switch {
	case n == nil:
		return nil, fmt.Sprintf("%s %s is not a member of network %s", what, s, v.s.NetworkID())
	case !active(n):
		return nil, fmt.Sprintf("%s %s is %s: no rule selects it", what, n.ID, n.Status)
	}
	return n, ""
}

// portsAllow reports whether the port specs ps allow a connection of proto
// to port.
func portsAllow(ps []membership.PortSpec, proto hostapi.Proto, port uint16) bool {
	for _, p := range ps {
		switch p.Proto {
		case membership.ProtoAny:
			return true
		case membership.ProtoICMP:
			if proto == hostapi.ProtoICMP {
				return true
			}
		case membership.ProtoTCP, membership.ProtoUDP:
			want := hostapi.ProtoTCP
			if p.Proto == membership.ProtoUDP {
				want = hostapi.ProtoUDP
			}
			if proto == want && port >= p.First && port <= p.Last {
				return true
			}
		}
	}
	return false
}
