package membership_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// setPolicy returns a set_policy operation.
func setPolicy(p *membership.Policy) membership.Operation {
	return membership.Operation{Type: membership.OpSetPolicy, Policy: p}
}

// policyOf returns a policy of the given rules, as given (not normalised).
func policyOf(rules ...membership.Rule) *membership.Policy {
	return &membership.Policy{Rules: append([]membership.Rule{}, rules...)}
}

// approverRecords returns the approver records of test approvers.
func approverRecords(as []membershiptest.Approver) []membership.Approver {
	out := make([]membership.Approver, len(as))
	for i, a := range as {
		out[i] = a.Approver
	}
	return out
}

// meshRule is a valid mesh rule named name.
func meshRule(name string) membership.Rule {
	return rule(name, membership.ContextMesh, []string{"members"}, []string{"members"}, []string{"tcp/22"})
}

// TestSchemaVersionRule covers §13.2: the schema version of a record is
// fixed by the state it applies to and its operation, any other is
// refused, and a policy once set stays.
func TestSchemaVersionRule(t *testing.T) {
	t.Run("v1 network", func(t *testing.T) {
		net := membershiptest.NewV1(t, 2)
		if v := net.Log[0].Body.SchemaVersion; v != 1 || net.Chain.State().Policy() != nil {
			t.Fatalf("genesis without a policy: got schema %d, policy %v; want schema 1 and none", v, net.Chain.State().Policy())
		}
		// A v1 record of a v1 operation: accepted; a v2 one: refused.
		u := net.Propose(t, addOp("x", 50))
		if u.Body.SchemaVersion != 1 {
			t.Fatalf("NewUpdate on a state without a policy: got schema %d, want 1", u.Body.SchemaVersion)
		}
		b := nextBody(net.Chain.State(), addOp("y", 51), net.Now)
		b.SchemaVersion = 2
		wantReject(t, net, net.Sign(t, forge(t, b), "alice", "bob"), membership.IllegalOperation, "must be schema 1")
		net.MustApply(t, net.Sign(t, u, "alice", "bob"))

		// set_policy moves it to v2.
		sp := net.Propose(t, setPolicy(membership.DefaultPolicy()))
		if sp.Body.SchemaVersion != 2 {
			t.Fatalf("set_policy: got schema %d, want 2", sp.Body.SchemaVersion)
		}
		net.MustApply(t, net.Sign(t, sp, "alice", "bob"))
		if st := net.Chain.State(); st.SchemaVersion() != 2 || st.Policy() == nil {
			t.Fatalf("after set_policy: got schema %d, policy %v", st.SchemaVersion(), st.Policy())
		}

		// From now on only v2 records: a v1 record is refused.
		b = nextBody(net.Chain.State(), addOp("y", 51), net.Now)
		b.SchemaVersion = 1
		wantReject(t, net, net.Sign(t, forge(t, b), "alice", "bob"), membership.IllegalOperation, "must be schema 2")
		for _, op := range []membership.Operation{addOp("y", 51), {Type: membership.OpRevokeNode, NodeID: "y"}, {Type: membership.OpRemoveNode, NodeID: "y"}} {
			u := net.Propose(t, op)
			if u.Body.SchemaVersion != 2 {
				t.Fatalf("%s after set_policy: got schema %d, want 2", op.Type, u.Body.SchemaVersion)
			}
			net.MustApply(t, net.Sign(t, u, "alice", "bob"))
			if net.Chain.State().Policy() == nil {
				t.Fatalf("%s dropped the policy", op.Type)
			}
		}
		if _, _, err := membership.Replay(net.Log, net.Log[0].Body.NewStateRoot, nil); err != nil {
			t.Errorf("replaying the mixed v1/v2 log: %v", err)
		}
	})

	t.Run("v2 network", func(t *testing.T) {
		net := membershiptest.New(t, 2)
		if v := net.Log[0].Body.SchemaVersion; v != 2 || net.Chain.State().SchemaVersion() != 2 {
			t.Fatalf("genesis with a policy: got schema %d, state schema %d; want 2", v, net.Chain.State().SchemaVersion())
		}
		b := nextBody(net.Chain.State(), addOp("x", 50), net.Now)
		b.SchemaVersion = 1
		wantReject(t, net, net.Sign(t, forge(t, b), "alice", "bob"), membership.IllegalOperation, "must be schema 2")
	})

	t.Run("v2 genesis without a policy member", func(t *testing.T) {
		net := preGenesis(t)
		b := nextBody(net.Chain.State(), membership.Operation{Type: membership.OpGenesis, Threshold: 1,
			Approvers: []membership.Approver{approvers("alice")[0].Approver}, Nodes: []membership.Node{}}, net.Now)
		b.SchemaVersion = 2 // a v2 genesis always has a policy: without one it is not canonical
		_, err := membership.ParseSignedUpdate(envelope(membership.EncodeBody(&b)), nil)
		wantCode(t, err, membership.NonCanonical)
	})
}

