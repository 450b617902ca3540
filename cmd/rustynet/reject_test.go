package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
)

// addNode proposes adding n2 as add.json, signed by signers.
func (n *testNet) addNode(t *testing.T, signers ...string) {
	t.Helper()
	n.propose(t, "add.json", signers, "propose-add-node", "--node-id", "n2", "--node-key", "{n2}", "--address", "100.64.0.2/32")
}

// addDave proposes adding dave as an approver, as dave.json.
func (n *testNet) addDave(t *testing.T, signers ...string) {
	t.Helper()
	n.propose(t, "dave.json", signers, "propose-add-approver", "--approver-id", "dave", "--approver-key", "{dave}")
}

var (
	applyAdd  = []string{"membership", "apply-update", "--from", "log.json", "add.json"}
	applyDave = []string{"membership", "apply-update", "--from", "log.json", "dave.json"}
)

// TestRejections checks that each bad input is refused with its stable
// code and exit status 1, and that no file changes. Where the rejected
// command is apply-update, verify-update must give the same verdict.
func TestRejections(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, n *testNet) []string // prepares files, returns the command
		code  membership.Code
	}{
		{"one signature of two", func(t *testing.T, n *testNet) []string {
			n.addNode(t, "alice")
			return applyAdd
		}, membership.ThresholdNotMet},
		{"the same update applied twice", func(t *testing.T, n *testNet) []string {
			n.addNode(t, "alice", "bob")
			mustRun(t, applyAdd...)
			return applyAdd
		}, membership.ReplayedUpdate},
		{"an update proposed against an older head", func(t *testing.T, n *testNet) []string {
			n.addNode(t, "alice", "bob")
			n.propose(t, "revoke.json", []string{"alice", "bob"}, "propose-revoke-node", "--node-id", "n1")
			mustRun(t, applyAdd...)
			return []string{"membership", "apply-update", "--from", "log.json", "revoke.json"}
		}, membership.StaleEpoch},
		{"add-approver without an owner", func(t *testing.T, n *testNet) []string {
			n.addDave(t, "bob", "carol", "dave")
			return applyDave
		}, membership.OwnerRequired},
		{"add-approver without the new approver", func(t *testing.T, n *testNet) []string {
			n.addDave(t, "alice", "bob")
			return applyDave
		}, membership.NewApproverMustSign},
		{"body changed after signing, root recomputed", func(t *testing.T, n *testNet) []string {
			n.addNode(t, "alice", "bob")
			forgeExpiry(t, "add.json")
			return applyAdd
		}, membership.BadSignature},
		{"expires_at digits edited", func(t *testing.T, n *testNet) []string {
			n.addNode(t, "alice", "bob")
			editFile(t, "add.json", func(b []byte) []byte { return bumpExpiry(t, b) })
			return applyAdd
		}, membership.WrongNewRoot},
		{"signed by an outsider", func(t *testing.T, n *testNet) []string {
			n.genKey(t, "approver", "mallory")
			n.addNode(t, "alice", "bob", "mallory")
			return applyAdd
		}, membership.UnknownSigner},
		{"pretty-printed body", func(t *testing.T, n *testNet) []string {
			n.addNode(t, "alice", "bob")
			editFile(t, "add.json", prettyBody(t))
			return applyAdd
		}, membership.NonCanonical},
		{"expired", func(t *testing.T, n *testNet) []string {
			n.addNode(t, "alice", "bob")
			setClock(t, time.Now().Add(defaultExpiry+time.Hour))
			return applyAdd
		}, membership.Expired},
		{"signing twice with one key", func(t *testing.T, n *testNet) []string {
			n.addNode(t, "alice")
			return []string{"membership", "sign-update", "--key", "alice.key", "add.json"}
		}, membership.DuplicateSigner},
		{"wrong pinned genesis root", func(t *testing.T, n *testNet) []string {
			return []string{"membership", "status", "--from", "log.json", "--genesis-root", strings.Repeat("ab", 32)}
		}, membership.IntegrityFailure},
		{"a log entry's signature altered", func(t *testing.T, n *testNet) []string {
			editFile(t, "log.json", func(b []byte) []byte { return flipSignature(t, b) })
			return []string{"membership", "status", "--from", "log.json"}
		}, membership.BadSignature},
		{"a genesis not signed by every approver", func(t *testing.T, n *testNet) []string {
			mustRun(t, n.expand("membership", "init", "--network-id", "other", "--threshold", "1",
				"--approver", "alice={alice}:owner", "--approver", "bob={bob}", "--out", "g2.json")...)
			n.sign(t, "g2.json", "alice")
			return []string{"membership", "status", "--from", "g2.json"}
		}, membership.NewApproverMustSign},
		{"threshold above the approver count", func(t *testing.T, n *testNet) []string {
			return []string{"membership", "propose-set-threshold", "--from", "log.json", "--threshold", "4", "--out", "t.json"}
		}, membership.BadThreshold},
		{"revoking an unknown node", func(t *testing.T, n *testNet) []string {
			return []string{"membership", "propose-revoke-node", "--from", "log.json", "--node-id", "nope", "--out", "r.json"}
		}, membership.IllegalOperation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNet(t)
			args := tt.setup(t, n)
			before := snapshot(t, n.dir)
			got := runCLI(t, args...)
			assertRejected(t, got, tt.code)
			assertUnchanged(t, n.dir, before)
			if args[1] == "apply-update" {
				verify := append([]string{"membership", "verify-update"}, args[2:]...)
				assertRejected(t, runCLI(t, verify...), tt.code)
				assertUnchanged(t, n.dir, before)
			}
		})
	}
}

