package policy_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/policy"
)

// TestCheck: every kind of finding, against a membership with a router,
// a revoked node and no exit node; then the exit node appears and its
// findings go.
func TestCheck(t *testing.T) {
	net := newTestNet(t, `
[rules.ssh]
src = ["tag:admin", "ghost", "old"]
dst = ["tag:server", "tag:nobody"]
ports = ["tcp/22"]

[rules.lan]
context = "router"
src = ["members"]
dst = ["10.20.0.0/16", "172.16.0.0/12"]
ports = ["tcp/443"]

[rules.nolan]
context = "router"
src = ["members"]
dst = ["172.16.0.0/12"]
ports = ["tcp/443"]

[rules.out]
context = "exit"
src = ["members"]
dst = ["internet", "100.64.0.1/32"]
ports = ["any"]

[rules.self]
src = ["gw"]
dst = ["gw"]
ports = ["any"]

[rules.dead]
src = ["old"]
dst = ["members"]
ports = ["any"]
`,
		nodeSpec{id: "gw", addr: "100.64.0.1", tags: []string{"router"}, routes: []string{"10.20.0.0/16"}},
		nodeSpec{id: "ann", addr: "100.64.0.2", tags: []string{"admin"}},
		nodeSpec{id: "db", addr: "100.64.0.3", tags: []string{"server"}},
		nodeSpec{id: "old", addr: "100.64.0.4", tags: []string{"admin"}},
	)
	net.do(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "old"})
	s := net.state()
	want := []string{
		"rule dead: node:old: node old is revoked: selects nothing while it is",
		"rule dead: matches nothing: src selects no active member",
		"rule lan: 172.16.0.0/12: no active router serves any of it (outside mesh addresses): selects nothing",
		"rule nolan: 172.16.0.0/12: no active router serves any of it (outside mesh addresses): selects nothing",
		"rule nolan: matches nothing: no active router serves any of dst",
		"rule out: 100.64.0.1/32: it is all mesh addresses or routed subnets, which no exit node carries: selects nothing",
		"rule out: matches nothing: there is no active exit node",
		"rule self: matches nothing: its only source is its only destination",
		"rule ssh: node:ghost: no node ghost in the membership: selects nothing",
		"rule ssh: node:old: node old is revoked: selects nothing while it is",
		"rule ssh: tag:nobody: no active member carries tag nobody: selects nothing",
	}
	if diff := cmp.Diff(want, findings(policy.Check(s.Policy(), s))); diff != "" {
		t.Errorf("Check (-want +got):\n%s", diff)
	}

	// gw becomes an exit node too: the exit rule matches.
	net.do(t, membership.Operation{Type: membership.OpUpdateNode, NodeID: "gw", Addresses: mustPrefixes("100.64.0.1/32"),
		Endpoints: nil, Tags: []string{"exit", "router"}, Routes: mustPrefixes("10.20.0.0/16")})
	s = net.state()
	got := findings(policy.Check(s.Policy(), s))
	for _, f := range got {
		if f == "rule out: matches nothing: there is no active exit node" {
			t.Errorf("Check with an exit node still says: %s", f)
		}
	}

	if got := findings(policy.Check(&membership.Policy{}, s)); !cmp.Equal(got, []string{"the policy has no rules: it allows nothing"}) {
		t.Errorf("Check of an empty policy: got %q", got)
	}
	if got := findings(policy.Check(nil, s)); len(got) != 1 {
		t.Errorf("Check of no policy: got %q, want one finding", got)
	}
	clean := parsePolicy(t, "[rules.a]\nsrc = [\"members\"]\ndst = [\"members\"]\nports = [\"any\"]\n")
	if got := policy.Check(clean, s); len(got) != 0 {
		t.Errorf("Check of allow-members: got %v, want nothing", findings(got))
	}
}

func findings(fs []policy.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.String())
	}
	return out
}
