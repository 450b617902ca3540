package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// writeNodeConfig writes the configuration name of node n1 keeping its
// state in stateDir, pinned to root, followed by extra; it returns name.
func writeNodeConfig(t *testing.T, name, stateDir, root, extra string) string {
	t.Helper()
	writeFile(t, name, "[node]\nid = \"n1\"\nprivate_key_file = \"n1.key\"\nstate_dir = \""+stateDir+"\"\n\n"+
		"[membership]\ngenesis_file = \"genesis.json\"\ngenesis_root = \""+root+"\"\n"+extra)
	return name
}

// TestGenesisRootPin checks where the genesis root pin comes from:
// --genesis-root, then --config, then $RUSTYNET_GENESIS_ROOT; the note
// that nothing is pinned appears only when none of them is given, and a
// malformed pin is a usage error naming where it came from.
func TestGenesisRootPin(t *testing.T) {
	newNet(t)
	root := status(t).GenesisRoot
	other := strings.Repeat("ab", 32)
	writeNodeConfig(t, "right.toml", "state", root, "")
	writeNodeConfig(t, "wrong.toml", "state", other, "")
	writeFile(t, "bad.toml", "[node]\nid = \"n1\"\nprivate_key_file = \"n1.key\"\nstate_dir = \"state\"\n\n"+
		"[membership]\ngenesis_file = \"genesis.json\"\ngenesis_root = \"0x12\"\n")

	for _, tc := range []struct {
		name     string
		env      string
		args     []string
		exit     int
		pinned   bool
		inStderr string
	}{
		{name: "nothing", exit: exitOK, inStderr: "note: genesis root not pinned"},
		{name: "flag", args: []string{"--genesis-root", root}, exit: exitOK, pinned: true},
		{name: "config", args: []string{"--config", "right.toml"}, exit: exitOK, pinned: true},
		{name: "environment", env: root, exit: exitOK, pinned: true},
		{name: "wrong environment", env: other, exit: exitRejected},
		{name: "flag before config", args: []string{"--genesis-root", root, "--config", "wrong.toml"}, exit: exitOK, pinned: true},
		{name: "config before environment", env: other, args: []string{"--config", "right.toml"}, exit: exitOK, pinned: true},
		{name: "flag before environment", env: "nonsense", args: []string{"--genesis-root", root}, exit: exitOK, pinned: true},
		{name: "malformed environment", env: "nonsense", exit: exitUsage, inStderr: "$RUSTYNET_GENESIS_ROOT: want 64 lower-case hex digits"},
		{name: "malformed flag", args: []string{"--genesis-root", "nonsense"}, exit: exitUsage, inStderr: "--genesis-root: want 64 lower-case hex digits"},
		{name: "malformed config", args: []string{"--config", "bad.toml"}, exit: exitUsage, inStderr: "--config: bad.toml:8: membership.genesis_root: must be 64 lower-case hex digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(genesisRootEnv, tc.env)
			r := runCLI(t, append([]string{"membership", "status", "--from", "log.json", "--json"}, tc.args...)...)
			if r.exit != tc.exit {
				t.Fatalf("got exit %d, want %d\nstderr:\n%s", r.exit, tc.exit, r.stderr)
			}
			if tc.inStderr != "" && !strings.Contains(r.stderr, tc.inStderr) {
				t.Errorf("got stderr %q, want it to contain %q", r.stderr, tc.inStderr)
			}
			if tc.exit != exitOK {
				return
			}
			if got := strings.Contains(r.stderr, "not pinned"); got == tc.pinned {
				t.Errorf("got stderr %q: a note that nothing is pinned is wrong when pinned=%v", r.stderr, tc.pinned)
			}
			var o struct {
				GenesisPinned bool `json:"genesis_pinned"`
			}
			if err := json.Unmarshal([]byte(r.stdout), &o); err != nil {
				t.Fatal(err)
			}
			if o.GenesisPinned != tc.pinned {
				t.Errorf("got genesis_pinned %v, want %v", o.GenesisPinned, tc.pinned)
			}
		})
	}
}

