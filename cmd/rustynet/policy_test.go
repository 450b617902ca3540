package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/membership"
)

// writeFile writes a file of the test's directory.
func writeFile(t *testing.T, name, text string) {
	t.Helper()
	if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// sshPolicy lets n1 reach every member over SSH and pings between members.
const sshPolicy = `
[rules.ssh]
src = ["n1"]
dst = ["members"]
ports = ["tcp/22"]

[rules.ping]
src = ["members"]
dst = ["members"]
ports = ["icmp"]
`

// TestInitWritesDefaultPolicy: membership init writes an explicit policy
// into the genesis: allow-members by default, the file's with --policy;
// verify-update and status show it.
func TestInitWritesDefaultPolicy(t *testing.T) {
	n := newNet(t)
	st := status(t)
	if st.SchemaVersion != 2 || st.Policy == nil || st.Policy.Rules != 1 {
		t.Fatalf("status of a new network: got schema %d, policy %+v; want schema 2 and one rule", st.SchemaVersion, st.Policy)
	}
	r := mustRun(t, "membership", "verify-update", "genesis.json")
	for _, want := range []string{"\n  policy: 1 rule\n", "\n  + rule allow-members [mesh] members -> members : any\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("verify-update of the genesis lacks %q:\n%s", want, r.stdout)
		}
	}
	show := mustRun(t, "policy", "show", "--from", "log.json")
	if !strings.Contains(show.stdout, "[rules.allow-members]\ncontext = \"mesh\"\nsrc = [\"members\"]\ndst = [\"members\"]\nports = [\"any\"]\n") {
		t.Errorf("policy show of the default policy:\n%s", show.stdout)
	}

	writeFile(t, "ssh.toml", sshPolicy)
	mustRun(t, n.expand("membership", "init", "--network-id", "other", "--threshold", "1",
		"--approver", "alice={alice}:owner", "--policy", "ssh.toml", "--out", "g2.json")...)
	r = runCLI(t, "membership", "verify-update", "g2.json") // unsigned: THRESHOLD_NOT_MET, with the review
	for _, want := range []string{"  policy: 2 rules\n", "  + rule ping [mesh] members -> members : icmp\n", "  + rule ssh [mesh] node:n1 -> members : tcp/22\n"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("verify-update of a genesis with --policy lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestPolicyFlow: show, edit, check, propose, verify (the rule diff), sign,
// apply, test — the operator's way of changing the policy — with text and
// JSON output.
func TestPolicyFlow(t *testing.T) {
	n := newNet(t)
	n.propose(t, "add.json", []string{"alice", "bob"}, "propose-add-node", "--node-id", "n2", "--node-key", "{n2}", "--address", "100.64.0.2/32", "--tag", "web")
	mustRun(t, "membership", "apply-update", "--from", "log.json", "add.json")

	mustRun(t, "policy", "show", "--from", "log.json", "--out", "current.toml")
	if r := mustRun(t, "policy", "check", "current.toml", "--from", "log.json"); !strings.Contains(r.stdout, "findings: none\nagainst the signed policy:\n  the signed policy is this one: no change\n") {
		t.Errorf("check of the current policy:\n%s", r.stdout)
	}

	writeFile(t, "new.toml", sshPolicy+`
[rules.web]
src = ["members", "ghost"]
dst = ["tag:web"]
ports = ["tcp/443"]
`)
	r := runCLI(t, "policy", "check", "new.toml", "--from", "log.json")
	if r.exit != exitRejected || !strings.HasPrefix(r.stderr, "error: POLICY_FINDINGS: new.toml: 1 finding(s)\n") {
		t.Errorf("check with a finding: exit %d, stderr %q", r.exit, r.stderr)
	}
	if !strings.Contains(r.stdout, "  new.toml:12: rule web: node:ghost: no node ghost in the membership: selects nothing\n") {
		t.Errorf("check findings lack the ghost with its line:\n%s", r.stdout)
	}
	r = runCLI(t, "--json", "policy", "check", "new.toml", "--from", "log.json")
	var co checkOutput
	if err := json.Unmarshal([]byte(r.stdout), &co); err != nil {
		t.Fatalf("check --json: %v\n%s", err, r.stdout)
	}
	if len(co.Findings) != 1 || co.Findings[0].Rule != "web" || co.Findings[0].Line != 12 || co.Rules != 3 || co.Against == nil || co.Against.Epoch != 2 {
		t.Errorf("check --json: got %+v", co)
	}

	n.propose(t, "set.json", nil, "propose-set-policy", "--policy", "new.toml")
	r = runCLI(t, "membership", "verify-update", "--from", "log.json", "set.json")
	wantChanges := "changes:\n" +
		"  ~ policy: 1 rule -> 3 rules\n" +
		"  - rule allow-members [mesh] members -> members : any\n" +
		"  + rule ping [mesh] members -> members : icmp\n" +
		"  + rule ssh [mesh] node:n1 -> members : tcp/22\n" +
		"  + rule web [mesh] members node:ghost -> tag:web : tcp/443\n"
	if !strings.Contains(r.stdout, wantChanges) {
		t.Errorf("verify-update of set_policy lacks the rule diff:\n%s\nwant it to contain:\n%s", r.stdout, wantChanges)
	}
	if !strings.Contains(r.stdout, "  current approvers:  0 of 2  MISSING\n") || !strings.Contains(r.stdout, "owner signature: not required\n") {
		t.Errorf("verify-update of set_policy: want the current threshold only, no owner:\n%s", r.stdout)
	}
	assertRejected(t, r, membership.ThresholdNotMet)
	n.sign(t, "set.json", "bob", "carol") // no owner needed
	mustRun(t, "membership", "apply-update", "--from", "log.json", "set.json")
	if st := status(t); st.Policy == nil || st.Policy.Rules != 3 {
		t.Errorf("status after set_policy: got %+v, want 3 rules", st.Policy)
	}

	tests := []struct {
		args []string
		exit int
		out  string
	}{
		{[]string{"n1", "n2", "tcp/22"}, exitOK, "allow: n1 -> n2 tcp/22 (mesh, at n2)\nrule ssh allows it\n"},
		{[]string{"n2", "n1", "tcp/22"}, exitRejected, "deny: n2 -> n1 tcp/22 (mesh, at n1)\nno mesh rule allows it\n"},
		{[]string{"n2", "100.64.0.1", "icmp"}, exitOK, "allow: n2 -> 100.64.0.1 icmp (mesh, at n1)\nrule ping allows it\n"},
		{[]string{"n1", "n2", "tcp/443"}, exitOK, "allow: n1 -> n2 tcp/443 (mesh, at n2)\nrule web allows it\n"},
		{[]string{"ghost", "n2", "tcp/443"}, exitRejected, "deny: ghost -> n2 tcp/443\nsrc ghost is not a member of network demo\n"},
		{[]string{"n1", "1.1.1.1", "tcp/443"}, exitRejected, "deny: n1 -> 1.1.1.1 tcp/443 (exit)\n1.1.1.1 is neither a mesh address nor served by a router, and no active exit node other than src carries it\n"},
	}
	for _, tt := range tests {
		r := runCLI(t, append([]string{"policy", "test", "--from", "log.json"}, tt.args...)...)
		if r.exit != tt.exit || r.stdout != tt.out {
			t.Errorf("policy test %v: got exit %d stdout %q, want exit %d stdout %q", tt.args, r.exit, r.stdout, tt.exit, tt.out)
		}
		if tt.exit == exitRejected && !strings.HasPrefix(r.stderr, "error: POLICY_DENIED: ") {
			t.Errorf("policy test %v: stderr %q, want POLICY_DENIED first", tt.args, r.stderr)
		}
	}
	// A draft policy, tested before it is proposed.
	writeFile(t, "draft.toml", "[rules.rev]\nsrc = [\"n2\"]\ndst = [\"n1\"]\nports = [\"tcp/22\"]\n")
	mustRun(t, "policy", "test", "--from", "log.json", "--policy", "draft.toml", "n2", "n1", "tcp/22")
	r = mustRun(t, "--json", "policy", "test", "--from", "log.json", "n1", "n2", "tcp/22")
	var to testOutput
	if err := json.Unmarshal([]byte(r.stdout), &to); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(testOutput{Against: to.Against, Policy: "signed", Src: "n1", Dst: "n2", Protocol: "tcp/22", Allow: true, Rule: "ssh", Context: "mesh", Via: "n2", Reason: "rule ssh allows it"}, to); diff != "" {
		t.Errorf("policy test --json (-want +got):\n%s", diff)
	}

	// Revoking n1: even the rule naming it no longer allows it.
	n.propose(t, "revoke.json", []string{"alice", "bob"}, "propose-revoke-node", "--node-id", "n1")
	mustRun(t, "membership", "apply-update", "--from", "log.json", "revoke.json")
	r = runCLI(t, "policy", "test", "--from", "log.json", "n1", "n2", "tcp/22")
	if r.exit != exitRejected || r.stdout != "deny: n1 -> n2 tcp/22\nsrc n1 is revoked: no rule selects it\n" {
		t.Errorf("policy test from a revoked node: exit %d stdout %q", r.exit, r.stdout)
	}

	// show --json: the canonical document and its digest.
	r = mustRun(t, "--json", "policy", "show", "--from", "log.json")
	var so struct {
		Digest string          `json:"policy_digest"`
		Policy json.RawMessage `json:"policy"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &so); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, so.Policy); err != nil {
		t.Fatal(err)
	}
	if p, err := membership.ParsePolicy(compact.Bytes(), nil); err != nil || membership.PolicyDigest(p).String() != so.Digest || so.Digest != status(t).Policy.Digest {
		t.Errorf("show --json: policy %s (%v), digest %s", so.Policy, err, so.Digest)
	}
}

// TestPolicyFileErrors: a policy file that is not TOML or has unknown keys
// is a usage error; one the engine refuses carries its code; both name
// file and line, and nothing is written.
func TestPolicyFileErrors(t *testing.T) {
	cases := []struct {
		name, text string
		exit       int
		stderr     string
	}{
		{"syntax", "[rules.x\n", exitUsage, "error: USAGE: bad.toml:1: "},
		{"unknown key", "[rules.x]\nsrc = [\"members\"]\ndst = [\"members\"]\nports = [\"any\"]\nallow = true\n", exitUsage,
			"error: USAGE: bad.toml:5: rules.x.allow: unknown key (a rule has context, src, dst, ports)\n"},
		{"engine refusal", "[rules.x]\nsrc = [\"members\"]\ndst = [\"internet\"]\nports = [\"any\"]\n", exitRejected,
			"error: ILLEGAL_OPERATION: bad.toml:1: rules.x: rule x: dst: \"internet\" is not allowed in the dst of a mesh rule\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n := newNet(t)
			writeFile(t, "bad.toml", c.text)
			before := snapshot(t, n.dir)
			for _, args := range [][]string{
				{"policy", "check", "bad.toml"},
				n.expand("membership", "init", "--network-id", "x", "--threshold", "1", "--approver", "a={alice}:owner", "--policy", "bad.toml", "--out", "g.json"),
				{"membership", "propose-set-policy", "--from", "log.json", "--policy", "bad.toml", "--out", "u.json"},
				{"policy", "test", "--from", "log.json", "--policy", "bad.toml", "n1", "n1", "icmp"},
			} {
				r := runCLI(t, args...)
				if r.exit != c.exit || !strings.HasPrefix(r.stderr, c.stderr) {
					t.Errorf("%v: got exit %d stderr %q, want exit %d stderr starting %q", args[:2], r.exit, r.stderr, c.exit, c.stderr)
				}
			}
			assertUnchanged(t, n.dir, before)
		})
	}

	t.Run("usage", func(t *testing.T) {
		newNet(t)
		for _, args := range [][]string{
			{"policy", "check"},
			{"policy", "check", "missing.toml"},
			{"policy", "test", "n1", "n1", "icmp"},
			{"policy", "test", "--from", "log.json", "n1", "n1", "sctp/1"},
			{"policy", "test", "--from", "log.json", "n1", "n1", "tcp"},
			{"policy", "test", "--from", "log.json", "n1", "n1", "icmp/8"},
			{"policy", "show"},
			{"membership", "propose-set-policy", "--from", "log.json", "--out", "u.json"},
			{"policy", "show", "--from", "log.json", "--out", "log.json"},
		} {
			if r := runCLI(t, args...); r.exit != exitUsage || !strings.HasPrefix(r.stderr, "error: USAGE: ") {
				t.Errorf("%v: got exit %d stderr %q, want a usage error", args, r.exit, r.stderr)
			}
		}
	})

	t.Run("same policy", func(t *testing.T) {
		n := newNet(t)
		mustRun(t, "policy", "show", "--from", "log.json", "--out", "p.toml")
		before := snapshot(t, n.dir)
		r := runCLI(t, "membership", "propose-set-policy", "--from", "log.json", "--policy", "p.toml", "--out", "u.json")
		assertRejected(t, r, membership.IllegalOperation)
		if !strings.Contains(r.stderr, "changes nothing") {
			t.Errorf("stderr %q, want it to say the update changes nothing", r.stderr)
		}
		assertUnchanged(t, n.dir, before)
	})
}

// TestPolicyOnV1Log: a log of a network created before schema 2 (the v1
// golden log) has no policy: status and show say so, test denies, and
// propose-set-policy gives it one with a schema-2 update whose review
// shows the change from none.
func TestPolicyOnV1Log(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "core", "membership", "testdata", "golden", "log.json"))
	if err != nil {
		t.Fatal(err)
	}
	t.Chdir(t.TempDir())
	writeFile(t, "log.json", string(data))
	st := status(t)
	if st.SchemaVersion != 1 || st.Policy != nil {
		t.Errorf("status of a v1 log: got schema %d, policy %+v", st.SchemaVersion, st.Policy)
	}
	if r := mustRun(t, "membership", "status", "--from", "log.json"); !strings.Contains(r.stdout, "policy:        none: every connection is denied") {
		t.Errorf("status text of a v1 log lacks the policy line:\n%s", r.stdout)
	}
	if r := mustRun(t, "policy", "show", "--from", "log.json"); !strings.Contains(r.stdout, "# The network has no policy: every connection is denied.\n") || !strings.Contains(r.stdout, "\n# No rules: everything is denied.\n") {
		t.Errorf("policy show of a v1 log:\n%s", r.stdout)
	}
	r := runCLI(t, "policy", "test", "--from", "log.json", "laptop.ann", "gw-1", "icmp")
	if r.exit != exitRejected || !strings.Contains(r.stdout, "the state has no policy: everything is denied") {
		t.Errorf("policy test on a v1 log: exit %d stdout %q", r.exit, r.stdout)
	}
	writeFile(t, "p.toml", "[rules.allow-members]\nsrc = [\"members\"]\ndst = [\"members\"]\nports = [\"any\"]\n")
	mustRun(t, "membership", "propose-set-policy", "--from", "log.json", "--policy", "p.toml", "--out", "u.json")
	r = runCLI(t, "membership", "verify-update", "--from", "log.json", "u.json")
	if !strings.Contains(r.stdout, "  ~ policy: none (everything denied) -> 1 rule\n  + rule allow-members [mesh] members -> members : any\n") {
		t.Errorf("verify-update of the first set_policy:\n%s", r.stdout)
	}
	u, err := membership.ParseSignedUpdate([]byte(readFile(t, "u.json")), nil)
	if err != nil || u.Body.SchemaVersion != 2 {
		t.Errorf("the upgrade update: %v, schema %d; want schema 2", err, u.Body.SchemaVersion)
	}
}
