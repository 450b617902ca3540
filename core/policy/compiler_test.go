package policy_test

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/policy"
	"github.com/rustynet/rustynet/hostapi"
)

// TestCompilerReusesNothingItReturns drives one Compiler through a
// network that grows, loses a member, changes its policy and compiles for
// different nodes: every filter equals Compile's of the same state, and
// stays equal after later compiles reuse the Compiler's memory (a filter
// shares none of it).
func TestCompilerReusesNothingItReturns(t *testing.T) {
	const text = `
[rules.web]
src = ["tag:ops", "node:n3"]
dst = ["tag:web"]
ports = ["tcp/443", "icmp"]

[rules.all]
src = ["members"]
dst = ["members"]
ports = ["udp/53"]
`
	n := newTestNet(t, text,
		nodeSpec{id: "n1", addr: "100.64.0.1", tags: []string{"web"}},
		nodeSpec{id: "n2", addr: "100.64.0.9", tags: []string{"ops"}},
		nodeSpec{id: "n3", addr: "fd00::3"},
	)
	opts := policy.Options{Serve: true, MeshServicePort: 7777}
	var c policy.Compiler
	type kept struct {
		what string
		got  hostapi.Filter
		want string
	}
	var all []kept
	check := func(what string) {
		t.Helper()
		s := n.state()
		for _, self := range []string{"n1", "n2", "n3"} {
			got := c.Compile(s.Policy(), s, self, opts)
			want := policy.Compile(s.Policy(), s, self, opts)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s, at %s: Compiler gave\n%s\nCompile gives\n%s", what, self, filterText(got), filterText(want))
			}
			all = append(all, kept{what + " at " + self, got, filterText(want)})
		}
	}
	check("genesis")
	for i := range 40 { // non-contiguous addresses: long source lists
		m := nodeSpec{id: fmt.Sprintf("x%02d", i), addr: fmt.Sprintf("100.64.%d.%d", i, 2*i+3), tags: []string{"ops"}}.node(10 + i)
		n.do(t, membership.Operation{Type: membership.OpAddNode, Node: m})
		check(fmt.Sprintf("after adding %s", m.ID))
	}
	n.do(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "x07"})
	check("after revoking x07")
	n.do(t, membership.Operation{Type: membership.OpSetPolicy, Policy: parsePolicy(t, "[rules.one]\nsrc = [\"node:n2\"]\ndst = [\"members\"]\nports = [\"any\"]\n")})
	check("after a policy change")
	for _, k := range all {
		if got := filterText(k.got); got != k.want {
			t.Errorf("the filter compiled %s changed after later compiles:\n%s\nwant\n%s", k.what, got, k.want)
		}
	}
}