// TestSetPolicyAuthorization covers §13.8: a threshold of the pre-state's
// approvers, no owner, no resulting set; every other signature rule as for
// any update.
func TestSetPolicyAuthorization(t *testing.T) {
	p := policyOf(meshRule("ssh"))
	cases := []struct {
		name    string
		signers []string
		code    membership.Code
	}{
		{"no signature", nil, membership.ThresholdNotMet},
		{"1 of 2", []string{"alice"}, membership.ThresholdNotMet},
		{"2 of 2 without the owner", []string{"bob", "carol"}, ""},
		{"2 of 2 with the owner", []string{"alice", "bob"}, ""},
		{"outsider beside a quorum", []string{"alice", "bob", "mallory"}, membership.UnknownSigner},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			net := membershiptest.New(t, 2)
			u := net.Sign(t, net.Propose(t, setPolicy(p)), c.signers...)
			res, err := membership.Evaluate(net.Chain.State(), u, net.Options())
			wantCode(t, err, c.code)
			if c.code == "" || c.code == membership.ThresholdNotMet {
				if res.Auth.New != nil || res.Auth.OwnerRequired || len(res.Auth.MustSign) != 0 {
					t.Errorf("set_policy asks for more than the current threshold: New %v, OwnerRequired %v, MustSign %v", res.Auth.New, res.Auth.OwnerRequired, res.Auth.MustSign)
				}
				if diff := cmp.Diff(&membership.ThresholdCheck{Have: uint64(len(c.signers)), Need: 2}, res.Auth.Old); diff != "" {
					t.Errorf("Auth.Old (-want +got):\n%s", diff)
				}
			}
			if c.code != "" {
				wantReject(t, net, u, c.code, "")
				return
			}
			net.MustApply(t, u)
		})
	}
	if membership.OpSetPolicy.NeedsResultingSet() {
		t.Errorf("set_policy needs a resulting approver set; want only the current threshold")
	}
}

