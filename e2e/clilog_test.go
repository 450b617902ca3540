package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/membership"
)

// TestMembershipReadsTheRunningDaemon runs the membership commands with no
// --from against a running node, as an operator on that machine would:
// the CLI finds the daemon through the user's default configuration, as
// `rustynet status` does, reads its log over the control socket and
// verifies it itself. What it prints and proposes is what the node's
// state directory gives once the daemon has stopped.
func TestMembershipReadsTheRunningDaemon(t *testing.T) {
	t.Parallel()
	c := newCluster(t, Options{Members: []string{"n1", "n2"}})
	n1 := c.Node("n1")
	n1.Start(NodeConfig{NoSync: true})
	c.ApplyAll(c.Sign(c.Propose(membership.Operation{Type: membership.OpRevokeNode, NodeID: "n2"}), "a1", "a2"), "n1")

	// A user layout (XDG_STATE_HOME selects it even as root) whose default
	// configuration is the node's: the CLI finds its socket and genesis
	// root there.
	home := t.TempDir()
	env := append(os.Environ(), "XDG_STATE_HOME="+filepath.Join(home, "state"),
		"XDG_CONFIG_HOME="+filepath.Join(home, "config"), "XDG_RUNTIME_DIR="+filepath.Join(home, "run"))
	cfgText, err := os.ReadFile(n1.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(home, "config", "rustynet"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "config", "rustynet", "rustynet.toml"), cfgText, 0o600); err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	cli := func(t *testing.T, wantExit int, args ...string) (stdout, stderr string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env, cmd.Dir = env, work
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		err := cmd.Run()
		exit := 0
		if ee, ok := err.(*exec.ExitError); ok {
			exit = ee.ExitCode()
		} else if err != nil {
			t.Fatalf("rustynet %v: %v", args, err)
		}
		if exit != wantExit {
			t.Fatalf("rustynet %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), exit, wantExit, out.String(), errOut.String())
		}
		return out.String(), errOut.String()
	}
	propose := []string{"membership", "propose-restore-node", "--node-id", "n2"}

	fromDaemon, notes := cli(t, 0, "membership", "status")
	if !strings.Contains(fromDaemon, "(pinned)") || notes != "" {
		t.Errorf("status from the daemon:\n%s%s\nwant the genesis pinned by the configuration, and no note", fromDaemon, notes)
	}
	jsonOut, _ := cli(t, 0, "--json", "membership", "status")
	var st struct {
		Log       string `json:"log"`
		Epoch     uint64 `json:"epoch"`
		StateRoot string `json:"state_root"`
	}
	if err := json.Unmarshal([]byte(jsonOut), &st); err != nil {
		t.Fatal(err)
	}
	if want := c.State().Root().String(); st.Log != "the daemon at "+n1.Socket || st.Epoch != 2 || st.StateRoot != want {
		t.Errorf("got log %q at epoch %d root %s, want the daemon at %s at epoch 2 root %s", st.Log, st.Epoch, st.StateRoot, n1.Socket, want)
	}
	cli(t, 0, "membership", "export", "--out", "daemon-log.json")
	cli(t, 0, append(propose, "--out", "daemon-restore.json")...)
	if out, _ := cli(t, 0, "membership", "verify-log"); !strings.HasPrefix(out, "ok: epoch 2 root "+st.StateRoot) {
		t.Errorf("verify-log from the daemon: %q", out)
	}

	n1.Stop()
	dir := []string{"--from", n1.StateDir, "--high-water", n1.HighWater, "--genesis-root", c.GenesisRoot.String()}
	if fromDir, _ := cli(t, 0, append([]string{"membership", "status"}, dir...)...); fromDir != fromDaemon {
		t.Errorf("status from the daemon … from its state directory (-daemon +dir):\n%s", cmp.Diff(fromDaemon, fromDir))
	}
	cli(t, 0, append([]string{"membership", "export", "--out", "dir-log.json"}, dir...)...)
	cli(t, 0, append(append(propose, "--out", "dir-restore.json"), dir...)...)
	if a, b := readFile(t, work, "daemon-log.json"), readFile(t, work, "dir-log.json"); !bytes.Equal(a, b) {
		t.Errorf("the log exported from the daemon (%d bytes) is not the state directory's (%d bytes)", len(a), len(b))
	}
	if a, b := proposalBody(t, work, "daemon-restore.json"), proposalBody(t, work, "dir-restore.json"); !cmp.Equal(a, b) {
		t.Errorf("proposal from the daemon … from the state directory (-daemon +dir):\n%s", cmp.Diff(a, b))
	}

	// With the daemon gone and nothing named, the CLI says what to pass.
	_, stderr := cli(t, 2, "membership", "status")
	if !strings.HasPrefix(stderr, "error: USAGE: ") || !strings.Contains(stderr, n1.Socket) || !strings.Contains(stderr, "--from FILE|DIR") {
		t.Errorf("status with no daemon: %s", stderr)
	}
}

// readFile reads dir/name.
func readFile(t *testing.T, dir, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// proposalBody is the body of the proposal in dir/name as JSON values,
// without its random update id and the new state root that commits to it.
func proposalBody(t *testing.T, dir, name string) map[string]any {
	t.Helper()
	var f struct{ Body map[string]any }
	if err := json.Unmarshal(readFile(t, dir, name), &f); err != nil {
		t.Fatal(err)
	}
	delete(f.Body, "update_id")
	delete(f.Body, "new_state_root")
	delete(f.Body, "created_at") // proposed a moment apart
	delete(f.Body, "expires_at")
	return f.Body
}
