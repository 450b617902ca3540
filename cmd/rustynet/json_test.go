package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
)

// jsonCase runs one command that supports --json: setup prepares what it
// reads in the testNet's directory (the current one) and returns its
// arguments after the command's name; the command must exit with exit
// and print one JSON document on stdout.
type jsonCase struct {
	setup func(t *testing.T, n *testNet) []string
	exit  int
}

// jsonCases are the commands that print their result as JSON, by path.
// A new command either gets a case here or says why it has no JSON output
// (command.noJSON); TestEveryCommandJSON fails until it does one or the
// other.
var jsonCases = map[string]jsonCase{
	"rustynet key generate": {setup: args("key", "generate", "--kind", "node", "--out", "new.key")},
	"rustynet key public":   {setup: args("key", "public", "alice.key")},
	"rustynet membership init": {setup: func(t *testing.T, n *testNet) []string {
		return n.expand("membership", "init", "--network-id", "j", "--threshold", "1", "--approver", "alice={alice}:owner", "--out", "init.json")
	}},
	"rustynet membership propose-add-node":    {setup: propose("propose-add-node", "--node-id", "n2", "--node-key", "{n2}", "--address", "100.64.0.2/32")},
	"rustynet membership propose-remove-node": {setup: propose("propose-remove-node", "--node-id", "n1")},
	"rustynet membership propose-revoke-node": {setup: propose("propose-revoke-node", "--node-id", "n1")},
	"rustynet membership propose-restore-node": {setup: func(t *testing.T, n *testNet) []string {
		n.propose(t, "revoke.json", []string{"alice", "bob"}, "propose-revoke-node", "--node-id", "n1")
		mustRun(t, "membership", "apply-update", "--from", "log.json", "revoke.json")
		return propose("propose-restore-node", "--node-id", "n1")(t, n)
	}},
	"rustynet membership propose-rotate-node-key": {setup: propose("propose-rotate-node-key", "--node-id", "n1", "--node-key", "{n3}")},
	"rustynet membership propose-update-node":     {setup: propose("propose-update-node", "--node-id", "n1", "--endpoint", "127.0.0.1:51820")},
	"rustynet membership propose-add-approver":    {setup: propose("propose-add-approver", "--approver-id", "dave", "--approver-key", "{dave}")},
	"rustynet membership propose-remove-approver": {setup: propose("propose-remove-approver", "--approver-id", "carol")},
	"rustynet membership propose-set-threshold":   {setup: propose("propose-set-threshold", "--threshold", "3")},
	"rustynet membership propose-set-policy": {setup: func(t *testing.T, n *testNet) []string {
		writeFile(t, "policy.toml", sshPolicy)
		return propose("propose-set-policy", "--policy", "policy.toml")(t, n)
	}},
	"rustynet membership propose-set-recovery": {setup: propose("propose-set-recovery", "--recovery-key", "{dave}", "--recovery-threshold", "1")},
	"rustynet membership propose-recover": {setup: func(t *testing.T, n *testNet) []string {
		n.propose(t, "recovery.json", []string{"alice", "bob", "dave"}, "propose-set-recovery", "--recovery-key", "{dave}", "--recovery-threshold", "1")
		mustRun(t, "membership", "apply-update", "--from", "log.json", "recovery.json")
		return propose("propose-recover", "--approver", "bob={bob}:owner", "--threshold", "1")(t, n)
	}},
	"rustynet membership sign-update": {setup: func(t *testing.T, n *testNet) []string {
		addN2(t, n)
		return []string{"membership", "sign-update", "--key", "alice.key", "--from", "log.json", "add.json"}
	}},
	"rustynet membership unsign": {setup: func(t *testing.T, n *testNet) []string {
		addN2(t, n, "alice")
		return []string{"membership", "unsign", "--key-id", "alice", "--from", "log.json", "add.json"}
	}},
	"rustynet membership verify-update": {setup: func(t *testing.T, n *testNet) []string {
		addN2(t, n, "alice", "bob")
		return []string{"membership", "verify-update", "--from", "log.json", "add.json"}
	}},
	"rustynet membership apply-update": {setup: func(t *testing.T, n *testNet) []string {
		addN2(t, n, "alice", "bob")
		return []string{"membership", "apply-update", "--from", "log.json", "add.json"}
	}},
	"rustynet membership status":     {setup: args("membership", "status", "--from", "log.json")},
	"rustynet membership export":     {setup: args("membership", "export", "--from", "log.json", "--out", "exported.json")},
	"rustynet feed publish":          {setup: args("feed", "publish", "--from", "log.json", "--out", "feed")},
	"rustynet membership verify-log": {setup: withStateDir("membership", "verify-log", "--state-dir", "node")},
	"rustynet membership propose-resolve-fork": {setup: func(t *testing.T, n *testNet) []string {
		writeEvidence(t, n, "fork.json")
		return []string{"membership", "propose-resolve-fork", "--genesis-root", status(t).GenesisRoot, "--evidence", "fork.json", "--choose", "none", "--out", "resolve.json"}
	}},
	"rustynet membership verify-evidence": {setup: func(t *testing.T, n *testNet) []string {
		writeEvidence(t, n, "fork.json")
		return []string{"membership", "verify-evidence", "--genesis-root", status(t).GenesisRoot, "fork.json"}
	}},
	"rustynet membership backup": {setup: withStateDir("membership", "backup", "--state-dir", "node", "--out", "backup.json")},
	"rustynet membership restore": {setup: func(t *testing.T, n *testNet) []string {
		withStateDir()(t, n)
		mustRun(t, "membership", "backup", "--state-dir", "node", "--out", "backup.json")
		return []string{"membership", "restore", "--state-dir", "restored", "--from", "backup.json"}
	}},
	"rustynet policy check": {setup: func(t *testing.T, n *testNet) []string {
		writeFile(t, "policy.toml", sshPolicy)
		return []string{"policy", "check", "--from", "log.json", "policy.toml"}
	}, exit: exitRejected}, // the findings: rules that select nothing with n1 alone
	"rustynet policy test": {setup: args("policy", "test", "--from", "log.json", "n1", "100.64.0.1", "tcp/22"), exit: exitRejected}, // denied: n1 to itself
	"rustynet policy show": {setup: args("policy", "show", "--from", "log.json")},
	"rustynet config check": {setup: func(t *testing.T, n *testNet) []string {
		writeFile(t, "n1.toml", "[node]\nid = \"n1\"\nprivate_key_file = \"n1.key\"\nstate_dir = \"state\"\n\n"+
			"[membership]\ngenesis_file = \"genesis.json\"\ngenesis_root = \""+status(t).GenesisRoot+"\"\n")
		return []string{"config", "check", "n1.toml"}
	}},
	"rustynet status": {setup: func(t *testing.T, n *testNet) []string {
		sock := serveStatus(t, controlapi.Status{Node: controlapi.NodeStatus{ID: "n1"}, Health: controlapi.HealthStatus{State: controlapi.HealthOK}})
		return []string{"status", "--socket", sock}
	}},
	"rustynet audit show": {setup: func(t *testing.T, n *testNet) []string {
		writeAudit(t, filepath.Join(n.dir, "state"), time.Now().Add(-time.Minute))
		return []string{"audit", "show", "--state-dir", "state"}
	}},
	"rustynet audit verify": {setup: func(t *testing.T, n *testNet) []string {
		writeAudit(t, filepath.Join(n.dir, "state"), time.Now().Add(-time.Minute))
		return []string{"audit", "verify", "--state-dir", "state"}
	}},
	"rustynet version": {setup: args("version")},
	"rustynet conformance": {setup: func(t *testing.T, n *testNet) []string {
		if testing.Short() {
			t.Skip("launches a plugin process; skipped with -short")
		}
		self, err := os.Executable()
		if err != nil {
			t.Fatal(err)
		}
		return []string{"conformance", "--plugin", self, "--args", "plugin store-file", "--kind", "store", "--run", `^process\.handshake$`}
	}},
}

