package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/cmd/rustynet/internal/demo"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

func TestJoinContext(t *testing.T) {
	tests := []struct {
		name, what, cause, want string
	}{
		{"no context", "", "update expired", "update expired"},
		{"a request", "applying through the daemon", "update 1050d was already applied", "applying through the daemon: update 1050d was already applied"},
		{"a file and an entry", "log.json: entry 2", "1 of 2 approver signatures", "log.json: entry 2: 1 of 2 approver signatures"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := joinContext(tt.what, tt.cause); got != tt.want {
				t.Errorf("joinContext(%q, %q): got %q, want %q", tt.what, tt.cause, got, tt.want)
			}
		})
	}
}

// recordContexts collects every context joinContext is given until the
// test ends. Tests using it must not run in parallel.
func recordContexts(t *testing.T) func() []string {
	t.Helper()
	var mu sync.Mutex
	var seen []string
	observeContext = func(what string) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, what)
	}
	t.Cleanup(func() { observeContext = nil })
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		out := seen
		seen = nil
		return out
	}
}

// unreadable are what no message may show: Go's names for types, and the
// context-glued-to-cause messages issue 16 found.
var unreadable = []string{"Go value of type", "Go struct field", "struct {", "daemonupdate", "nodeupdate"}

// assertReadsWell fails if text shows anything of unreadable, or if a
// context joinContext was given is not followed by ": " in it.
func assertReadsWell(t *testing.T, text string, contexts []string) {
	t.Helper()
	for _, bad := range unreadable {
		if strings.Contains(text, bad) {
			t.Errorf("the output contains %q:\n%s", bad, text)
		}
	}
	for _, c := range contexts {
		if !strings.Contains(text, c+": ") {
			t.Errorf("context %q is not followed by \": \" in the output:\n%s", c, text)
		}
	}
}

// errorCase is a failing invocation of the CLI: setup prepares files in a
// fresh testNet and returns the arguments.
type errorCase struct {
	name  string
	setup func(t *testing.T, n *testNet) []string
	exit  int
	code  string
	want  []string // in stderr
}

// runErrorCorpus runs each case and checks that its error reads well:
// the code leads stderr, no Go type or glued context shows anywhere, and
// every context given to joinContext reached the user followed by ": ".
func runErrorCorpus(t *testing.T, cases []errorCase) {
	contexts := recordContexts(t)
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			n := newNet(t)
			args := tt.setup(t, n)
			contexts()
			r := runCLI(t, args...)
			if r.exit != tt.exit || !strings.HasPrefix(r.stderr, "error: "+tt.code+": ") {
				t.Fatalf("rustynet %s: exit %d, stderr %q; want exit %d and error %s", strings.Join(args, " "), r.exit, r.stderr, tt.exit, tt.code)
			}
			for _, w := range tt.want {
				if !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
			assertReadsWell(t, r.stdout+r.stderr, contexts())
		})
	}
}

