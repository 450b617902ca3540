package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPolicyBinary runs the policy workflow through the built binary, as
// an operator does: a genesis with a policy file, the check and test
// verdicts with their exit statuses and error lines, a set_policy proposed,
// reviewed rule by rule, signed and applied, and the policy shown back.
func TestPolicyBinary(t *testing.T) {
	u := &userShell{t: t, bin: builtBinary(t), dir: t.TempDir()}
	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(u.dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pub := map[string]string{}
	for _, k := range []struct{ kind, name string }{{"approver", "alice"}, {"approver", "bob"}, {"node", "n1"}, {"node", "n2"}} {
		r := u.expect(0, "…", "", "key", "generate", "--kind", k.kind, "--out", k.name+".key")
		pub[k.name] = strings.TrimSpace(r.stdout)
	}
	write("start.toml", "[rules.ping]\nsrc = [\"members\"]\ndst = [\"members\"]\nports = [\"icmp\"]\n")
	r := u.expect(0, "wrote genesis.json\n…", "", "membership", "init", "--network-id", "demo", "--threshold", "2",
		"--approver", "alice="+pub["alice"]+":owner", "--approver", "bob="+pub["bob"],
		"--node", "n1="+pub["n1"]+",100.64.0.1", "--node", "n2="+pub["n2"]+",100.64.0.2", "--policy", "start.toml", "--out", "genesis.json")
	if !strings.Contains(r.stdout, "\n  policy: 1 rule\n  + rule ping [mesh] members -> members : icmp\n") {
		t.Errorf("init does not show its policy:\n%s", r.stdout)
	}
	for _, name := range []string{"alice", "bob"} {
		u.expect(0, "…", "", "membership", "sign-update", "--key", name+".key", "genesis.json")
	}
	u.expect(0, "…", "…", "membership", "export", "--from", "genesis.json", "--out", "log.json")

	u.expect(0, "allow: n1 -> n2 icmp (mesh, at n2)\nrule ping allows it\n", "…", "policy", "test", "--from", "log.json", "n1", "n2", "icmp")
	u.expect(1, "deny: n1 -> n2 tcp/22 (mesh, at n2)\nno mesh rule allows it\n",
		"error: POLICY_DENIED: n1 -> n2 tcp/22: no mesh rule allows it\n…", "policy", "test", "--from", "log.json", "n1", "n2", "tcp/22")

	write("ssh.toml", "[rules.ping]\nsrc = [\"members\"]\ndst = [\"members\"]\nports = [\"icmp\"]\n\n[rules.ssh]\nsrc = [\"n1\", \"n9\"]\ndst = [\"n2\"]\nports = [\"tcp/22\"]\n")
	u.expect(1, "ssh.toml: a valid policy of 2 rule(s), digest …", "error: POLICY_FINDINGS: ssh.toml: 1 finding(s)\n…",
		"policy", "check", "ssh.toml", "--from", "log.json")
	u.expect(0, "ssh.toml: a valid policy of 2 rule(s), digest …", "", "policy", "check", "ssh.toml")
	write("bad.toml", "[rules.ssh]\nsrc = [\"n1\"]\ndst = [\"n2\"]\nports = [\"tcp/0\"]\n")
	u.expect(1, "", "error: ILLEGAL_OPERATION: bad.toml:4: rules.ssh.ports: \"tcp/0\" is not a port spec (any, icmp, tcp, udp, tcp/PORT, tcp/FIRST-LAST, udp/…)\n",
		"policy", "check", "bad.toml")
	write("typo.toml", "[rules.ssh]\nsrc = [\"n1\"]\ndest = [\"n2\"]\n")
	u.expect(2, "", "error: USAGE: typo.toml:3: rules.ssh.dest: unknown key (a rule has context, src, dst, ports)\n", "policy", "check", "typo.toml")

	u.expect(0, "wrote set.json\n…", "…", "membership", "propose-set-policy", "--from", "log.json", "--policy", "ssh.toml", "--out", "set.json")
	r = u.expect(1, "file: set.json\n…", "error: THRESHOLD_NOT_MET: 0 of 2 approver signatures\n…", "membership", "verify-update", "--from", "log.json", "set.json")
	if !strings.Contains(r.stdout, "changes:\n  ~ policy: 1 rule -> 2 rules\n  + rule ssh [mesh] node:n1 node:n9 -> node:n2 : tcp/22\n") {
		t.Errorf("verify-update does not show the rule diff:\n%s", r.stdout)
	}
	for _, name := range []string{"alice", "bob"} {
		u.expect(0, "…", "…", "membership", "sign-update", "--key", name+".key", "--from", "log.json", "set.json")
	}
	u.expect(0, "applied …", "…", "membership", "apply-update", "--from", "log.json", "set.json")
	u.expect(0, "allow: n1 -> 100.64.0.2 tcp/22 (mesh, at n2)\nrule ssh allows it\n", "…", "policy", "test", "--from", "log.json", "n1", "100.64.0.2", "tcp/22")
	r = u.expect(0, "# Access policy of network demo at epoch 2 …", "…", "policy", "show", "--from", "log.json")
	if !strings.Contains(r.stdout, "[rules.ssh]\ncontext = \"mesh\"\nsrc = [\"node:n1\", \"node:n9\"]\ndst = [\"node:n2\"]\nports = [\"tcp/22\"]\n") {
		t.Errorf("policy show:\n%s", r.stdout)
	}
}
