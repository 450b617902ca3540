package membership

import (
	"slices"
	"strings"
)

// ValidatePolicy checks a policy document on its own, by the rules of the
// encoding doc §13.7, and returns the first violation with its code
// (LIMIT_EXCEEDED, NON_CANONICAL, ILLEGAL_OPERATION). A policy never
// depends on the membership: a selector naming no member is valid. l nil
// means DefaultLimits.
func ValidatePolicy(p *Policy, l *Limits) error {
	return validatePolicy(p, EncodePolicy(p), limitsOrDefault(l))
}

// validatePolicy is ValidatePolicy with the canonical encoding of p
// already at hand.
func validatePolicy(p *Policy, enc []byte, l *Limits) error {
	if len(enc) > l.MaxPolicyBytes {
		return errorf(LimitExceeded, "policy is %d bytes, the limit is %d", len(enc), l.MaxPolicyBytes)
	}
	if len(p.Rules) > l.MaxPolicyRules {
		return errorf(LimitExceeded, "policy has %d rules, the limit is %d", len(p.Rules), l.MaxPolicyRules)
	}
	if !sortedUnique(p.Rules, func(a, b Rule) int { return cmpString(a.Name, b.Name) }) {
		return errorf(NonCanonical, "policy rules are not sorted by name and unique")
	}
	for i := range p.Rules {
		if err := ValidateRule(&p.Rules[i], l); err != nil {
			return err
		}
	}
	return nil
}

// ValidateRule checks one rule on its own (§13.7): its name, its context,
// its selectors (allowed where they appear, sorted, unique, within
// MaxRuleSelectors) and its port specs (valid, in their one spelling,
// within MaxRulePorts). Messages name the rule. l nil means DefaultLimits.
func ValidateRule(r *Rule, l *Limits) error {
	l = limitsOrDefault(l)
	if !validID(r.Name) {
		return errorf(IllegalOperation, "rule name %q is not 1-63 characters of [a-z0-9._-]", r.Name)
	}
	err := func() error {
		src, dst, ok := contextSelectors(r.Context)
		if !ok {
			return errorf(IllegalOperation, "context %q is not mesh, router or exit", r.Context)
		}
		if err := validSelectors(r.Src, "src", r.Context, src, l); err != nil {
			return err
		}
		if err := validSelectors(r.Dst, "dst", r.Context, dst, l); err != nil {
			return err
		}
		return validPorts(r.Ports, l)
	}()
	if err != nil {
		return prefixErr(err, "rule %s: ", r.Name)
	}
	return nil
}

// contextSelectors returns the selector kinds a rule of context c may have
// in src and in dst (the table of §13.3).
func contextSelectors(c Context) (src, dst []SelectorKind, ok bool) {
	nodes := []SelectorKind{SelectNode, SelectTag, SelectMembers}
	switch c {
	case ContextMesh:
		return nodes, nodes, true
	case ContextRouter:
		return nodes, []SelectorKind{SelectPrefix}, true
	case ContextExit:
		return nodes, []SelectorKind{SelectInternet, SelectPrefix}, true
	}
	return nil, nil, false
}

func validSelectors(ss []Selector, list string, c Context, allowed []SelectorKind, l *Limits) error {
	if len(ss) == 0 {
		return errorf(IllegalOperation, "%s is empty: a rule selects at least one", list)
	}
	if len(ss) > l.MaxRuleSelectors {
		return errorf(LimitExceeded, "%s has %d selectors, the limit is %d", list, len(ss), l.MaxRuleSelectors)
	}
	for _, s := range ss {
		if !slices.Contains(allowed, s.Kind) {
			return errorf(IllegalOperation, "%s: %q is not allowed in the %s of %s rule", list, s.String(), list, withArticle(string(c)))
		}
		switch s.Kind {
		case SelectNode:
			if !validID(s.Name) {
				return errorf(IllegalOperation, "%s: node id %q is not 1-63 characters of [a-z0-9._-]", list, s.Name)
			}
		case SelectTag:
			if !validTag(s.Name) {
				return errorf(IllegalOperation, "%s: tag %q is not 1-63 characters of [a-z0-9-]", list, s.Name)
			}
		case SelectPrefix:
			if p := s.Prefix; !p.IsValid() || p.Addr().Is4In6() || p.Addr().Zone() != "" || p != p.Masked() {
				return errorf(IllegalOperation, "%s: %s is not a masked prefix", list, p)
			}
		}
	}
	if !sortedUnique(ss, compareSelector) {
		return errorf(NonCanonical, "%s is not sorted by spelling and unique", list)
	}
	return nil
}

func validPorts(ps []PortSpec, l *Limits) error {
	if len(ps) == 0 {
		return errorf(IllegalOperation, "ports is empty: a rule allows at least one protocol")
	}
	if len(ps) > l.MaxRulePorts {
		return errorf(LimitExceeded, "ports has %d port specs, the limit is %d", len(ps), l.MaxRulePorts)
	}
	for _, p := range ps {
		switch {
		case p.Proto.HasPorts():
			if !p.validRange() {
				return errorf(IllegalOperation, "ports: %s/%d-%d is not a range of ports 1-65535", p.Proto, p.First, p.Last)
			}
		case p.Proto == ProtoAny || p.Proto == ProtoICMP:
			if p.First != 0 || p.Last != 0 {
				return errorf(IllegalOperation, "ports: %s takes no ports", p.Proto)
			}
		default:
			return errorf(IllegalOperation, "ports: protocol %q is not any, icmp, tcp or udp", p.Proto)
		}
	}
	if !slices.Equal(NormalizePorts(ps), ps) {
		return errorf(NonCanonical, "ports %v are not the one spelling of their set (sorted; any alone; ranges of a protocol neither overlapping nor touching)", portStrings(ps))
	}
	return nil
}

// withArticle returns "a mesh", "an exit".
func withArticle(s string) string {
	if s != "" && strings.ContainsRune("aeiou", rune(s[0])) {
		return "an " + s
	}
	return "a " + s
}

func portStrings(ps []PortSpec) []string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return s
}

func limitsOrDefault(l *Limits) *Limits {
	if l != nil {
		return l
	}
	d := DefaultLimits()
	return &d
}