// TestSetPolicyLegality: every way a policy can be invalid (§13.7), refused
// with its code by verification and by NewUpdate alike; the chain does not
// move.
func TestSetPolicyLegality(t *testing.T) {
	mesh, router, exit := membership.ContextMesh, membership.ContextRouter, membership.ContextExit
	r := func(name string, ctx membership.Context, src, dst, ports []string) membership.Rule {
		return rule(name, ctx, src, dst, ports)
	}
	ok := []string{"members"}
	ports := []string{"tcp/22"}
	edit := func(f func(*membership.Rule)) membership.Rule {
		x := meshRule("a")
		f(&x)
		return x
	}
	small := func(f func(*membership.Limits)) *membership.Limits {
		l := membership.DefaultLimits()
		f(&l)
		return &l
	}
	many := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		slices.Sort(out)
		return out
	}
	const (
		ill = membership.IllegalOperation
		nc  = membership.NonCanonical
		lim = membership.LimitExceeded
	)
	cases := []struct {
		name   string
		policy *membership.Policy
		limits *membership.Limits
		code   membership.Code
		why    string
		// memOnly: a value without a spelling (an in-memory Policy that
		// the wire cannot carry): the parser refuses its nearest spelling
		// with the same code, or it has none at all.
		memOnly bool
	}{
		{"rules not sorted", policyOf(meshRule("b"), meshRule("a")), nil, nc, "sorted", false},
		{"rule name repeated", policyOf(meshRule("a"), meshRule("a")), nil, nc, "sorted", false},
		{"rule name not an id", policyOf(meshRule("Web")), nil, ill, "rule name", false},
		{"empty rule name", policyOf(meshRule("")), nil, ill, "rule name", false},
		{"unknown context", policyOf(r("a", "lan", ok, ok, ports)), nil, ill, "context", false},
		{"empty src", policyOf(edit(func(x *membership.Rule) { x.Src = nil })), nil, ill, "src is empty", false},
		{"empty dst", policyOf(edit(func(x *membership.Rule) { x.Dst = nil })), nil, ill, "dst is empty", false},
		{"empty ports", policyOf(edit(func(x *membership.Rule) { x.Ports = nil })), nil, ill, "ports is empty", false},
		{"mesh dst internet", policyOf(r("a", mesh, ok, []string{"internet"}, ports)), nil, ill, "not allowed in the dst of a mesh rule", false},
		{"mesh dst prefix", policyOf(r("a", mesh, ok, []string{"10.0.0.0/8"}, ports)), nil, ill, "not allowed", false},
		{"mesh src prefix", policyOf(r("a", mesh, []string{"10.0.0.0/8"}, ok, ports)), nil, ill, "not allowed in the src", false},
		{"router dst members", policyOf(r("a", router, ok, ok, ports)), nil, ill, "not allowed in the dst of a router rule", false},
		{"router dst internet", policyOf(r("a", router, ok, []string{"internet"}, ports)), nil, ill, "not allowed", false},
		{"router src prefix", policyOf(r("a", router, []string{"10.0.0.0/8"}, []string{"10.0.0.0/8"}, ports)), nil, ill, "not allowed in the src", false},
		{"exit dst node", policyOf(r("a", exit, ok, []string{"node:x"}, ports)), nil, ill, "not allowed in the dst of an exit rule", false},
		{"exit src internet", policyOf(r("a", exit, []string{"internet"}, []string{"internet"}, ports)), nil, ill, "not allowed in the src", false},
		{"unmasked prefix", policyOf(edit(func(x *membership.Rule) {
			x.Context, x.Dst = router, []membership.Selector{membership.PrefixSelector(netip.MustParsePrefix("10.1.2.3/8"))}
		})), nil, ill, "masked", false},
		{"IPv4-mapped prefix", policyOf(edit(func(x *membership.Rule) {
			x.Context, x.Dst = router, []membership.Selector{membership.PrefixSelector(netip.MustParsePrefix("::ffff:10.0.0.0/104"))}
		})), nil, ill, "masked", false},
		{"selector of no kind", policyOf(edit(func(x *membership.Rule) { x.Src = []membership.Selector{{}} })), nil, ill, "not allowed", true},
		{"node selector with a bad id", policyOf(edit(func(x *membership.Rule) { x.Src = []membership.Selector{membership.NodeSelector("X")} })), nil, ill, "node id", true},
		{"tag selector with a bad tag", policyOf(edit(func(x *membership.Rule) { x.Src = []membership.Selector{membership.TagSelector("a.b")} })), nil, ill, "tag", true},
		{"src not sorted", policyOf(r("a", mesh, []string{"tag:a", "node:b"}, ok, ports)), nil, nc, "src is not sorted", false},
		{"dst repeated", policyOf(r("a", mesh, ok, []string{"tag:a", "tag:a"}, ports)), nil, nc, "dst is not sorted", false},
		{"prefixes in text order", policyOf(r("a", router, ok, []string{"9.0.0.0/8", "10.0.0.0/8"}, ports)), nil, nc, "dst is not sorted", false},
		{"ports not sorted", policyOf(r("a", mesh, ok, ok, []string{"udp/53", "tcp/22"})), nil, nc, "one spelling", false},
		{"ports by number, not text", policyOf(r("a", mesh, ok, ok, []string{"tcp/100", "tcp/22"})), nil, nc, "one spelling", false},
		{"any beside another", policyOf(r("a", mesh, ok, ok, []string{"any", "tcp/22"})), nil, nc, "one spelling", false},
		{"all ports beside a port", policyOf(r("a", mesh, ok, ok, []string{"tcp", "tcp/22"})), nil, nc, "one spelling", false},
		{"overlapping ranges", policyOf(r("a", mesh, ok, ok, []string{"tcp/20-30", "tcp/25"})), nil, nc, "one spelling", false},
		{"touching ranges", policyOf(r("a", mesh, ok, ok, []string{"tcp/22", "tcp/23"})), nil, nc, "one spelling", false},
		{"icmp twice", policyOf(r("a", mesh, ok, ok, []string{"icmp", "icmp"})), nil, nc, "one spelling", false},
		{"port 0", policyOf(edit(func(x *membership.Rule) { x.Ports = []membership.PortSpec{{Proto: "tcp", First: 0, Last: 22}} })), nil, ill, "range of ports", true},
		{"empty range", policyOf(edit(func(x *membership.Rule) { x.Ports = []membership.PortSpec{{Proto: "tcp", First: 30, Last: 20}} })), nil, ill, "range of ports", true},
		{"icmp with ports", policyOf(edit(func(x *membership.Rule) { x.Ports = []membership.PortSpec{{Proto: "icmp", First: 8, Last: 8}} })), nil, ill, "takes no ports", true},
		{"unknown protocol", policyOf(edit(func(x *membership.Rule) { x.Ports = []membership.PortSpec{{Proto: "sctp"}} })), nil, ill, "protocol", true},

		{"limit: rules", policyOf(meshRule("a"), meshRule("b"), meshRule("c")), small(func(l *membership.Limits) { l.MaxPolicyRules = 2 }), lim, "3 rules", false},
		{"limit: policy bytes", policyOf(meshRule("a"), meshRule("b")), small(func(l *membership.Limits) { l.MaxPolicyBytes = 150 }), lim, "bytes", false},
		{"limit: src selectors", policyOf(r("a", mesh, many(4, func(i int) string { return fmt.Sprintf("node:n%d", i) }), ok, ports)), small(func(l *membership.Limits) { l.MaxRuleSelectors = 3 }), lim, "src has 4 selectors", false},
		{"limit: dst selectors", policyOf(r("a", mesh, ok, many(4, func(i int) string { return fmt.Sprintf("tag:t%d", i) }), ports)), small(func(l *membership.Limits) { l.MaxRuleSelectors = 3 }), lim, "dst has 4 selectors", false},
		{"limit: port specs", policyOf(r("a", mesh, ok, ok, []string{"tcp/1", "tcp/3", "tcp/5"})), small(func(l *membership.Limits) { l.MaxRulePorts = 2 }), lim, "3 port specs", false},
		{"limit: set_policy body", policyOf(meshRule("a")), small(func(l *membership.Limits) { l.MaxPolicyUpdateBytes = 300 }), lim, "limit for set_policy", false},
		{"the current policy", membership.DefaultPolicy(), nil, ill, "changes nothing", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			net := membershiptest.New(t, 2)
			net.Limits = c.limits
			b := nextBody(net.Chain.State(), setPolicy(c.policy), net.Now)
			u, err := membership.ParseSignedUpdate(envelope(membership.EncodeBody(&b)), c.limits)
			switch {
			case err != nil:
				wantCode(t, err, c.code) // refused as early as parsing (§13.6)
			case c.memOnly:
				// Its nearest spelling is another, valid value.
			default:
				wantReject(t, net, net.Sign(t, u, "alice", "bob", "carol"), c.code, c.why)
			}
			if _, err := membership.NewUpdate(net.Chain.State(), setPolicy(c.policy), net.Proposal()); membership.CodeOf(err) != c.code {
				t.Errorf("NewUpdate: got %v, want code %s (a proposal must fail like its verification)", err, c.code)
			}
			if c.code != membership.LimitExceeded || !strings.Contains(c.why, "set_policy body") {
				if err := membership.ValidatePolicy(c.policy, c.limits); c.why != "changes nothing" && c.why != "limit for set_policy" && membership.CodeOf(err) != c.code {
					t.Errorf("ValidatePolicy: got %v, want code %s", err, c.code)
				}
			}
		})
	}

	t.Run("v2 genesis with an invalid policy", func(t *testing.T) {
		net := preGenesis(t)
		bad := policyOf(r("a", mesh, ok, []string{"internet"}, ports))
		op := membership.Operation{Type: membership.OpGenesis, Threshold: 2, Approvers: approverRecords(approvers("alice", "bob", "carol")), Nodes: []membership.Node{}, Policy: bad}
		u := forge(t, nextBody(net.Chain.State(), op, net.Now))
		wantReject(t, net, net.Sign(t, u, "alice", "bob", "carol"), membership.IllegalOperation, "genesis: rule a")
	})
}

