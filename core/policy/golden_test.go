package policy_test

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/policy"
)

// updateGolden rewrites testdata/compile from the scenarios below:
//
//	go test -run TestCompileGolden -update ./core/policy
//
// Review the diff: a changed golden file is a changed filter on some node.
var updateGolden = flag.Bool("update", false, "rewrite testdata/compile")

// goldenScenarios are networks whose compiled filters are pinned, node by
// node, with and without serving.
var goldenScenarios = []struct {
	name   string
	policy string
	nodes  []nodeSpec
	ops    []membership.Operation
}{
	{
		name:   "office",
		policy: officePolicy,
		nodes: []nodeSpec{
			{id: "gw", addr: "100.64.0.1", tags: []string{"exit", "router"}, routes: []string{"10.20.0.0/16", "fd7a:115c:a1e0:20::/64"}},
			{id: "ann", addr: "100.64.0.2", tags: []string{"admin", "laptop"}},
			{id: "bob", addr: "100.64.0.3", tags: []string{"laptop"}},
			{id: "db-1", addr: "100.64.0.10", tags: []string{"db", "server"}},
			{id: "web-1", addr: "100.64.0.11", tags: []string{"server", "web"}},
			{id: "web-2", addr: "fd7a:115c:a1e0::12", tags: []string{"server", "web"}},
			{id: "old", addr: "100.64.0.99", tags: []string{"laptop", "admin"}},
		},
		ops: []membership.Operation{{Type: membership.OpRevokeNode, NodeID: "old"}},
	},
	{name: "m5", policy: m5Policy, nodes: []nodeSpec{
		{id: "a", addr: "100.64.0.1", tags: []string{"web"}},
		{id: "b", addr: "100.64.0.2", tags: []string{"exit"}},
		{id: "c", addr: "100.64.0.3", tags: []string{"admin"}},
		{id: "d", addr: "fd00::4"},
	}},
	{name: "default", policy: "[rules.allow-members]\nsrc = [\"members\"]\ndst = [\"members\"]\nports = [\"any\"]\n", nodes: []nodeSpec{
		{id: "n1", addr: "100.64.0.1"}, {id: "n2", addr: "100.64.0.2"}, {id: "n3", addr: "100.64.0.3"}, {id: "n4", addr: "100.64.0.4"},
	}},
}

// officePolicy is the example of docs/policy.md §5.
const officePolicy = `
[rules.ping]
src = ["members"]
dst = ["members"]
ports = ["icmp"]

[rules.ssh]
context = "mesh"
src = ["tag:admin"]
dst = ["tag:server", "db-1"]
ports = ["tcp/22"]

[rules.web]
src = ["members"]
dst = ["tag:web"]
ports = ["tcp/80", "tcp/443", "udp/443"]

[rules.office-lan]
context = "router"
src = ["tag:laptop"]
dst = ["10.20.0.0/16"]
ports = ["tcp/443", "tcp/3389", "icmp"]

[rules.laptops-out]
context = "exit"
src = ["tag:laptop"]
dst = ["internet"]
ports = ["tcp/80", "tcp/443", "udp/53", "tcp/53"]
`

// TestCompileGolden pins the compiled filter of every node of each
// scenario, serving and not (testdata/compile/NAME.golden).
func TestCompileGolden(t *testing.T) {
	for _, sc := range goldenScenarios {
		t.Run(sc.name, func(t *testing.T) {
			net := newTestNet(t, sc.policy, sc.nodes...)
			for _, op := range sc.ops {
				net.do(t, op)
			}
			s := net.state()
			var b bytes.Buffer
			fmt.Fprintf(&b, "# policy.Compile of every node of scenario %q (core/policy/golden_test.go).\n", sc.name)
			fmt.Fprintf(&b, "# Regenerate with: go test -run TestCompileGolden -update ./core/policy\n")
			for n := range s.Nodes() {
				for _, serve := range []bool{false, true} {
					f := policy.Compile(s.Policy(), s, n.ID, policy.Options{Serve: serve})
					fmt.Fprintf(&b, "\n== %s (%s) serve=%v: %d rules\n%s", n.ID, n.Status, serve, len(f.Rules), filterText(f))
				}
			}
			path := filepath.Join("testdata", "compile", sc.name+".golden")
			if *updateGolden {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(b.Bytes(), want) {
				t.Errorf("%s differs from the compiled filters:\n got:\n%s\nwant:\n%s", path, b.Bytes(), want)
			}
		})
	}
}
