package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// otherStore is the built-in store that does not keep a directory of
// store.
var otherStore = map[string]string{"file": "sqlite", "sqlite": "file"}

// TestStoreChosenByLayout checks that the store keeping a state directory
// is told from the directory: without --store the right one is used, and
// a --store that names another is refused with CONFLICT before anything is
// created (it used to report a rollback and leave an empty log/ behind).
func TestStoreChosenByLayout(t *testing.T) {
	for _, store := range builtinStoreKinds {
		t.Run(store, func(t *testing.T) {
			d := newDirNet(t, store)
			before := snapshotTree(t, d.node)
			for _, cmd := range [][]string{
				{"membership", "verify-log", "--state-dir", "node"},
				{"membership", "status", "--from", "node"},
				{"membership", "apply-update", "--state-dir", "node", "genesis.json"},
			} {
				r := runCLI(t, append(cmd, "--store", otherStore[store])...)
				assertFails(t, strings.Join(cmd, " ")+" with the other --store", r, exitUsage, "CONFLICT")
				if !strings.Contains(r.stderr, store+" store") {
					t.Errorf("%s: stderr %q does not name the %s store", strings.Join(cmd, " "), r.stderr, store)
				}
			}
			if diff := cmp.Diff(before, snapshotTree(t, d.node)); diff != "" {
				t.Errorf("a refused --store changed the directory (-before +after):\n%s", diff)
			}

			r := runCLI(t, "membership", "verify-log", "--state-dir", "node", "--json")
			assertOK(t, "verify-log without --store", r)
			var o verifyLogOutput
			if err := json.Unmarshal([]byte(r.stdout), &o); err != nil {
				t.Fatal(err)
			}
			if o.Store != store || o.Entries != 1 {
				t.Errorf("verify-log without --store: store %q, %d entries, want %q and 1", o.Store, o.Entries, store)
			}
		})
	}
}

// TestReadingCommandsCreateNothing runs the commands that only read a
// state directory on a copy of a stopped node's, without its lock file
// and made read-only where the platform allows: each works, and none
// creates or changes anything there, no lock file and no high-water mark
// included.
func TestReadingCommandsCreateNothing(t *testing.T) {
	for _, store := range builtinStoreKinds {
		t.Run(store, func(t *testing.T) {
			d := newDirNet(t, store)
			d.addN2(t)
			d.proposeFromDir(t, "revoke.json", []string{"alice", "carol"}, "propose-revoke-node", "--node-id", "n2")
			dir := filepath.Join(d.dir, "copy")
			copyTree(t, d.node, dir)
			if err := os.Remove(filepath.Join(dir, "LOCK")); err != nil {
				t.Fatal(err)
			}
			before := snapshotTree(t, dir)
			makeReadOnly(t, dir)
			for _, cmd := range [][]string{
				{"membership", "verify-log", "--state-dir", "copy"},
				{"membership", "status", "--from", "copy"},
				{"membership", "export", "--from", "copy", "--out", "export.json"},
				{"membership", "verify-update", "--from", "copy", "revoke.json"},
			} {
				assertOK(t, strings.Join(cmd, " "), runCLI(t, cmd...))
			}
			if diff := cmp.Diff(before, snapshotTree(t, dir)); diff != "" {
				t.Errorf("reading commands changed the copy (-before +after):\n%s", diff)
			}
		})
	}
}