// TestConfigNamesStateDir checks that --config stands for the state
// directory, store, high-water mark and genesis root of every command that
// works on a node's state, and that explicit flags win over it.
func TestConfigNamesStateDir(t *testing.T) {
	for _, store := range builtinStoreKinds {
		t.Run(store, func(t *testing.T) {
			d := newDirNet(t, store)
			d.addN2(t)
			cfg := writeNodeConfig(t, "n1.toml", "node", d.genesis, "\n[store]\nkind = \""+store+"\"\n")
			for _, cmd := range [][]string{
				{"membership", "status", "--config", cfg},
				{"membership", "verify-log", "--config", cfg},
				{"membership", "export", "--config", cfg, "--out", "export.json"},
				{"membership", "backup", "--config", cfg, "--out", "backup.json"},
				{"membership", "propose-revoke-node", "--config", cfg, "--node-id", "n2", "--out", "revoke.json"},
				{"membership", "sign-update", "--config", cfg, "--key", "alice.key", "revoke.json"},
				{"membership", "sign-update", "--config", cfg, "--key", "carol.key", "revoke.json"},
				{"membership", "verify-update", "--config", cfg, "revoke.json"},
				{"policy", "show", "--config", cfg},
			} {
				r := runCLI(t, cmd...)
				if r.exit != exitOK && !(cmd[0] == "policy" && r.exit == exitRejected) {
					t.Fatalf("%s: exit %d\nstderr:\n%s", strings.Join(cmd, " "), r.exit, r.stderr)
				}
				if strings.Contains(r.stderr, "not pinned") {
					t.Errorf("%s: got stderr %q, want no note that nothing is pinned", strings.Join(cmd, " "), r.stderr)
				}
			}
			if got := mustRead(t, "export.json"); got != mustRead(t, "backup.json") {
				t.Errorf("export and backup through --config differ")
			}
			r := runCLI(t, "membership", "status", "--config", cfg, "--json")
			var o statusOutput
			if err := json.Unmarshal([]byte(r.stdout), &o); err != nil {
				t.Fatal(err)
			}
			if o.Log != d.node || o.Store != store || o.LogEntries != 2 {
				t.Errorf("status --config: got log %q, store %q, %d entries; want %q, %q, 2", o.Log, o.Store, o.LogEntries, d.node, store)
			}

			// An explicit --from wins over the configuration's state directory.
			mustRun(t, "membership", "status", "--config", cfg, "--from", "log.json")
			// The configuration's store is checked against the directory's.
			writeNodeConfig(t, "other.toml", "node", d.genesis, "\n[store]\nkind = \""+otherStore[store]+"\"\n")
			r = runCLI(t, "membership", "verify-log", "--config", "other.toml")
			if r.exit == exitOK {
				t.Errorf("verify-log with a configuration naming the %s store of a %s directory: got exit 0", otherStore[store], store)
			}
		})
	}
}

// mustRead returns the content of the file name.
func mustRead(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

// TestReadsCreateNoHighWater runs the built binary's reads of a state
// directory — status, verify-log and export, each with the directory named
// by flag and by --config — on a copy of a stopped node's directory, with
// the user's state directory (where the default high-water mark lives) an
// empty one: none creates anything there.
func TestReadsCreateNoHighWater(t *testing.T) {
	bin := builtBinary(t)
	for _, store := range builtinStoreKinds {
		t.Run(store, func(t *testing.T) {
			d := newDirNet(t, store)
			d.addN2(t)
			copyTree(t, d.node, filepath.Join(d.dir, "copy"))
			if err := os.Remove(filepath.Join(d.dir, "copy", "LOCK")); err != nil && !errors.Is(err, fs.ErrNotExist) {
				t.Fatal(err)
			}
			writeNodeConfig(t, "copy.toml", "copy", d.genesis, "\n[store]\nkind = \""+store+"\"\n")
			xdg := t.TempDir()
			for _, cmd := range [][]string{
				{"membership", "status", "--from", "copy"},
				{"membership", "verify-log", "--state-dir", "copy"},
				{"membership", "export", "--from", "copy", "--out", "export1.json"},
				{"membership", "status", "--config", "copy.toml"},
				{"membership", "verify-log", "--config", "copy.toml"},
				{"membership", "export", "--config", "copy.toml", "--out", "export2.json"},
			} {
				c := exec.Command(bin, cmd...)
				c.Dir = d.dir
				c.Env = append(os.Environ(), "XDG_STATE_HOME="+xdg, genesisRootEnv+"=")
				var stderr bytes.Buffer
				c.Stderr = &stderr
				if err := c.Run(); err != nil {
					t.Fatalf("rustynet %s: %v\nstderr:\n%s", strings.Join(cmd, " "), err, stderr.String())
				}
				var created []string
				err := filepath.WalkDir(xdg, func(path string, _ fs.DirEntry, err error) error {
					if path != xdg {
						created = append(created, path)
					}
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				if len(created) > 0 {
					t.Fatalf("rustynet %s created %q under XDG_STATE_HOME, want nothing", strings.Join(cmd, " "), created)
				}
			}
		})
	}
}
