package policy_test

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/policy"
	"github.com/rustynet/rustynet/hostapi"
)

// TestCompilerReusesNothingItReturns drives one Compiler through a
// network that grows, loses a member, changes its policy (also several
// times over the same nodes, and after a node's tags change) and compiles
// for different nodes: every filter equals Compile's of the same state,
// and stays equal after later compiles reuse the Compiler's memory (a
// filter shares none of it).
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
	// Policy changes that leave the nodes alone: the Compiler resolves
	// selector lists from its last compile; a change of a node's tags
	// must not be answered from them.
	n.do(t, membership.Operation{Type: membership.OpSetPolicy, Policy: parsePolicy(t, text)})
	check("after the first policy again")
	n.do(t, membership.Operation{Type: membership.OpSetPolicy, Policy: parsePolicy(t, text+"\n[rules.two]\nsrc = [\"tag:ops\"]\ndst = [\"members\"]\nports = [\"tcp/22\"]\n")})
	check("after a rule added")
	x := nodeSpec{id: "x03", addr: "100.64.3.9", tags: []string{"web"}}.node(13)
	n.do(t, membership.Operation{Type: membership.OpUpdateNode, NodeID: "x03", Addresses: x.Addresses, Endpoints: x.Endpoints, Tags: x.Tags})
	check("after x03 is retagged")
	n.do(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "n2"})
	check("after revoking n2")
	n.do(t, membership.Operation{Type: membership.OpSetPolicy, Policy: parsePolicy(t, text)})
	check("after the first policy once more")
	for _, k := range all {
		if got := filterText(k.got); got != k.want {
			t.Errorf("the filter compiled %s changed after later compiles:\n%s\nwant\n%s", k.what, got, k.want)
		}
	}
}

// TestCompilerFollowsRandomChanges applies random changes to random
// networks — new policies, revocations, restorations, retags — compiling
// for one node through one Compiler after each: every filter equals a
// fresh Compile's.
func TestCompilerFollowsRandomChanges(t *testing.T) {
	for seed := range uint64(60) {
		r := rand.New(rand.NewPCG(seed, 7))
		n := randomNet(t, seed)
		s := n.state()
		var ids []string
		for node := range s.Nodes() {
			ids = append(ids, node.ID)
		}
		self := ids[r.IntN(len(ids))]
		opts := policy.Options{Serve: true, MeshServicePort: 7777}
		var c policy.Compiler
		for step := range 12 {
			s := n.state()
			got, want := c.Compile(s.Policy(), s, self, opts), policy.Compile(s.Policy(), s, self, opts)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("seed %d, step %d, at %s: Compiler gave\n%s\nCompile gives\n%s", seed, step, self, filterText(got), filterText(want))
			}
			id := ids[r.IntN(len(ids))]
			node, _ := s.Node(id)
			switch k := r.IntN(4); {
			case k == 0:
				n.do(t, membership.Operation{Type: membership.OpSetPolicy, Policy: parsePolicy(t, randomPolicyText(r, len(ids)))})
			case k == 1 && node.Status == membership.StatusActive && id != self:
				n.do(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: id})
			case k == 1 && node.Status == membership.StatusRevoked:
				n.do(t, membership.Operation{Type: membership.OpRestoreNode, NodeID: id})
			default:
				var choices [][]string // another set of tags than the node's
				for _, tags := range [][]string{nil, {"a"}, {"b"}, {"router"}, {"exit"}} {
					if !slices.Equal(tags, node.Tags) {
						choices = append(choices, tags)
					}
				}
				node.Tags = choices[r.IntN(len(choices))]
				n.do(t, membership.Operation{Type: membership.OpUpdateNode, NodeID: id, Addresses: node.Addresses, Endpoints: node.Endpoints, Routes: node.Routes, Tags: node.Tags})
			}
		}
	}
}