// TestPolicyDecodeNegative is the v2 part of TestDecodeNegative: every way
// the policy of a v2 body can be spelled otherwise than canonically, with
// the code each gets (§13.3, §13.6).
func TestPolicyDecodeNegative(t *testing.T) {
	steps := goldenChainV2(t)
	const (
		genesis   = 0
		setPol    = 1
		addNode   = 2
		emptyPols = 5
		nc        = membership.NonCanonical
		us        = membership.UnknownSchema
		ill       = membership.IllegalOperation
		lim       = membership.LimitExceeded
	)
	cases := []decodeCase{
		{name: "port range of one port", step: setPol, old: `"tcp/5432"`, new: `"tcp/5432-5432"`, code: nc},
		{name: "port with a leading zero", step: setPol, old: `"tcp/5432"`, new: `"tcp/05432"`, code: nc},
		{name: "every port as a range", step: genesis, old: `["icmp","tcp","udp/161-162"]`, new: `["icmp","tcp/1-65535","udp/161-162"]`, code: nc},
		{name: "upper-case protocol", step: setPol, old: `"tcp/5432"`, new: `"TCP/5432"`, code: ill},
		{name: "port 0", step: setPol, old: `"tcp/5432"`, new: `"tcp/0"`, code: ill},
		{name: "port above 65535", step: setPol, old: `"tcp/5432"`, new: `"tcp/65536"`, code: ill},
		{name: "signed port", step: setPol, old: `"tcp/5432"`, new: `"tcp/+5432"`, code: ill},
		{name: "range backwards", step: genesis, old: `"udp/161-162"`, new: `"udp/162-161"`, code: ill},
		{name: "icmp with a type", step: setPol, old: `["icmp","tcp"]`, new: `["icmp/8","tcp"]`, code: ill},
		{name: "any with a port", step: genesis, old: `"ports":["any"]`, new: `"ports":["any/80"]`, code: ill},
		{name: "port spec as a number", step: setPol, old: `"tcp/5432"`, new: `5432`, code: nc},
		{name: "bare node id selector", step: genesis, old: `"node:laptop.ann"`, new: `"laptop.ann"`, code: ill},
		{name: "upper-case node selector", step: genesis, old: `"node:laptop.ann"`, new: `"Node:laptop.ann"`, code: ill},
		{name: "node selector with a bad id", step: genesis, old: `"node:laptop.ann"`, new: `"node:Laptop"`, code: ill},
		{name: "empty tag selector", step: setPol, old: `"name":"lan","ports":["icmp","tcp"],"src":["tag:admin"]`, new: `"name":"lan","ports":["icmp","tcp"],"src":["tag:"]`, code: ill},
		{name: "upper-case keyword", step: genesis, old: `"src":["members"]},{"context":"mesh"`, new: `"src":["Members"]},{"context":"mesh"`, code: ill},
		{name: "IPv6 prefix not compressed", step: genesis, old: `"fd7a:115c:a1e0:20::/64"],"name"`, new: `"fd7a:115c:a1e0:20:0:0:0:0/64"],"name"`, code: nc},
		{name: "IPv6 prefix upper case", step: genesis, old: `"fd7a:115c:a1e0:20::/64"],"name"`, new: `"FD7A:115C:A1E0:20::/64"],"name"`, code: nc},
		{name: "prefix with a leading-zero length", step: setPol, old: `"10.20.0.0/16"`, new: `"10.20.0.0/016"`, code: ill},
		{name: "missing policy in set_policy", step: setPol, edit: func(s string) string {
			i := strings.Index(s, `"policy":`)
			j := strings.Index(s, `,"type":"set_policy"`)
			return s[:i] + s[j+1:]
		}, code: nc},
		{name: "null policy", step: emptyPols, old: `"policy":{"rules":[]}`, new: `"policy":null`, code: nc},
		{name: "null rules", step: emptyPols, old: `{"rules":[]}`, new: `{"rules":null}`, code: nc},
		{name: "missing rules", step: emptyPols, old: `{"rules":[]}`, new: `{}`, code: nc},
		{name: "unknown policy member", step: emptyPols, old: `{"rules":[]}`, new: `{"default":"allow","rules":[]}`, code: nc},
		{name: "unknown rule member", step: setPol, old: `{"context":"mesh","dst":["members"]`, new: `{"action":"deny","context":"mesh","dst":["members"]`, code: nc},
		{name: "missing rule ports", step: setPol, old: `"ports":["icmp"],`, new: ``, code: nc},
		{name: "rule members reordered", step: setPol, old: `{"context":"mesh","dst":["members"]`, new: `{"dst":["members"],"context":"mesh"`, code: nc},
		{name: "policy in a v2 add_node", step: addNode, old: `,"type":"add_node"`, new: `,"policy":{"rules":[]},"type":"add_node"`, code: nc},
		{name: "schema_version 1 with a policy", step: emptyPols, old: `"schema_version":2`, new: `"schema_version":1`, code: us},
		{name: "v1 add_node on a state with a policy", step: addNode, old: `"schema_version":2`, new: `"schema_version":1`, code: ill},
		{name: "rules above the parse limit", step: genesis, limits: func(l *membership.Limits) { l.MaxPolicyRules = 4 }, edit: func(s string) string { return s }, code: lim},
		{name: "set_policy body over MaxPolicyUpdateBytes", step: setPol, limits: func(l *membership.Limits) { l.MaxPolicyUpdateBytes = 500 }, edit: func(s string) string { return s }, code: lim},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var l *membership.Limits
			if c.limits != nil {
				d := membership.DefaultLimits()
				c.limits(&d)
				l = &d
			}
			raw := c.apply(t, string(steps[c.step].Update.BodyBytes()))
			stage, err := verdict(t, steps, c.step, raw, l)
			if got := membership.CodeOf(err); got != c.code {
				t.Fatalf("%s: got %v (code %q), want code %s\nbody: %s", stage, err, got, c.code, raw)
			}
		})
	}
}

