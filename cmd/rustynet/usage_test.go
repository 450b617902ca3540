package main

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestUsageErrors checks that malformed invocations and unusable input
// files exit 2 with a USAGE error first on stderr and change nothing.
func TestUsageErrors(t *testing.T) {
	init := []string{"membership", "init", "--network-id", "x", "--threshold", "1", "--out", "g.json"}
	addNode := []string{"membership", "propose-add-node", "--from", "log.json", "--node-id", "n9", "--out", "a.json"}
	tests := []struct {
		name  string
		setup func(t *testing.T, n *testNet)
		args  []string
	}{
		{"no command", nil, []string{}},
		{"unknown command", nil, []string{"frob"}},
		{"unknown subcommand", nil, []string{"membership", "frob"}},
		{"group without subcommand", nil, []string{"key"}},
		{"unknown flag", nil, []string{"membership", "status", "--from", "log.json", "--bogus"}},
		{"unknown global flag", nil, []string{"--bogus", "membership", "status"}},
		{"missing --out", nil, []string{"key", "generate", "--kind", "node"}},
		{"bad --kind", nil, []string{"key", "generate", "--kind", "rsa", "--out", "k.key"}},
		{"key file exists", nil, []string{"key", "generate", "--kind", "approver", "--out", "alice.key"}},
		{"key file missing", nil, []string{"key", "public", "missing.key"}},
		{"key file is not a key", func(t *testing.T, n *testNet) {
			if err := os.WriteFile("junk.key", []byte("not a key\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}, []string{"key", "public", "junk.key"}},
		{"node key used to sign", nil, []string{"membership", "sign-update", "--key", "n1.key", "genesis.json"}},
		{"sign without update file", nil, []string{"membership", "sign-update", "--key", "alice.key"}},
		{"verify with two update files", nil, []string{"membership", "verify-update", "--from", "log.json", "genesis.json", "log.json"}},
		{"threshold not a number", nil, append(init, "--threshold", "two", "--approver", "a={alice}:owner")},
		{"init without approvers", nil, init},
		{"approver without key", nil, append(init, "--approver", "alice")},
		{"approver key not base64", nil, append(init, "--approver", "alice=notakey:owner")},
		{"approver with an unknown role", nil, append(init, "--approver", "alice={alice}:boss")},
		{"approver given twice", nil, append(init, "--approver", "a={alice}:owner", "--approver", "a={bob}")},
		{"node without address", nil, append(init, "--approver", "a={alice}:owner", "--node", "n1={n1}")},
		{"node address malformed", nil, append(init, "--approver", "a={alice}:owner", "--node", "n1={n1},100.64.0.300")},
		{"expiry not positive", nil, append(init, "--approver", "a={alice}:owner", "--expires-in", "-1h")},
		{"init output exists", nil, append(init, "--approver", "a={alice}:owner", "--out", "log.json")},
		{"proposal without --node-key", nil, append(addNode, "--address", "100.64.0.9/32")},
		{"proposal with a bad node key", nil, append(addNode, "--node-key", "AAAA", "--address", "100.64.0.9/32")},
		{"proposal with a bad address", nil, append(addNode, "--node-key", "{n3}", "--address", "bogus")},
		{"proposal with a bad endpoint", nil, append(addNode, "--node-key", "{n3}", "--address", "100.64.0.9", "--endpoint", "host:1")},
		{"proposal with a bad route", nil, append(addNode, "--node-key", "{n3}", "--address", "100.64.0.9", "--route", "10.0.0.0")},
		{"update-node changing nothing", nil, []string{"membership", "propose-update-node", "--from", "log.json", "--node-id", "n1", "--out", "u.json"}},
		{"approver key of the wrong length", nil, []string{"membership", "propose-add-approver", "--from", "log.json", "--approver-id", "x", "--approver-key", "AAAA", "--out", "u.json"}},
		{"malformed genesis root", nil, []string{"membership", "status", "--from", "log.json", "--genesis-root", "zz"}},
		{"status without --from", nil, []string{"membership", "status"}},
		{"apply with both --from and --socket", nil, []string{"membership", "apply-update", "--from", "log.json", "--socket", "x.sock", "genesis.json"}},
		{"log file missing", nil, []string{"membership", "status", "--from", "missing.json"}},
		{"log file is not a regular file", nil, []string{"membership", "status", "--from", os.DevNull}},
		{"export over an existing file", nil, []string{"membership", "export", "--from", "log.json", "--out", "genesis.json"}},
		{"private key readable by others", func(t *testing.T, n *testNet) {
			if runtime.GOOS == "windows" {
				t.Skip("permission bits carry no access control on Windows")
			}
			if err := os.Chmod("bob.key", 0o640); err != nil {
				t.Fatal(err)
			}
		}, []string{"membership", "sign-update", "--key", "bob.key", "genesis.json"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNet(t)
			if tt.setup != nil {
				tt.setup(t, n)
			}
			before := snapshot(t, n.dir)
			got := runCLI(t, n.expand(tt.args...)...)
			if got.exit != exitUsage {
				t.Errorf("exit: got %d, want %d\nstderr: %s", got.exit, exitUsage, got.stderr)
			}
			if !strings.HasPrefix(got.stderr, "error: USAGE: ") {
				t.Errorf("stderr: got %q, want it to start with %q", got.stderr, "error: USAGE: ")
			}
			assertUnchanged(t, n.dir, before)
		})
	}
}

// TestIOErrors checks that a failure to write exits 3 and leaves nothing.
func TestIOErrors(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	before := snapshot(t, dir)
	got := runCLI(t, "key", "generate", "--kind", "node", "--out", filepath.Join("no", "such", "dir", "n.key"))
	if got.exit != exitIO || !strings.HasPrefix(got.stderr, "error: IO: ") {
		t.Errorf("got exit %d, stderr %q; want exit %d and an IO error", got.exit, got.stderr, exitIO)
	}
	if got.stdout != "" {
		t.Errorf("stdout: got %q, want nothing", got.stdout)
	}
	assertUnchanged(t, dir, before)
}

// TestHelp checks that -h and `help` print usage on stdout and exit 0.
func TestHelp(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string // a line the help must contain
	}{
		{"root", []string{"-h"}, "  membership   create, propose, sign, verify and apply membership updates"},
		{"group", []string{"membership", "--help"}, "  propose-add-node         propose: add a node"},
		{"leaf", []string{"key", "generate", "-h"}, "usage: rustynet key generate --kind approver|node [--encrypt [--passphrase-file FILE]] --out FILE [--force]"},
		{"help command", []string{"help", "membership", "sign-update"}, "usage: rustynet membership sign-update --key FILE [--passphrase-file FILE] [--from FILE|DIR | --config FILE [--store KIND|--store-plugin PATH] [--high-water FILE] | --socket PATH] [--genesis-root HEX] UPDATE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runCLI(t, tt.args...)
			if got.exit != exitOK || got.stderr != "" {
				t.Errorf("got exit %d, stderr %q; want 0 and nothing", got.exit, got.stderr)
			}
			if !strings.Contains(got.stdout, tt.want+"\n") {
				t.Errorf("help lacks %q:\n%s", tt.want, got.stdout)
			}
		})
	}
}

// TestProposalNeverReplacesTheLog checks that even --force cannot make a
// proposal overwrite the log it was made from.
func TestProposalNeverReplacesTheLog(t *testing.T) {
	n := newNet(t)
	before := snapshot(t, n.dir)
	got := runCLI(t, "membership", "propose-revoke-node", "--from", "log.json", "--node-id", "n1", "--out", "./log.json", "--force")
	if got.exit != exitUsage || !strings.HasPrefix(got.stderr, "error: USAGE: ") {
		t.Errorf("got exit %d, stderr %q; want a usage error", got.exit, got.stderr)
	}
	assertUnchanged(t, n.dir, before)
}
