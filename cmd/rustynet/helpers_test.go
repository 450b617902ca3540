package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// result is what one in-process run of the CLI produced.
type result struct {
	exit           int
	stdout, stderr string
}

// runCLI runs the CLI in-process with args, in the current directory.
func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(context.Background(), args, strings.NewReader(""), &out, &errOut)
	return result{exit: code, stdout: out.String(), stderr: errOut.String()}
}

// mustRun runs the CLI and fails the test unless it exits 0.
func mustRun(t *testing.T, args ...string) result {
	t.Helper()
	r := runCLI(t, args...)
	if r.exit != exitOK {
		t.Fatalf("rustynet %s: exit %d, want 0\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), r.exit, r.stdout, r.stderr)
	}
	return r
}

// setClock makes the CLI's clock return at until the test ends.
func setClock(t *testing.T, at time.Time) {
	t.Helper()
	saved := clock
	clock = func() time.Time { return at }
	t.Cleanup(func() { clock = saved })
}

// snapshot returns the SHA-256 and mode of every entry of dir, so a test
// can show that a command changed nothing (and left no temp file behind).
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		if e.IsDir() {
			m[e.Name()] = "dir " + info.Mode().String()
			continue
		}
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		m[e.Name()] = info.Mode().String() + " " + hex.EncodeToString(sum[:])
	}
	return m
}

// assertUnchanged fails if dir differs from the snapshot before.
func assertUnchanged(t *testing.T, dir string, before map[string]string) {
	t.Helper()
	if diff := cmp.Diff(before, snapshot(t, dir)); diff != "" {
		t.Errorf("files changed (-before +after):\n%s", diff)
	}
}

// testNet is a network built through the CLI in a fresh directory: keys
// for approvers alice (owner), bob, carol and dave (not yet an approver)
// and nodes n1, n2, n3; a 2-of-3 genesis with node n1, signed by all three
// initial approvers; and log.json, the verified log holding it.
type testNet struct {
	dir string
	pub map[string]string // key file base name → public key
}

// newNet builds a testNet and makes its directory the current one.
func newNet(t *testing.T) *testNet {
	t.Helper()
	n := &testNet{dir: t.TempDir(), pub: map[string]string{}}
	t.Chdir(n.dir)
	for _, a := range []string{"alice", "bob", "carol", "dave"} {
		n.genKey(t, "approver", a)
	}
	for _, id := range []string{"n1", "n2", "n3"} {
		n.genKey(t, "node", id)
	}
	mustRun(t, n.expand("membership", "init", "--network-id", "demo", "--threshold", "2",
		"--approver", "alice={alice}:owner", "--approver", "bob={bob}", "--approver", "carol={carol}",
		"--node", "n1={n1},100.64.0.1/32", "--out", "genesis.json")...)
	n.sign(t, "genesis.json", "alice", "bob", "carol")
	mustRun(t, "membership", "export", "--from", "genesis.json", "--out", "log.json")
	return n
}

// genKey generates the key file NAME.key and records its public key.
func (n *testNet) genKey(t *testing.T, kind, name string) {
	t.Helper()
	r := mustRun(t, "key", "generate", "--kind", kind, "--out", name+".key")
	n.pub[name] = strings.TrimSuffix(r.stdout, "\n")
}

// expand replaces {NAME} in each argument with NAME's public key.
func (n *testNet) expand(args ...string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		for name, pub := range n.pub {
			a = strings.ReplaceAll(a, "{"+name+"}", pub)
		}
		out[i] = a
	}
	return out
}

// sign signs the update file with each named key.
func (n *testNet) sign(t *testing.T, file string, names ...string) {
	t.Helper()
	for _, name := range names {
		mustRun(t, "membership", "sign-update", "--key", name+".key", file)
	}
}

// propose runs a propose-* command against log.json writing out, and signs
// the result with the named keys.
func (n *testNet) propose(t *testing.T, out string, signers []string, args ...string) {
	t.Helper()
	args = append(n.expand(args...), "--from", "log.json", "--out", out)
	mustRun(t, append([]string{"membership"}, args...)...)
	n.sign(t, out, signers...)
}

// status returns the decoded `membership status --json` of log.json.
func status(t *testing.T) statusOutput {
	t.Helper()
	r := mustRun(t, "membership", "status", "--from", "log.json", "--json")
	var s statusOutput
	if err := json.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("status --json: %v\n%s", err, r.stdout)
	}
	return s
}