// TestPolicyLimitsNeverBlockRemoval brings a network to every policy limit
// at once, proves growth is refused there, and then removes, revokes and
// shrinks — nodes the policy names included: all of it is accepted (§13.7).
func TestPolicyLimitsNeverBlockRemoval(t *testing.T) {
	var rules []membership.Rule
	for i := range 4 {
		rules = append(rules, rule(fmt.Sprintf("r%d", i), membership.ContextMesh,
			[]string{"node:n00000", "node:n00001", "tag:t"}, []string{"members", "node:n00002", "tag:u"}, []string{"icmp", "tcp/22"}))
	}
	full := policyOf(rules...)
	l := membership.DefaultLimits()
	l.MaxPolicyRules, l.MaxRuleSelectors, l.MaxRulePorts = 4, 3, 2
	l.MaxPolicyBytes = len(membership.EncodePolicy(full))
	net := membershiptest.New(t, 4)
	net.Limits = &l
	all := []string{"alice", "bob", "carol"}
	net.MustApply(t, net.Sign(t, net.Propose(t, setPolicy(full)), all...))

	// At the limits: any growth of the policy is refused.
	grow := []*membership.Policy{
		policyOf(append(slices.Clone(rules), meshRule("r9"))...),
		func() *membership.Policy { p := full.Clone(); p.Rules[0].Name = "r0-longer"; p.Normalize(); return p }(),
	}
	for _, p := range grow {
		u := forge(t, nextBody(net.Chain.State(), setPolicy(p), net.Now))
		wantReject(t, net, net.Sign(t, u, all...), membership.LimitExceeded, "")
	}

	// Every shrinking operation, on the nodes the policy names, is accepted.
	for _, op := range []membership.Operation{
		{Type: membership.OpRevokeNode, NodeID: "n00000"},
		{Type: membership.OpRemoveNode, NodeID: "n00000"},
		{Type: membership.OpRevokeNode, NodeID: "n00001"},
		{Type: membership.OpRestoreNode, NodeID: "n00001"},
		{Type: membership.OpRotateNodeKey, NodeID: "n00002", PublicKey: membershiptest.NodeKey("new")},
		{Type: membership.OpUpdateNode, NodeID: "n00002", Addresses: pfxs("100.64.9.2/32"), Endpoints: []netip.AddrPort{}, Tags: []string{}, Routes: []netip.Prefix{}},
		{Type: membership.OpRemoveNode, NodeID: "n00002"},
		{Type: membership.OpRemoveApprover, ApproverID: "carol"},
		{Type: membership.OpSetThreshold, Threshold: 1},
		setPolicy(policyOf(rules[0])),
		setPolicy(policyOf()),
	} {
		signers := all[:len(net.Chain.State().Approvers())]
		net.MustApply(t, net.Sign(t, net.Propose(t, op), signers...))
	}
}

