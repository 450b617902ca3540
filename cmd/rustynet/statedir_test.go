package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/membership"
)

// dirNet is a testNet with a node state directory "node" in a given store
// holding its genesis (pinned).
type dirNet struct {
	*testNet
	store   string
	genesis string   // the genesis root
	flags   []string // --store and --genesis-root
	node    string   // absolute path of the state directory
}

// newDirNet builds a testNet and applies its genesis to a new state
// directory kept by store.
func newDirNet(t *testing.T, store string) *dirNet {
	t.Helper()
	isolateHighWater(t)
	n := newNet(t)
	d := &dirNet{testNet: n, store: store, genesis: status(t).GenesisRoot, node: filepath.Join(n.dir, "node")}
	d.flags = []string{"--store", store, "--genesis-root", d.genesis}
	d.ok(t, "membership", "apply-update", "--state-dir", "node", "genesis.json")
	return d
}

// cli runs the CLI in-process with the directory's flags appended.
func (d *dirNet) cli(t *testing.T, args ...string) result {
	t.Helper()
	return runCLI(t, append(args, d.flags...)...)
}

// ok runs the CLI with the directory's flags and requires success.
func (d *dirNet) ok(t *testing.T, args ...string) result {
	t.Helper()
	r := d.cli(t, args...)
	assertOK(t, strings.Join(args, " "), r)
	return r
}

// proposeFromDir proposes an update against the state directory, writes it
// to out and signs it with signers.
func (d *dirNet) proposeFromDir(t *testing.T, out string, signers []string, args ...string) {
	t.Helper()
	d.ok(t, append([]string{"membership"}, append(d.expand(args...), "--from", "node", "--out", out)...)...)
	d.sign(t, out, signers...)
}

// addN2 proposes adding n2 as add.json and applies it to the directory.
func (d *dirNet) addN2(t *testing.T) {
	t.Helper()
	d.proposeFromDir(t, "add.json", []string{"alice", "bob"}, "propose-add-node", "--node-id", "n2", "--node-key", "{n2}", "--address", "100.64.0.2/32")
	d.ok(t, "membership", "apply-update", "--state-dir", "node", "add.json")
}

// TestApplyToEmptyStateDir checks that a new state directory accepts only
// a genesis signed by every initial approver (and matching a pinned root),
// and that a refused update, or a dry run, leaves no directory behind.
func TestApplyToEmptyStateDir(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, n *testNet) []string // returns extra arguments
		exit  int
		code  membership.Code
	}{
		{"not a genesis", func(t *testing.T, n *testNet) []string {
			n.addNode(t, "alice", "bob")
			return []string{"add.json"}
		}, exitRejected, membership.IllegalOperation},
		{"genesis not signed by every approver", func(t *testing.T, n *testNet) []string {
			mustRun(t, n.expand("membership", "init", "--network-id", "other", "--threshold", "1",
				"--approver", "alice={alice}:owner", "--approver", "bob={bob}", "--out", "g2.json")...)
			n.sign(t, "g2.json", "alice")
			return []string{"g2.json"}
		}, exitRejected, membership.NewApproverMustSign},
		{"genesis root pinned to another", func(t *testing.T, n *testNet) []string {
			return []string{"genesis.json", "--genesis-root", strings.Repeat("ab", 32)}
		}, exitRejected, membership.IllegalOperation},
		{"dry run", func(t *testing.T, n *testNet) []string {
			return []string{"genesis.json", "--dry-run"}
		}, exitOK, ""},
	}
	for _, store := range builtinStoreKinds {
		for _, tt := range tests {
			t.Run(store+"/"+tt.name, func(t *testing.T) {
				isolateHighWater(t)
				n := newNet(t)
				extra := tt.setup(t, n)
				before := snapshot(t, n.dir)
				r := runCLI(t, append([]string{"membership", "apply-update", "--state-dir", "node", "--store", store}, extra...)...)
				if tt.exit == exitOK {
					assertOK(t, "apply-update", r)
				} else {
					assertFails(t, "apply-update", r, tt.exit, string(tt.code))
				}
				assertUnchanged(t, n.dir, before)
				if hw := highWaterOf(t, filepath.Join(n.dir, "node")); hw != "" {
					t.Errorf("a high-water mark was written: %s", hw)
				}
			})
		}
	}
}

