package membership

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Describe returns a human-readable account of what op changes, one line per
// change, for operators reviewing an update before they sign it. pre is the
// state the update applies to.
func Describe(pre *State, op *Operation) []string {
	switch op.Type {
	case OpGenesis:
		lines := []string{fmt.Sprintf("create network with threshold %d of %d approvers", op.Threshold, len(op.Approvers))}
		for _, a := range op.Approvers {
			lines = append(lines, "+ approver "+describeApprover(a))
		}
		for _, n := range op.Nodes {
			lines = append(lines, "+ node "+describeNode(&n))
		}
		if op.Policy != nil {
			lines = append(lines, describePolicyChange(nil, op.Policy, true)...)
		}
		if op.Recovery != nil {
			lines = append(lines, describeRecovery(op.Recovery)...)
		}
		return lines
	case OpSetRecovery:
		lines := []string{"~ recovery set replaced (signed by a threshold of approvers and an owner)"}
		if r := pre.recovery; r != nil {
			lines = append(lines, fmt.Sprintf("- recovery set: %d of %d keys", r.Threshold, len(r.Keys)))
		}
		return append(lines, describeRecovery(op.Recovery)...)
	case OpResolveFork:
		lines := []string{fmt.Sprintf("! FORK RESOLUTION: settles %d conflicting updates of epoch %d; every node follows this instead of the side it holds", len(op.Sides), pre.epoch+1)}
		for _, u := range op.Sides {
			mark := "- side"
			if u.Digest() == op.Choice {
				mark = "= side (chosen)"
			}
			lines = append(lines, fmt.Sprintf("%s %s: %s", mark, short(u.Digest()), u.Body.Operation.Type))
		}
		if chosen := op.chosen(); chosen != nil {
			return append(lines, Describe(pre, &chosen.Body.Operation)...)
		}
		return append(lines, "= nothing else changes (no side chosen)")
	case OpRecover:
		lines := []string{fmt.Sprintf("! RECOVERY: the whole approver set is replaced by recovery keys: threshold %d of %d approvers", op.Threshold, len(op.Approvers))}
		for _, a := range pre.approvers {
			lines = append(lines, "- approver "+describeApprover(a))
		}
		for _, a := range op.Approvers {
			lines = append(lines, "+ approver "+describeApprover(a))
		}
		return lines
	case OpAddNode:
		return []string{"+ node " + describeNode(&op.Node)}
	case OpRemoveNode:
		return []string{fmt.Sprintf("- node %s (removed from the network)", describeExisting(pre, op.NodeID))}
	case OpRevokeNode:
		return []string{fmt.Sprintf("~ node %s: status active -> revoked (peer dropped on every node)", describeExisting(pre, op.NodeID))}
	case OpRestoreNode:
		return []string{fmt.Sprintf("~ node %s: status revoked -> active", describeExisting(pre, op.NodeID))}
	case OpRotateNodeKey:
		old := "?"
		if n, ok := pre.node(op.NodeID); ok {
			old = n.PublicKey.String()
		}
		return []string{fmt.Sprintf("~ node %s: public key %s -> %s", op.NodeID, old, op.PublicKey)}
	case OpUpdateNode:
		n, ok := pre.node(op.NodeID)
		if !ok {
			return []string{fmt.Sprintf("~ node %s (unknown)", op.NodeID)}
		}
		var lines []string
		diff := func(field, from, to string) {
			if from != to {
				lines = append(lines, fmt.Sprintf("~ node %s: %s [%s] -> [%s]", op.NodeID, field, from, to))
			}
		}
		diff("addresses", joinPrefixes(n.Addresses), joinPrefixes(op.Addresses))
		diff("endpoints", joinAddrPorts(n.Endpoints), joinAddrPorts(op.Endpoints))
		diff("tags", strings.Join(n.Tags, " "), strings.Join(op.Tags, " "))
		diff("routes", joinPrefixes(n.Routes), joinPrefixes(op.Routes))
		return lines
	case OpAddApprover:
		return []string{"+ approver " + describeApprover(op.Approver)}
	case OpRemoveApprover:
		return []string{"- approver " + op.ApproverID}
	case OpSetThreshold:
		return []string{fmt.Sprintf("~ threshold %d -> %d (of %d approvers)", pre.threshold, op.Threshold, len(pre.approvers))}
	case OpSetPolicy:
		p := op.Policy
		if p == nil {
			p = &Policy{}
		}
		return describePolicyChange(pre.policy, p, false)
	}
	return []string{fmt.Sprintf("unknown operation %q", op.Type)}
}

func describeExisting(pre *State, id string) string {
	if n, ok := pre.node(id); ok {
		return fmt.Sprintf("%s key=%s", id, n.PublicKey)
	}
	return id + " (unknown)"
}