// TestThousandRulePolicyFits: a policy of 1 000 ordinary rules is well
// inside the default limits, and its set_policy fits MaxPolicyUpdateBytes
// (the v1 update limit would not hold it).
func TestThousandRulePolicyFits(t *testing.T) {
	var rules []membership.Rule
	for i := range 1000 {
		rules = append(rules, rule(fmt.Sprintf("service-%04d", i), membership.ContextMesh,
			[]string{fmt.Sprintf("tag:team-%03d", i%97), "tag:admin"}, []string{fmt.Sprintf("node:srv-%04d", i), fmt.Sprintf("tag:svc-%04d", i)},
			[]string{"icmp", fmt.Sprintf("tcp/%d", 1000+i), "udp/53"}))
	}
	p := policyOf(rules...)
	p.Normalize()
	net := membershiptest.New(t, 2)
	u := net.Propose(t, setPolicy(p))
	l := membership.DefaultLimits()
	if n := len(u.BodyBytes()); n <= l.MaxUpdateBytes || n > l.MaxPolicyUpdateBytes {
		t.Errorf("1 000-rule set_policy body: %d bytes; want above MaxUpdateBytes %d and within MaxPolicyUpdateBytes %d", n, l.MaxUpdateBytes, l.MaxPolicyUpdateBytes)
	}
	net.MustApply(t, net.Sign(t, u, "alice", "bob"))
	if got := len(net.Chain.State().Policy().Rules); got != 1000 {
		t.Errorf("policy rules: got %d, want 1000", got)
	}
}