// TestStateDirRollback restores an old copy of a whole state directory
// and an old backup: the high-water mark kept outside the directory must
// expose both, change nothing, and let a current backup recover.
func TestStateDirRollback(t *testing.T) {
	for _, store := range builtinStoreKinds {
		t.Run(store, func(t *testing.T) {
			d := newDirNet(t, store)
			d.addN2(t)
			d.ok(t, "membership", "backup", "--state-dir", "node", "--out", "old.json")
			copyTree(t, d.node, filepath.Join(d.dir, "old-copy"))
			d.proposeFromDir(t, "revoke.json", []string{"alice", "carol"}, "propose-revoke-node", "--node-id", "n2")
			d.ok(t, "membership", "apply-update", "--state-dir", "node", "revoke.json")
			d.ok(t, "membership", "backup", "--state-dir", "node", "--out", "current.json")
			d.proposeFromDir(t, "restore.json", []string{"alice", "carol"}, "propose-restore-node", "--node-id", "n2")

			// A backup behind the high-water mark is a rollback: refused,
			// and the directory stays where and as it was.
			before := snapshotTree(t, d.node)
			r := d.cli(t, "membership", "restore", "--state-dir", "node", "--from", "old.json")
			assertFails(t, "restore from an old backup", r, exitRejected, "INTEGRITY_FAILURE")
			if !strings.Contains(r.stderr, "rollback") {
				t.Errorf("restore from an old backup: stderr %q does not say rollback", r.stderr)
			}
			if diff := cmp.Diff(before, snapshotTree(t, d.node)); diff != "" {
				t.Errorf("refused restore changed the directory (-before +after):\n%s", diff)
			}
			if got := siblings(t, d.node); !cmp.Equal(got, []string{"node"}) {
				t.Errorf("refused restore left %v beside the directory", got)
			}

			// The whole directory rolled back to the old copy.
			if err := os.RemoveAll(d.node); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(filepath.Join(d.dir, "old-copy"), d.node); err != nil {
				t.Fatal(err)
			}
			before = snapshotTree(t, d.node)
			r = d.cli(t, "membership", "verify-log", "--state-dir", "node")
			assertFails(t, "verify-log of a rolled-back directory", r, exitRejected, "INTEGRITY_FAILURE")
			if !strings.Contains(r.stderr, "rollback") {
				t.Errorf("verify-log: stderr %q does not say rollback", r.stderr)
			}
			assertFails(t, "apply-update to a rolled-back directory", d.cli(t, "membership", "apply-update", "--state-dir", "node", "restore.json"), exitRejected, "RESTRICTED_MODE")
			assertFails(t, "propose from a rolled-back directory", d.cli(t, "membership", "propose-revoke-node", "--from", "node", "--node-id", "n1", "--out", "x.json"), exitRejected, "RESTRICTED_MODE")
			if diff := cmp.Diff(before, snapshotTree(t, d.node)); diff != "" {
				t.Errorf("refused commands changed the directory (-before +after):\n%s", diff)
			}

			// A current backup recovers, and the node moves on from there.
			r = d.ok(t, "membership", "restore", "--state-dir", "node", "--from", "current.json", "--json")
			var o restoreOutput
			if err := json.Unmarshal([]byte(r.stdout), &o); err != nil {
				t.Fatal(err)
			}
			if o.Epoch != 3 || o.LogEntries != 3 || !strings.HasPrefix(filepath.Base(o.MovedAside), "node.corrupt-") {
				t.Errorf("restore: got %+v, want epoch 3, 3 entries, the old directory moved to node.corrupt-*", o)
			}
			d.ok(t, "membership", "apply-update", "--state-dir", "node", "restore.json")
			if r := d.ok(t, "membership", "verify-log", "--state-dir", "node"); !strings.HasPrefix(r.stdout, "ok: epoch 4 root ") {
				t.Errorf("verify-log after recovery printed %q", r.stdout)
			}
		})
	}
}

// TestVerifyLogReport checks verify-log's JSON report, and that a genesis
// pin the directory does not match is an integrity failure.
func TestVerifyLogReport(t *testing.T) {
	d := newDirNet(t, "file")
	d.addN2(t)
	var o verifyLogOutput
	if err := json.Unmarshal([]byte(d.ok(t, "membership", "verify-log", "--state-dir", "node", "--json").stdout), &o); err != nil {
		t.Fatal(err)
	}
	s := decodeStatus(t, d.ok(t, "membership", "status", "--from", "node", "--json").stdout)
	want := verifyLogOutput{StateDir: "node", Store: "file", Result: "ok", NetworkID: "demo", GenesisRoot: d.genesis,
		GenesisPinned: true, Epoch: 2, StateRoot: s.StateRoot, Entries: 2}
	if diff := cmp.Diff(want, o); diff != "" {
		t.Errorf("verify-log --json (-want +got):\n%s", diff)
	}

	r := runCLI(t, "membership", "verify-log", "--state-dir", "node", "--genesis-root", strings.Repeat("cd", 32))
	assertFails(t, "verify-log with another genesis pinned", r, exitRejected, "INTEGRITY_FAILURE")
	if r.stdout != "" {
		t.Errorf("verify-log failure printed %q on stdout", r.stdout)
	}
}