// assertRejected checks exit status 1 and the code leading stderr.
func assertRejected(t *testing.T, got result, code membership.Code) {
	t.Helper()
	if got.exit != exitRejected {
		t.Errorf("exit: got %d, want %d\nstderr: %s", got.exit, exitRejected, got.stderr)
	}
	if want := "error: " + string(code) + ": "; !strings.HasPrefix(got.stderr, want) {
		t.Errorf("stderr: got %q, want it to start with %q", got.stderr, want)
	}
}

// editFile rewrites a file through f.
func editFile(t *testing.T, path string, f func([]byte) []byte) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, f(data), 0o644); err != nil {
		t.Fatal(err)
	}
}

var expiresAt = regexp.MustCompile(`"expires_at":(\d+)`)

// bumpExpiry adds one second to the expires_at of the body in b: still
// canonical, but no longer what was signed.
func bumpExpiry(t *testing.T, b []byte) []byte {
	t.Helper()
	m := expiresAt.FindSubmatch(b)
	if m == nil {
		t.Fatal("no expires_at in the file")
	}
	v, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return bytes.Replace(b, m[0], fmt.Appendf(nil, `"expires_at":%d`, v+1), 1)
}

// forgeExpiry extends the validity of the signed update in path by one
// second and recomputes its new_state_root, keeping its update id and its
// signatures: a fully consistent body that nobody signed.
func forgeExpiry(t *testing.T, path string) {
	t.Helper()
	logData, err := os.ReadFile("log.json")
	if err != nil {
		t.Fatal(err)
	}
	entries, err := membership.ParseLog(logData, nil)
	if err != nil {
		t.Fatal(err)
	}
	chain, _, err := membership.Replay(entries, membership.Hash{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	editFile(t, path, func(data []byte) []byte {
		u, err := membership.ParseSignedUpdate(data, nil)
		if err != nil {
			t.Fatal(err)
		}
		b := u.Body
		forged, err := membership.NewUpdate(chain.State(), b.Operation, membership.Proposal{
			CreatedAt: time.Unix(b.CreatedAt, 0),
			Validity:  time.Duration(b.ExpiresAt-b.CreatedAt+1) * time.Second,
			Rand:      bytes.NewReader(b.UpdateID[:]),
		})
		if err != nil {
			t.Fatal(err)
		}
		return bytes.Replace(data, u.BodyBytes(), forged.BodyBytes(), 1)
	})
}

// prettyBody returns an edit that re-indents the body of an update file.
func prettyBody(t *testing.T) func([]byte) []byte {
	return func(data []byte) []byte {
		var env struct {
			Body       json.RawMessage `json:"body"`
			Signatures json.RawMessage `json:"signatures"`
		}
		if err := json.Unmarshal(data, &env); err != nil {
			t.Fatal(err)
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, env.Body, "", "  "); err != nil {
			t.Fatal(err)
		}
		// Assembled by hand: json.Marshal would compact the body again.
		return fmt.Appendf(nil, "{\"body\": %s, \"signatures\": %s}\n", pretty.Bytes(), env.Signatures)
	}
}

var signature = regexp.MustCompile(`"signature": "([A-Za-z0-9+/])`)

// flipSignature changes the first character of the first signature in b.
func flipSignature(t *testing.T, b []byte) []byte {
	t.Helper()
	m := signature.FindSubmatchIndex(b)
	if m == nil {
		t.Fatal("no signature in the file")
	}
	out := bytes.Clone(b)
	if out[m[2]] == 'A' {
		out[m[2]] = 'B'
	} else {
		out[m[2]] = 'A'
	}
	return out
}