// TestPolicyRoot: the root covers the policy (§13.5): any change of it
// changes the root, states are immutable, and the incremental root equals
// the one recomputed from every record.
func TestPolicyRoot(t *testing.T) {
	net := membershiptest.New(t, 3)
	base := policyOf(meshRule("a"), meshRule("b"))
	net.MustApply(t, net.Sign(t, net.Propose(t, setPolicy(base)), "alice", "bob"))
	pre := net.Chain.State()
	variants := map[string]func(p *membership.Policy){
		"rule renamed": func(p *membership.Policy) { p.Rules[1].Name = "c" },
		"context changed": func(p *membership.Policy) {
			p.Rules[0].Context = membership.ContextExit
			p.Rules[0].Dst = sels("internet")
		},
		"src changed":  func(p *membership.Policy) { p.Rules[0].Src = sels("tag:x") },
		"dst changed":  func(p *membership.Policy) { p.Rules[0].Dst = sels("node:n00001") },
		"port changed": func(p *membership.Policy) { p.Rules[0].Ports = portSpecs("tcp/23") },
		"rule removed": func(p *membership.Policy) { p.Rules = p.Rules[:1] },
		"no rules":     func(p *membership.Policy) { p.Rules = nil },
	}
	roots := map[membership.Hash]string{}
	digests := map[membership.Hash]string{}
	for name, f := range variants {
		p := base.Clone()
		f(p)
		u := net.Sign(t, net.Propose(t, setPolicy(p)), "alice", "bob")
		res, err := membership.Evaluate(pre, u, net.Options())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		post := res.Post
		if got := membership.RecomputeRoot(post); got != post.Root() {
			t.Errorf("%s: recomputed root %s, incremental root %s", name, got, post.Root())
		}
		d, _ := post.PolicyDigest()
		if other, dup := digests[d]; dup {
			t.Errorf("%s and %s give one policy digest", name, other)
		}
		digests[d] = name
		roots[post.Root()] = name
	}
	if len(roots) != len(variants) {
		t.Errorf("got %d distinct roots for %d policies", len(roots), len(variants))
	}
	if got := membership.RecomputeRoot(pre); got != pre.Root() {
		t.Errorf("pre-state changed by later evaluations: root %s, want %s", got, pre.Root())
	}
	if diff := cmp.Diff(base, pre.Policy(), cmpopts.EquateEmpty(), cmp.Comparer(func(a, b netip.Prefix) bool { return a == b })); diff != "" {
		t.Errorf("pre-state policy changed (-want +got):\n%s", diff)
	}
}

// TestDescribePolicy: Describe shows a policy change rule by rule.
func TestDescribePolicy(t *testing.T) {
	net := membershiptest.New(t, 1)
	old := policyOf(meshRule("keep"), meshRule("ssh"), meshRule("old"))
	old.Normalize()
	net.MustApply(t, net.Sign(t, net.Propose(t, setPolicy(old)), "alice", "bob"))
	next := policyOf(meshRule("keep"), meshRule("ssh"), rule("web", membership.ContextMesh, []string{"members"}, []string{"tag:web"}, []string{"tcp/443"}))
	next.Rules[1].Dst = sels("tag:server")
	next.Rules[1].Ports = portSpecs("tcp/22", "tcp/2222")
	got := membership.Describe(net.Chain.State(), &membership.Operation{Type: membership.OpSetPolicy, Policy: next})
	want := []string{
		"~ policy: 3 rules -> 3 rules",
		"- rule old [mesh] members -> members : tcp/22",
		"~ rule ssh: dst [members] -> [tag:server]",
		"~ rule ssh: ports [tcp/22] -> [tcp/22 tcp/2222]",
		"+ rule web [mesh] members -> tag:web : tcp/443",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Describe set_policy (-want +got):\n%s", diff)
	}

	v1 := membershiptest.NewV1(t, 1)
	got = membership.Describe(v1.Chain.State(), &membership.Operation{Type: membership.OpSetPolicy, Policy: membership.DefaultPolicy()})
	want = []string{"~ policy: none (everything denied) -> 1 rule", "+ rule allow-members [mesh] members -> members : any"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Describe first set_policy (-want +got):\n%s", diff)
	}
	g := net.Log[0]
	got = membership.Describe(membership.Empty("test"), &g.Body.Operation)
	if i := slices.Index(got, "policy: 1 rule"); i < 0 || got[i+1] != "+ rule allow-members [mesh] members -> members : any" {
		t.Errorf("Describe v2 genesis: got %q, want the policy and its rule", got)
	}
	forged := &membership.Rule{Name: "x\n+ node evil", Context: "mesh\n"}
	if s := membership.DescribeRule(forged); strings.Contains(s, "\n") {
		t.Errorf("DescribeRule of an invalid name: got %q, want it quoted on one line", s)
	}
}