// TestStateDirUsageErrors checks that state-directory commands given
// unusable arguments exit 2 and create or change nothing.
func TestStateDirUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		code string
	}{
		{"verify-log without --state-dir", []string{"membership", "verify-log"}, "USAGE"},
		{"verify-log of a missing directory", []string{"membership", "verify-log", "--state-dir", "missing"}, "USAGE"},
		{"status of a missing directory", []string{"membership", "status", "--from", "missing/"}, "USAGE"},
		{"backup of a missing directory", []string{"membership", "backup", "--state-dir", "missing", "--out", "b.json"}, "USAGE"},
		{"apply with --from and --state-dir", []string{"membership", "apply-update", "--from", "log.json", "--state-dir", "node", "genesis.json"}, "USAGE"},
		{"apply under a missing parent", []string{"membership", "apply-update", "--state-dir", "no/such/node", "genesis.json"}, "USAGE"},
		{"unknown store", []string{"membership", "apply-update", "--state-dir", "node", "--store", "tape", "genesis.json"}, "USAGE"},
		{"store and store plugin", []string{"membership", "apply-update", "--state-dir", "node", "--store", "file", "--store-plugin", "/bin/true", "genesis.json"}, "USAGE"},
		{"pin without a store plugin", []string{"membership", "apply-update", "--state-dir", "node", "--store-plugin-sha256", strings.Repeat("0", 64), "genesis.json"}, "USAGE"},
		{"missing store plugin", []string{"membership", "apply-update", "--state-dir", "node", "--store-plugin", "/no/such/plugin", "genesis.json"}, "NOT_FOUND"},
		{"restore from a missing file", []string{"membership", "restore", "--state-dir", "node", "--from", "missing.json"}, "USAGE"},
		{"state directory open to others", []string{"membership", "apply-update", "--state-dir", "open", "genesis.json"}, "PERMISSION"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			isolateHighWater(t)
			n := newNet(t)
			if err := os.Mkdir("open", 0o755); err != nil {
				t.Fatal(err)
			}
			before := snapshotTree(t, n.dir)
			assertFails(t, strings.Join(tt.args, " "), runCLI(t, tt.args...), exitUsage, tt.code)
			if diff := cmp.Diff(before, snapshotTree(t, n.dir)); diff != "" {
				t.Errorf("files changed (-before +after):\n%s", diff)
			}
		})
	}
}

// TestExternalStorePlugin chooses a store plugin by path, as an operator
// with a third-party store would, pinned by its SHA-256: the right pin
// works, a wrong one launches nothing and changes nothing. The plugin is
// this test binary, serving the file store when launched without
// arguments.
func TestExternalStorePlugin(t *testing.T) {
	isolateHighWater(t)
	n := newNet(t)
	t.Setenv(envTestPlugin, "store-file")
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	sum := fileSHA256(t, exe)
	wrong := strings.Repeat("0", 64)
	before := snapshotTree(t, n.dir)
	r := runCLI(t, "membership", "apply-update", "--state-dir", "node", "--store-plugin", exe, "--store-plugin-sha256", wrong, "genesis.json")
	assertFails(t, "a wrong pin", r, exitUsage, "PERMISSION")
	if !strings.Contains(r.stderr, "expected "+wrong+", actual "+sum) {
		t.Errorf("a wrong pin: stderr %q does not name both hashes", r.stderr)
	}
	if diff := cmp.Diff(before, snapshotTree(t, n.dir)); diff != "" {
		t.Errorf("files changed (-before +after):\n%s", diff)
	}
	plugin := []string{"--store-plugin", exe, "--store-plugin-sha256", sum}
	assertOK(t, "apply with the right pin", runCLI(t, append([]string{"membership", "apply-update", "--state-dir", "node", "genesis.json"}, plugin...)...))
	r = runCLI(t, append([]string{"membership", "verify-log", "--state-dir", "node", "--json"}, plugin...)...)
	assertOK(t, "verify-log", r)
	var o verifyLogOutput
	if err := json.Unmarshal([]byte(r.stdout), &o); err != nil {
		t.Fatal(err)
	}
	if o.Store != exe || o.Entries != 1 {
		t.Errorf("verify-log through the external plugin: got store %q entries %d, want %q and 1", o.Store, o.Entries, exe)
	}
	// The directory is the file store's: the built-in plugin reads it too.
	assertOK(t, "verify-log with the built-in store", runCLI(t, "membership", "verify-log", "--state-dir", "node", "--store", "file"))
}

// TestPluginMode checks that the plugin mode is hidden from the listing
// and, run by hand rather than by a host, explains itself and exits 2.
func TestPluginMode(t *testing.T) {
	if r := runCLI(t, "-h"); strings.Contains(r.stdout, "\n  plugin ") {
		t.Errorf("rustynet -h lists the internal plugin mode:\n%s", r.stdout)
	}
	r := runCLI(t, "plugin", "-h")
	for _, p := range builtinPlugins {
		if !strings.Contains(r.stdout, "  "+p.name+" ") {
			t.Errorf("rustynet plugin -h does not list %s:\n%s", p.name, r.stdout)
		}
	}
	for _, p := range builtinPlugins {
		r := runCLI(t, "plugin", p.name)
		assertFails(t, "plugin "+p.name+" by hand", r, exitUsage, "USAGE")
		if !strings.Contains(r.stderr, "not run by hand") {
			t.Errorf("plugin %s by hand: stderr %q does not explain", p.name, r.stderr)
		}
	}
}

// fileSHA256 returns the hex SHA-256 of the file at path.
func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", sha256Sum(data))
}
