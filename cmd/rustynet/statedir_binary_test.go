package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestBinaryStateDir runs the state-directory life cycle through the real
// binary, for each built-in store, each command launching the store as a
// plugin process of the binary: a genesis into an empty directory, a chain
// of updates proposed from and applied to it, status and export matching,
// verify-log, a backup; then one byte of a stored entry flipped on disk,
// which every command refuses while changing nothing; then restore from the
// backup.
func TestBinaryStateDir(t *testing.T) {
	bin := builtBinary(t)
	for _, store := range builtinStoreKinds {
		t.Run(store, func(t *testing.T) {
			isolateHighWater(t)
			n := newNet(t)
			u := &userShell{t: t, bin: bin, dir: n.dir}
			genesis := status(t).GenesisRoot
			sd := []string{"--store", store, "--genesis-root", genesis}
			node := filepath.Join(n.dir, "node")
			run := func(args ...string) result { return u.run(append(args, sd...)...) }
			ok := func(args ...string) result {
				t.Helper()
				r := run(args...)
				assertOK(t, strings.Join(args, " "), r)
				return r
			}
			propose := func(out string, signers []string, args ...string) {
				t.Helper()
				ok(append([]string{"membership"}, append(n.expand(args...), "--from", "node", "--out", out)...)...)
				for _, s := range signers {
					assertOK(t, "sign-update", run("membership", "sign-update", "--key", s+".key", "--from", "node", out))
				}
			}

			r := ok("membership", "apply-update", "--state-dir", "node", "genesis.json")
			if !strings.HasPrefix(r.stdout, "applied ") || !strings.HasSuffix(r.stdout, "epoch: 1\nstate root: "+genesis+"\n") {
				t.Errorf("genesis apply printed:\n%s", r.stdout)
			}
			propose("add.json", []string{"alice", "bob"}, "propose-add-node", "--node-id", "n2", "--node-key", "{n2}", "--address", "100.64.0.2/32")
			ok("membership", "apply-update", "--state-dir", "node", "add.json")
			propose("revoke.json", []string{"bob", "carol"}, "propose-revoke-node", "--node-id", "n2")
			ok("membership", "apply-update", "--state-dir", "node", "revoke.json")
			propose("restore.json", []string{"alice", "carol"}, "propose-restore-node", "--node-id", "n2")

			r = ok("membership", "export", "--from", "node", "--out", "export.json")
			root := regexp.MustCompile(`^exported 3 update\(s\) to export.json: epoch 3, state root ([0-9a-f]{64})\n$`).FindStringSubmatch(r.stdout)
			if root == nil {
				t.Fatalf("export printed %q", r.stdout)
			}
			fromDir := decodeStatus(t, ok("membership", "status", "--from", "node", "--json").stdout)
			fromLog := decodeStatus(t, ok("membership", "status", "--from", "export.json", "--json").stdout)
			if fromDir.Store != store || fromDir.Log != "node" || fromDir.Restricted {
				t.Errorf("status of the directory: store %q log %q restricted %v", fromDir.Store, fromDir.Log, fromDir.Restricted)
			}
			fromDir.Log, fromDir.Store = "", ""
			fromLog.Log = ""
			if diff := cmp.Diff(fromLog, fromDir); diff != "" {
				t.Errorf("status of the directory differs from status of its export (-log +dir):\n%s", diff)
			}
			want := fmt.Sprintf("ok: epoch 3 root %s entries 3\n", root[1])
			if r := ok("membership", "verify-log", "--state-dir", "node"); r.stdout != want {
				t.Errorf("verify-log printed %q, want %q", r.stdout, want)
			}
			ok("membership", "backup", "--state-dir", "node", "--out", "backup.json")

			flipStoredEntry(t, node, store, "add.json")
			before := snapshotTree(t, node)
			assertFails(t, "verify-log", run("membership", "verify-log", "--state-dir", "node"), exitRejected, "INTEGRITY_FAILURE")
			assertFails(t, "status", run("membership", "status", "--from", "node"), exitRejected, "INTEGRITY_FAILURE")
			assertFails(t, "apply-update", run("membership", "apply-update", "--state-dir", "node", "restore.json"), exitRejected, "RESTRICTED_MODE")
			assertFails(t, "backup", run("membership", "backup", "--state-dir", "node", "--out", "b2.json"), exitRejected, "RESTRICTED_MODE")
			if diff := cmp.Diff(before, snapshotTree(t, node)); diff != "" {
				t.Errorf("refused commands changed the directory (-before +after):\n%s", diff)
			}

			r = ok("membership", "restore", "--state-dir", "node", "--from", "backup.json")
			moved := regexp.MustCompile(`^restored 3 update\(s\) from backup.json into node: epoch 3, state root ` + root[1] + `\nthe previous directory was moved to (.*node\.corrupt-\d{8}T\d{6}Z)\n$`).FindStringSubmatch(r.stdout)
			if moved == nil {
				t.Fatalf("restore printed %q", r.stdout)
			}
			delete(before, "(high-water mark)")
			if diff := cmp.Diff(before, treeFiles(t, moved[1])); diff != "" {
				t.Errorf("the directory moved aside differs from the damaged one (-damaged +moved):\n%s", diff)
			}
			if r := ok("membership", "verify-log", "--state-dir", "node"); r.stdout != want {
				t.Errorf("verify-log after restore printed %q, want %q", r.stdout, want)
			}
			ok("membership", "apply-update", "--state-dir", "node", "restore.json")
		})
	}
}
