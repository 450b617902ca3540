package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
)

// TestResolveAForkWithTheCLI drives a fork and its resolution through the
// commands an operator uses: two conflicting updates (bob signs both) make
// an offline node directory forked; propose-resolve-fork builds the
// resolution from its evidence; sign-update checks it against the log it
// settles; a resolution counting bob is refused; apply-update replaces the
// side a log file and the node directory hold.
func TestResolveAForkWithTheCLI(t *testing.T) {
	n := newNet(t)
	genesis := status(t).GenesisRoot
	n.propose(t, "x.json", []string{"alice", "bob"}, "propose-add-node", "--node-id", "n2", "--node-key", "{n2}", "--address", "100.64.0.2/32")
	n.propose(t, "y.json", []string{"bob", "carol"}, "propose-add-node", "--node-id", "n3", "--node-key", "{n3}", "--address", "100.64.0.3/32")
	mustRun(t, "membership", "apply-update", "--from", "log.json", "x.json")

	dir := filepath.Join(n.dir, "node")
	hw := []string{"--high-water", filepath.Join(n.dir, "hw.json"), "--genesis-root", genesis}
	mustRun(t, append([]string{"membership", "apply-update", "--state-dir", dir, "genesis.json"}, hw...)...)
	mustRun(t, append([]string{"membership", "apply-update", "--state-dir", dir, "x.json"}, hw...)...)
	if r := runCLI(t, append([]string{"membership", "apply-update", "--state-dir", dir, "y.json"}, hw...)...); !strings.HasPrefix(r.stderr, "error: FORKED: ") {
		t.Fatalf("the conflicting update: exit %d %s", r.exit, r.stderr)
	}
	evidence, err := filepath.Glob(dir + ".evidence/fork-*.json")
	if err != nil || len(evidence) != 1 {
		t.Fatalf("evidence files %v (%v)", evidence, err)
	}

	// Keep y's node: the resolution applies y's operation.
	y := readUpdateFile(t, "y.json")
	r := mustRun(t, "membership", "propose-resolve-fork", "--genesis-root", genesis, "--evidence", evidence[0],
		"--choose", y.Digest().String(), "--out", "resolve.json")
	if !strings.Contains(r.stdout, "FORK RESOLUTION") || !strings.Contains(r.stdout, "= side (chosen)") {
		t.Errorf("propose-resolve-fork:\n%s", r.stdout)
	}
	mustRun(t, "membership", "propose-resolve-fork", "--genesis-root", genesis, "--evidence", evidence[0], "--choose", "none", "--out", "bad.json")
	n.sign(t, "bad.json", "alice", "bob")
	if r := runCLI(t, "membership", "apply-update", "--from", "log.json", "bad.json"); !strings.HasPrefix(r.stderr, "error: THRESHOLD_NOT_MET: ") {
		t.Errorf("a resolution counting a double-signer: exit %d %s", r.exit, r.stderr)
	}
	// bob signed both sides: sign-update never asks him.
	r = mustRun(t, "membership", "sign-update", "--key", "alice.key", "--from", "log.json", "resolve.json")
	if !strings.Contains(r.stdout, "from: carol\n") {
		t.Errorf("sign-update after alice asks:\n%s", r.stdout)
	}
	mustRun(t, "membership", "sign-update", "--key", "carol.key", "--from", "log.json", "resolve.json")
	res := readUpdateFile(t, "resolve.json")

	mustRun(t, "membership", "apply-update", "--from", "log.json", "resolve.json")
	if s := status(t); s.Epoch != 2 || s.StateRoot != res.Body.NewStateRoot.String() {
		t.Errorf("log.json after the resolution: epoch %d root %s, want 2 %s", s.Epoch, s.StateRoot, res.Body.NewStateRoot)
	}
	mustRun(t, append([]string{"membership", "apply-update", "--state-dir", dir, "resolve.json"}, hw...)...)
	out := mustRun(t, append([]string{"membership", "status", "--from", dir, "--json"}, hw...)...).stdout
	if !strings.Contains(out, res.Body.NewStateRoot.String()) || strings.Contains(out, "forked") {
		t.Errorf("the node directory after the resolution:\n%s", out)
	}
	if left, _ := filepath.Glob(dir + ".evidence/fork-*.json"); len(left) != 0 {
		t.Errorf("settled evidence left: %v", left)
	}
}

func readUpdateFile(t *testing.T, file string) *membership.SignedUpdate {
	t.Helper()
	u, _, err := readUpdate(file)
	if err != nil {
		t.Fatal(err)
	}
	return u
}