// args is a jsonCase setup that needs nothing beyond the testNet.
func args(a ...string) func(*testing.T, *testNet) []string {
	return func(*testing.T, *testNet) []string { return a }
}

// propose is the setup of a propose-* command against log.json.
func propose(cmd string, a ...string) func(*testing.T, *testNet) []string {
	return func(_ *testing.T, n *testNet) []string {
		return append(n.expand(append([]string{"membership", cmd}, a...)...), "--from", "log.json", "--out", "proposal.json")
	}
}

// addN2 proposes adding n2 against log.json as add.json, signed by signers.
func addN2(t *testing.T, n *testNet, signers ...string) {
	t.Helper()
	n.propose(t, "add.json", signers, "propose-add-node", "--node-id", "n2", "--node-key", "{n2}", "--address", "100.64.0.2/32")
}

// withStateDir is the setup of a command on the state directory "node",
// which it creates from the genesis first.
func withStateDir(a ...string) func(*testing.T, *testNet) []string {
	return func(t *testing.T, n *testNet) []string {
		isolateHighWater(t)
		mustRun(t, "membership", "apply-update", "--state-dir", "node", "genesis.json")
		return a
	}
}

// writeEvidence writes evidence that alice and bob signed two updates
// for the same epoch of log.json.
func writeEvidence(t *testing.T, n *testNet, file string) {
	t.Helper()
	addN2(t, n, "alice", "bob")
	n.propose(t, "add3.json", []string{"alice", "bob"}, "propose-add-node", "--node-id", "n3", "--node-key", "{n3}", "--address", "100.64.0.3/32")
	log, err := membership.ParseLog(readFile(t, "log.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var ups []*membership.SignedUpdate
	for _, f := range []string{"add.json", "add3.json"} {
		u, err := membership.ParseSignedUpdate(readFile(t, f), nil)
		if err != nil {
			t.Fatal(err)
		}
		ups = append(ups, u)
	}
	writeFile(t, file, string(membership.NewEvidence(log, ups[0], ups[1]).Encode()))
}

// TestEveryCommandJSON walks the whole command tree: every command either
// prints its result as one JSON document under --json, or refuses --json
// as a usage error that names the command and says why — before or after
// the command's name. None accepts it and prints text.
func TestEveryCommandJSON(t *testing.T) {
	for _, c := range commandInfos(rootCommand(), true) {
		if c.cmd.run == nil {
			continue
		}
		t.Run(c.words(), func(t *testing.T) {
			tc, supported := jsonCases[c.path]
			switch {
			case c.cmd.noJSON != "" && supported:
				t.Fatalf("%s refuses --json (noJSON) but has a case in jsonCases", c.path)
			case c.cmd.noJSON != "":
				t.Chdir(t.TempDir())
				words := strings.Fields(c.words())
				for _, argv := range [][]string{append([]string{"--json"}, words...), append(words, "--json")} {
					assertRefusesJSON(t, c.path, runCLI(t, argv...))
				}
			case !supported:
				t.Fatalf("%s has neither a case in jsonCases (its output under --json) nor a noJSON reason to refuse --json", c.path)
			default:
				n := newNet(t)
				r := runCLI(t, append([]string{"--json"}, tc.setup(t, n)...)...)
				if r.exit != tc.exit {
					t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.exit, tc.exit, r.stdout, r.stderr)
				}
				var v any
				dec := json.NewDecoder(strings.NewReader(r.stdout))
				if err := dec.Decode(&v); err != nil {
					t.Fatalf("stdout is not JSON: %v\n%s", err, r.stdout)
				}
				if dec.More() {
					t.Errorf("stdout holds more than one JSON document:\n%s", r.stdout)
				}
			}
		})
	}
}

// assertRefusesJSON checks the refusal of --json by the command path: a
// usage error, as JSON on stderr, naming the command, and nothing on
// stdout.
func assertRefusesJSON(t *testing.T, path string, r result) {
	t.Helper()
	var got jsonError
	if err := json.Unmarshal([]byte(r.stderr), &got); err != nil {
		t.Fatalf("stderr is not one JSON error: %v\n%s", err, r.stderr)
	}
	if r.exit != exitUsage || got.Code != codeUsage || r.stdout != "" ||
		!strings.HasPrefix(got.Message, path+": --json is not supported: ") {
		t.Errorf("got exit %d, stdout %q, error %+v; want exit %d, no stdout and a USAGE error starting %q",
			r.exit, r.stdout, got, exitUsage, path+": --json is not supported: ")
	}
}
