package policy

import (
	"fmt"
	"slices"

	"github.com/rustynet/rustynet/core/membership"
)

// Finding is something in a policy that has no effect in a membership: a
// selector or a rule that selects nothing. A valid policy may have
// findings (it may name nodes that are yet to be added); they are for the
// people who write it.
type Finding struct {
	Rule     string // the rule's name; "" for the whole policy
	Selector string // the selector's spelling; "" for the whole rule
	Msg      string
}

// String returns the finding on one line.
func (f Finding) String() string {
	switch {
	case f.Rule == "":
		return f.Msg
	case f.Selector == "":
		return fmt.Sprintf("rule %s: %s", f.Rule, f.Msg)
	}
	return fmt.Sprintf("rule %s: %s: %s", f.Rule, f.Selector, f.Msg)
}

// Check returns what in p selects nothing in the trusted state s, rule by
// rule in name order (docs/policy.md §6): a node selector naming no member
// or a revoked one, a tag no active member carries, a router prefix no
// active router serves, an exit prefix that is all mesh or routed space,
// and every rule that matches no connection at all (no source, no
// destination, no exit node). A policy without rules is a finding too.
func Check(p *membership.Policy, s *membership.State) []Finding {
	if p == nil {
		return []Finding{{Msg: "there is no policy: everything is denied"}}
	}
	if len(p.Rules) == 0 {
		return []Finding{{Msg: "the policy has no rules: it allows nothing"}}
	}
	v := newView(s)
	var out []Finding
	for i := range p.Rules {
		r := &p.Rules[i]
		add := func(sel, format string, args ...any) {
			out = append(out, Finding{Rule: r.Name, Selector: sel, Msg: fmt.Sprintf(format, args...)})
		}
		for _, list := range [][]membership.Selector{r.Src, r.Dst} {
			for _, sel := range list {
				switch sel.Kind {
				case membership.SelectNode:
					if n := v.byID(sel.Name); n == nil {
						add(sel.String(), "no node %s in the membership: selects nothing", sel.Name)
					} else if !active(n) {
						add(sel.String(), "node %s is %s: selects nothing while it is", sel.Name, n.Status)
					}
				case membership.SelectTag:
					if len(v.nodes([]membership.Selector{sel})) == 0 {
						add(sel.String(), "no active member carries tag %s: selects nothing", sel.Name)
					}
				case membership.SelectPrefix:
					one := []membership.Selector{sel}
					switch r.Context {
					case membership.ContextRouter:
						if !v.anyRouterDst(one) {
							add(sel.String(), "no active router serves any of it (outside mesh addresses): selects nothing")
						}
					case membership.ContextExit:
						if len(subtract(prefixes(one), slices.Concat(v.meshSpace(), v.routed()))) == 0 {
							add(sel.String(), "it is all mesh addresses or routed subnets, which no exit node carries: selects nothing")
						}
					}
				}
			}
		}
		if why := v.matchesNothing(r); why != "" {
			add("", "matches nothing: %s", why)
		}
	}
	return out
}

// anyRouterDst reports whether a router rule's dst ss reaches anything
// through some active router.
func (v *view) anyRouterDst(ss []membership.Selector) bool {
	for _, n := range v.active {
		if len(v.routerDst(ss, n)) > 0 {
			return true
		}
	}
	return false
}

// matchesNothing says why rule r allows no connection in the view's
// membership: no node compiles anything from it. "" if some node does.
func (v *view) matchesNothing(r *membership.Rule) string {
	src := v.nodes(r.Src)
	if len(src) == 0 {
		return "src selects no active member"
	}
	// receivers: where the rule could compile to something, and what it
	// reaches there.
	found := false
	var receivers []*membership.Node
	switch r.Context {
	case membership.ContextMesh:
		receivers = v.nodes(r.Dst)
		if len(receivers) == 0 {
			return "dst selects no active member"
		}
	case membership.ContextRouter:
		for _, n := range v.active {
			if len(v.routerDst(r.Dst, n)) > 0 {
				receivers = append(receivers, n)
			}
		}
		if len(receivers) == 0 {
			return "no active router serves any of dst"
		}
	case membership.ContextExit:
		receivers = v.exits()
		if len(receivers) == 0 {
			return "there is no active exit node"
		}
		if len(v.exitDst(r.Dst)) == 0 {
			return "dst is all mesh addresses or routed subnets"
		}
	}
	for _, n := range receivers {
		for _, m := range src {
			found = found || m.ID != n.ID
		}
	}
	if !found {
		return "its only source is its only destination"
	}
	return ""
}