// TestErrorCorpusReadsWell runs failing invocations, one for each way a
// message is built from a context and a cause or from what encoding/json
// said about a file, and holds every message to assertReadsWell.
func TestErrorCorpusReadsWell(t *testing.T) {
	writeText := func(t *testing.T, name, text string) {
		t.Helper()
		if err := os.WriteFile(name, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	verify := func(file string) []string { return []string{"membership", "verify-update", "--from", "log.json", file} }
	runErrorCorpus(t, []errorCase{
		{"an update whose body is a number", func(t *testing.T, n *testNet) []string {
			writeText(t, "bad.json", `{"body": 5, "signatures": []}`)
			return verify("bad.json")
		}, exitRejected, "NON_CANONICAL", []string{"bad.json: update body is not a JSON object: want an object, got a number"}},
		{"a body field of the wrong type", func(t *testing.T, n *testNet) []string {
			n.addNode(t, "alice", "bob")
			editFile(t, "add.json", func(b []byte) []byte { return []byte(strings.Replace(string(b), `"epoch":2`, `"epoch":"2"`, 1)) })
			return verify("add.json")
		}, exitRejected, "NON_CANONICAL", []string{"add.json: update body does not match the schema: field epoch: want a non-negative integer, got a string"}},
		{"an envelope field of the wrong type", func(t *testing.T, n *testNet) []string {
			writeText(t, "bad.json", `{"body": {}, "signatures": {}}`)
			return verify("bad.json")
		}, exitRejected, "NON_CANONICAL", []string{"field signatures: want an array, got an object"}},
		{"an update file that is not JSON", func(t *testing.T, n *testNet) []string {
			writeText(t, "bad.json", `{"body": {"epoch" 2}}`)
			return verify("bad.json")
		}, exitRejected, "NON_CANONICAL", []string{"invalid JSON at byte 19: invalid character '2' after object key"}},
		{"a log entry that is not an object", func(t *testing.T, n *testNet) []string {
			writeText(t, "bad.json", `[5]`)
			return []string{"membership", "status", "--from", "bad.json"}
		}, exitRejected, "NON_CANONICAL", []string{"bad.json: log entry 1: want a JSON object"}},
		{"a log entry that does not verify", func(t *testing.T, n *testNet) []string {
			n.addNode(t, "alice")
			writeText(t, "two.json", "["+string(readFile(t, "genesis.json"))+","+string(readFile(t, "add.json"))+"]")
			return []string{"membership", "status", "--from", "two.json"}
		}, exitRejected, "THRESHOLD_NOT_MET", []string{"two.json: entry 2: 1 of 2"}},
		{"an update applied twice", func(t *testing.T, n *testNet) []string {
			n.addNode(t, "alice", "bob")
			mustRun(t, applyAdd...)
			return applyAdd
		}, exitRejected, "REPLAYED_UPDATE", nil},
		{"an outsider signing", func(t *testing.T, n *testNet) []string {
			n.addNode(t)
			n.genKey(t, "approver", "mallory")
			return []string{"membership", "sign-update", "--key", "mallory.key", "--from", "log.json", "add.json"}
		}, exitRejected, "UNKNOWN_SIGNER", []string{"is not an approver of add.json at epoch 1 of log.json (its approvers: alice, bob, carol)"}},
		{"an RSA key", func(t *testing.T, n *testNet) []string {
			k, err := rsa.GenerateKey(rand.Reader, 2048)
			if err != nil {
				t.Fatal(err)
			}
			der, err := x509.MarshalPKCS8PrivateKey(k)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile("rsa.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
				t.Fatal(err)
			}
			return []string{"membership", "sign-update", "--key", "rsa.key", "genesis.json"}
		}, exitUsage, "USAGE", []string{"rsa.key: the PEM key is an RSA key, not an Ed25519 approver key"}},
		{"restoring from a file that is no log", func(t *testing.T, n *testNet) []string {
			writeText(t, "bad.json", `{"body": "x"}`)
			return []string{"membership", "restore", "--state-dir", "node", "--from", "bad.json"}
		}, exitRejected, "NON_CANONICAL", []string{"bad.json: "}},
		{"an evidence file of the wrong shape", func(t *testing.T, n *testNet) []string {
			writeText(t, "ev.json", `5`)
			return []string{"membership", "verify-evidence", "--genesis-root", strings.Repeat("a", 64), "ev.json"}
		}, exitRejected, "NON_CANONICAL", []string{"ev.json: not an evidence file: want an object, got a number"}},
	})
}

// TestErrorsBuiltFromContextsReadWell checks the errors the CLI builds
// from another party's failure, which a test cannot easily provoke
// end to end: the demo's, the daemon's answers, a store's, a node that
// does not start.
func TestErrorsBuiltFromContextsReadWell(t *testing.T) {
	contexts := recordContexts(t)
	replayed := &membership.Error{Code: membership.ReplayedUpdate, Msg: "update 1050d1 was already applied at epoch 4"}
	wrongRoot := &membership.Error{Code: membership.WrongNewRoot, Msg: "update claims new root ab, applying it gives cd"}
	stale := &membership.Error{Code: membership.StaleEpoch, Msg: "update is for epoch 2"}
	future := &membership.Error{Code: membership.FutureEpoch, Msg: "update is for epoch 4"}
	locked := hostapi.Errorf(hostapi.CodeLocked, "held by pid 7")
	tests := []struct {
		name     string
		build    func() error // builds the error while contexts are recorded
		wantMsg  string
		wantHint string
	}{{
		name: "the demo's node refused",
		build: func() error {
			return demoError(&demo.Error{Kind: demo.Daemon, What: "n4 refused the update", Err: replayed})
		},
		wantMsg: "REPLAYED_UPDATE: n4 refused the update: update 1050d1 was already applied at epoch 4",
	}, {
		name:    "the demo's own chain refused",
		build:   func() error { return demoError(&demo.Error{Kind: demo.Refused, What: "demo chain", Err: wrongRoot}) },
		wantMsg: "WRONG_NEW_ROOT: demo chain: update claims new root ab, applying it gives cd",
	}, {
		name:    "the daemon's verdict",
		build:   func() error { return daemonError("applying through the daemon", replayed) },
		wantMsg: "REPLAYED_UPDATE: applying through the daemon: update 1050d1 was already applied at epoch 4",
	}, {
		name:    "a node that does not start",
		build:   func() error { return rejected("starting the node", wrongRoot) },
		wantMsg: "WRONG_NEW_ROOT: starting the node: update claims new root ab, applying it gives cd",
	}, {
		name:     "a locked state directory",
		build:    func() error { return storeError("the file store cannot open state directory /s", locked) },
		wantMsg:  "LOCKED: the file store cannot open state directory /s: held by pid 7",
		wantHint: "stop the daemon first, or work on a copy of the directory",
	}, {
		name:     "a stale update",
		build:    func() error { return withNextStep(rejected("", stale)) },
		wantMsg:  "STALE_EPOCH: update is for epoch 2",
		wantHint: "propose the change again against the new head",
	}, {
		name:     "an update ahead of the log",
		build:    func() error { return withNextStep(rejected("", future)) },
		wantMsg:  "FUTURE_EPOCH: update is for epoch 4",
		wantHint: "apply the updates before it first",
	}, {
		name:    "a key file's error in context",
		build:   func() error { return inContext("alice.key", usageErrorf("not a private key file")) },
		wantMsg: "USAGE: alice.key: not a private key file",
	}, {
		name:    "an error without an engine code",
		build:   func() error { return rejected("genesis g.json", errors.New("disk on fire")) },
		wantMsg: "INTERNAL: genesis g.json: disk on fire",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			contexts()
			ce := asCLIError(tt.build())
			if got := ce.Error(); got != tt.wantMsg {
				t.Errorf("message: got %q, want %q", got, tt.wantMsg)
			}
			if !strings.Contains(ce.hint, tt.wantHint) || (tt.wantHint == "") != (ce.hint == "") {
				t.Errorf("hint: got %q, want one containing %q", ce.hint, tt.wantHint)
			}
			if tt.wantHint != "" && !strings.HasPrefix(ce.hint, hintPrefix) {
				t.Errorf("hint %q does not start with %q", ce.hint, hintPrefix)
			}
			assertReadsWell(t, ce.Error(), contexts())
		})
	}
}

// TestErrorsAsJSON checks that under --json a command's error is one JSON
// object on one line of stderr, with its code, message, hint (without
// "hint: ") and the notes, and that the exit status is the same.
func TestErrorsAsJSON(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, n *testNet) []string
		exit  int
		want  jsonError
	}{
		{"a usage error", func(t *testing.T, n *testNet) []string {
			return []string{"--json", "membership", "bogus"}
		}, exitUsage, jsonError{Code: "USAGE", Message: `rustynet membership: unknown command "bogus"`, Hint: "Run 'rustynet membership -h' for usage."}},
		{"a usage error of a leaf", func(t *testing.T, n *testNet) []string {
			return []string{"membership", "verify-update", "--json"}
		}, exitUsage, jsonError{Code: "USAGE", Message: "rustynet membership verify-update: want 1 argument(s), got 0", Hint: "Run 'rustynet membership verify-update -h' for usage."}},
		{"a stale update, with its next step and a note", func(t *testing.T, n *testNet) []string {
			n.addNode(t, "alice", "bob")
			n.propose(t, "revoke.json", []string{"alice", "bob"}, "propose-revoke-node", "--node-id", "n1")
			mustRun(t, applyAdd...)
			return []string{"--json", "membership", "apply-update", "--from", "log.json", "revoke.json"}
		}, exitRejected, jsonError{Code: "STALE_EPOCH", Message: "update is for epoch 2, the trusted state is already at epoch 2 (expected 3)",
			Hint: staleNextStep, Notes: []string{"genesis root not pinned (--genesis-root, --config or $RUSTYNET_GENESIS_ROOT); trusted log.json's own genesis {root}"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNet(t)
			args := tt.setup(t, n)
			r := runCLI(t, args...)
			if r.exit != tt.exit {
				t.Errorf("exit: got %d, want %d", r.exit, tt.exit)
			}
			if strings.Count(r.stderr, "\n") != 1 || !strings.HasSuffix(r.stderr, "\n") {
				t.Fatalf("stderr: got %q, want one line", r.stderr)
			}
			dec := json.NewDecoder(strings.NewReader(r.stderr))
			dec.DisallowUnknownFields()
			var got jsonError
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("stderr %q: %v", r.stderr, err)
			}
			for i, note := range tt.want.Notes {
				tt.want.Notes[i] = strings.ReplaceAll(note, "{root}", status(t).GenesisRoot)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("error object (-want +got):\n%s", diff)
			}
		})
	}
}