// TestPolicySpellings: selectors and port specs parse to values whose one
// spelling is String, and Normalize gives the one spelling of operator
// input without changing what it allows.
func TestPolicySpellings(t *testing.T) {
	for _, s := range []string{"members", "internet", "node:a", "node:n-1.x_y", "tag:web", "10.0.0.0/8", "::/0", "fd00::/8", "0.0.0.0/0"} {
		x, err := membership.ParseSelector(s)
		if err != nil || x.String() != s {
			t.Errorf("ParseSelector(%q): got %v (%q), want it back", s, err, x.String())
		}
	}
	for _, s := range []string{"", "web", "node:", "node:A", "tag:", "tag:a.b", "member", "10.0.0.0", "Members", "node:a b", "10.0.0.0/33"} {
		if _, err := membership.ParseSelector(s); membership.CodeOf(err) != membership.IllegalOperation {
			t.Errorf("ParseSelector(%q): got %v, want ILLEGAL_OPERATION", s, err)
		}
	}
	for _, s := range []string{"any", "icmp", "tcp", "udp", "tcp/1", "udp/65535", "tcp/22-23", "tcp/1-65534"} {
		p, err := membership.ParsePortSpec(s)
		if err != nil || p.String() != s {
			t.Errorf("ParsePortSpec(%q): got %v (%q), want it back", s, err, p.String())
		}
	}
	for s, want := range map[string]string{"tcp/1-65535": "tcp", "tcp/22-22": "tcp/22", "udp/053": "udp/53"} {
		if p, err := membership.ParsePortSpec(s); err != nil || p.String() != want {
			t.Errorf("ParsePortSpec(%q): got %v %q, want the other spelling of %q", s, err, p.String(), want)
		}
	}
	for _, s := range []string{"", "TCP", "sctp", "tcp/", "tcp/0", "tcp/65536", "tcp/-1", "tcp/+1", "tcp/2-1", "tcp/1-", "icmp/8", "any/1", "tcp/1/2", "tcp/ 1"} {
		if _, err := membership.ParsePortSpec(s); membership.CodeOf(err) != membership.IllegalOperation {
			t.Errorf("ParsePortSpec(%q): got %v, want ILLEGAL_OPERATION", s, err)
		}
	}
	norm := []struct{ in, want []string }{
		{[]string{"udp/53", "tcp/22", "icmp"}, []string{"icmp", "tcp/22", "udp/53"}},
		{[]string{"tcp/22", "tcp/23", "tcp/25"}, []string{"tcp/22-23", "tcp/25"}},
		{[]string{"tcp/20-30", "tcp/25", "tcp/31"}, []string{"tcp/20-31"}},
		{[]string{"tcp", "tcp/22", "udp/1"}, []string{"tcp", "udp/1"}},
		{[]string{"icmp", "any", "tcp/22"}, []string{"any"}},
		{[]string{"icmp", "icmp"}, []string{"icmp"}},
		{[]string{"tcp/100", "tcp/22"}, []string{"tcp/22", "tcp/100"}},
	}
	for _, c := range norm {
		if got := membership.NormalizePorts(portSpecs(c.in...)); !slices.Equal(got, portSpecs(c.want...)) {
			t.Errorf("NormalizePorts(%v): got %v, want %v", c.in, got, c.want)
		}
	}
	r := rule("a", membership.ContextRouter, []string{"tag:b", "members", "tag:b"}, []string{"10.0.0.0/8", "9.0.0.0/8"}, []string{"tcp/2", "tcp/1"})
	p := policyOf(meshRule("z"), r)
	p.Normalize()
	if err := membership.ValidatePolicy(p, nil); err != nil {
		t.Errorf("a normalised policy is not valid: %v", err)
	}
	if got, want := membership.DescribeRule(&p.Rules[0]), "a [router] members tag:b -> 10.0.0.0/8 9.0.0.0/8 : tcp/1-2"; got != want {
		t.Errorf("normalised rule: got %q, want %q", got, want)
	}
	unmasked := policyOf(rule("a", membership.ContextRouter, []string{"members"}, []string{"10.0.0.0/8"}, []string{"any"}))
	unmasked.Rules[0].Dst = []membership.Selector{membership.PrefixSelector(netip.MustParsePrefix("10.1.2.3/8"))}
	unmasked.Normalize()
	if err := membership.ValidatePolicy(unmasked, nil); membership.CodeOf(err) != membership.IllegalOperation {
		t.Errorf("Normalize of an unmasked prefix: validation got %v, want ILLEGAL_OPERATION (never masked silently)", err)
	}
}

// TestPolicyParseLimit: a policy with more rules than MaxPolicyRules is
// refused while parsing (§13.6 step 5), before any work on its rules.
func TestPolicyParseLimit(t *testing.T) {
	g := goldenChainV2(t)[0].Update
	l := membership.DefaultLimits()
	l.MaxPolicyRules = len(g.Body.Operation.Policy.Rules) - 1
	if _, err := membership.ParseBody(g.BodyBytes(), &l); membership.CodeOf(err) != membership.LimitExceeded {
		t.Errorf("ParseBody of a genesis over MaxPolicyRules: got %v, want LIMIT_EXCEEDED", err)
	}
	if _, err := membership.ParsePolicy(membership.EncodePolicy(g.Body.Operation.Policy), &l); membership.CodeOf(err) != membership.LimitExceeded {
		t.Errorf("ParsePolicy over MaxPolicyRules: got %v, want LIMIT_EXCEEDED", err)
	}
	l.MaxPolicyRules++
	if _, err := membership.ParseBody(g.BodyBytes(), &l); err != nil {
		t.Errorf("ParseBody at MaxPolicyRules: %v", err)
	}
}