func describeNode(n *Node) string {
	s := fmt.Sprintf("%s key=%s addresses=[%s]", n.ID, n.PublicKey, joinPrefixes(n.Addresses))
	if len(n.Endpoints) > 0 {
		s += " endpoints=[" + joinAddrPorts(n.Endpoints) + "]"
	}
	if len(n.Tags) > 0 {
		s += " tags=[" + strings.Join(n.Tags, " ") + "]"
	}
	if len(n.Routes) > 0 {
		s += " routes=[" + joinPrefixes(n.Routes) + "]"
	}
	if n.Owner != "" {
		s += fmt.Sprintf(" owner=%q", n.Owner)
	}
	return s
}

// describeRecovery describes a recovery set, one line per key.
func describeRecovery(r *Recovery) []string {
	if r == nil {
		return nil
	}
	lines := []string{fmt.Sprintf("+ recovery set: %d of %d keys may replace the approvers", r.Threshold, len(r.Keys))}
	for _, k := range r.Keys {
		lines = append(lines, "+ recovery key "+k.String())
	}
	return lines
}

func describeApprover(a Approver) string {
	return fmt.Sprintf("%s key=%s role=%s", a.ID, a.PublicKey, a.Role)
}

func joinPrefixes(ps []netip.Prefix) string {
	s := make([]string, len(ps))
	for i, p := range ps {
		s[i] = p.String()
	}
	return strings.Join(s, " ")
}

func joinAddrPorts(as []netip.AddrPort) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = a.String()
	}
	return strings.Join(s, " ")
}

// describePolicyChange describes replacing old (nil: no policy) by new, or
// with genesis the first policy of a network: one line for the policy and
// one per rule added, removed or changed (one per changed field).
func describePolicyChange(old, new *Policy, genesis bool) []string {
	count := func(p *Policy) string {
		if p == nil {
			return "none (everything denied)"
		}
		if len(p.Rules) == 1 {
			return "1 rule"
		}
		return fmt.Sprintf("%d rules", len(p.Rules))
	}
	var lines []string
	if genesis {
		lines = append(lines, "policy: "+count(new))
	} else {
		lines = append(lines, fmt.Sprintf("~ policy: %s -> %s", count(old), count(new)))
	}
	var oldRules []Rule
	if old != nil {
		oldRules = old.Rules
	}
	i, j := 0, 0
	for i < len(oldRules) || j < len(new.Rules) {
		switch {
		case j == len(new.Rules) || i < len(oldRules) && oldRules[i].Name < new.Rules[j].Name:
			lines = append(lines, "- rule "+DescribeRule(&oldRules[i]))
			i++
		case i == len(oldRules) || new.Rules[j].Name < oldRules[i].Name:
			lines = append(lines, "+ rule "+DescribeRule(&new.Rules[j]))
			j++
		default:
			a, b := &oldRules[i], &new.Rules[j]
			diff := func(field, from, to string) {
				if from != to {
					lines = append(lines, fmt.Sprintf("~ rule %s: %s [%s] -> [%s]", printable(a.Name), field, from, to))
				}
			}
			// Equal fields are skipped before they are rendered: a change
			// of one rule in 1,000 renders one rule, not all of them.
			if a.Context != b.Context {
				diff("context", printable(string(a.Context)), printable(string(b.Context)))
			}
			if !slices.Equal(a.Src, b.Src) {
				diff("src", joinSelectors(a.Src), joinSelectors(b.Src))
			}
			if !slices.Equal(a.Dst, b.Dst) {
				diff("dst", joinSelectors(a.Dst), joinSelectors(b.Dst))
			}
			if !slices.Equal(a.Ports, b.Ports) {
				diff("ports", joinPorts(a.Ports), joinPorts(b.Ports))
			}
			i++
			j++
		}
	}
	return lines
}

// DescribeRule returns a rule on one line: "NAME [CONTEXT] SRC... -> DST...
// : PORTS...". A name or context that is not valid is quoted, so that
// text from an unverified update cannot forge lines of a review.
func DescribeRule(r *Rule) string {
	return fmt.Sprintf("%s [%s] %s -> %s : %s", printable(r.Name), printable(string(r.Context)), joinSelectors(r.Src), joinSelectors(r.Dst), joinPorts(r.Ports))
}

// printable returns s if it is an id, else s quoted.
func printable(s string) string {
	if validID(s) {
		return s
	}
	return strconv.Quote(s)
}

func joinSelectors(ss []Selector) string {
	s := make([]string, len(ss))
	for i, x := range ss {
		s[i] = x.String()
	}
	return strings.Join(s, " ")
}

func joinPorts(ps []PortSpec) string { return strings.Join(portStrings(ps), " ") }
