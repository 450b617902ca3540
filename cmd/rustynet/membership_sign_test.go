package main

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/membership"
)

// TestSignUpdateChecksTheSigner checks sign-update against a log (and a
// genesis against its own approvers): a key that is not an approver of the
// update, or an update the log would refuse, is refused with nothing
// written; otherwise it signs and says what is still missing. Without
// --from it signs as before and notes that it could not check.
func TestSignUpdateChecksTheSigner(t *testing.T) {
	type want struct {
		exit   int
		code   string // of the error; "" on success
		stdout []string
		stderr []string
	}
	sign := func(key, file string, from ...string) []string {
		return append([]string{"membership", "sign-update", "--key", key + ".key", file}, from...)
	}
	fromLog := []string{"--from", "log.json"}
	tests := []struct {
		name  string
		setup func(t *testing.T, n *testNet) []string
		want  want
	}{
		{"the first signature of two", func(t *testing.T, n *testNet) []string {
			n.addNode(t)
			return sign("bob", "add.json", fromLog...)
		}, want{exitOK, "", []string{"still missing:\n  1 more signature(s) of the current approvers (1 of 2 so far) from: alice, carol\n"}, nil}},
		{"the signature that completes it", func(t *testing.T, n *testNet) []string {
			n.addNode(t, "alice")
			return sign("carol", "add.json", fromLog...)
		}, want{exitOK, "", []string{"complete: add.json has every signature it needs"}, nil}},
		{"a key that is no approver's", func(t *testing.T, n *testNet) []string {
			n.addNode(t, "alice")
			return sign("dave", "add.json", fromLog...)
		}, want{exitRejected, "UNKNOWN_SIGNER", nil, []string{"not signed: key {dave} is not an approver of add.json at epoch 1 of log.json (its approvers: alice, bob, carol)"}}},
		{"an approver's own addition", func(t *testing.T, n *testNet) []string {
			n.addDave(t, "bob")
			return sign("dave", "dave.json", fromLog...)
		}, want{exitOK, "", []string{"still missing:\n" +
			"  1 more signature(s) of the current approvers (1 of 2 so far) from: alice, carol\n" +
			"  an owner's signature from: alice\n", // the resulting set's threshold is met: bob and dave
		}, nil}},
		{"an approver change without an owner", func(t *testing.T, n *testNet) []string {
			n.addDave(t, "bob", "dave")
			return sign("carol", "dave.json", fromLog...)
		}, want{exitOK, "", []string{"still missing:\n  an owner's signature from: alice\n"}, nil}},
		{"an approver change without the new approver", func(t *testing.T, n *testNet) []string {
			n.addDave(t, "alice")
			return sign("bob", "dave.json", fromLog...)
		}, want{exitOK, "", []string{"still missing:\n  the signature of dave itself (a new approver or recovery key proves it holds its key)\n"}, nil}},
		{"an update another took the epoch of", func(t *testing.T, n *testNet) []string {
			n.addNode(t, "alice", "bob")
			n.propose(t, "revoke.json", []string{"alice"}, "propose-revoke-node", "--node-id", "n1")
			mustRun(t, applyAdd...)
			return sign("bob", "revoke.json", fromLog...)
		}, want{exitRejected, "STALE_EPOCH", nil, []string{"not signed: revoke.json does not apply to log.json at epoch 2: ", "hint: " + staleNextStep}}},
		{"an update that carries an outsider's signature", func(t *testing.T, n *testNet) []string {
			n.genKey(t, "approver", "mallory")
			n.addNode(t, "mallory")
			return sign("alice", "add.json", fromLog...)
		}, want{exitOK, "", nil, []string{"note: add.json also carries a signature of {mallory}, which is not an approver: every node refuses it (UNKNOWN_SIGNER) until it is removed with `rustynet membership unsign --public-key {mallory} add.json`"}}},
		{"a genesis, checked without --from", func(t *testing.T, n *testNet) []string {
			mustRun(t, n.expand("membership", "init", "--network-id", "other", "--threshold", "1",
				"--approver", "alice={alice}:owner", "--approver", "bob={bob}", "--out", "g2.json")...)
			return sign("carol", "g2.json")
		}, want{exitRejected, "UNKNOWN_SIGNER", nil, []string{"not signed: key {carol} is not one of the approvers g2.json names (alice, bob)"}}},
		{"without --from", func(t *testing.T, n *testNet) []string {
			n.addNode(t)
			return sign("dave", "add.json")
		}, want{exitOK, "", []string{"signed add.json as {dave} (1 signature(s) now)\n"},
			[]string{"note: not checked whether {dave} is an approver of this update, nor which signatures it still needs: no local daemon answers; give --from LOG|DIR\n"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNet(t)
			args := tt.setup(t, n)
			before := snapshot(t, n.dir)
			r := runCLI(t, args...)
			if r.exit != tt.want.exit {
				t.Errorf("exit: got %d, want %d\nstderr: %s", r.exit, tt.want.exit, r.stderr)
			}
			if tt.want.code != "" {
				if !strings.HasPrefix(r.stderr, "error: "+tt.want.code+": ") {
					t.Errorf("stderr: got %q, want error %s", r.stderr, tt.want.code)
				}
				assertUnchanged(t, n.dir, before)
			}
			for _, w := range tt.want.stdout {
				if w = n.expand(w)[0]; !strings.Contains(r.stdout, w) {
					t.Errorf("stdout lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, w := range tt.want.stderr {
				if w = n.expand(w)[0]; !strings.Contains(r.stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, r.stderr)
				}
			}
		})
	}
}

// TestSignUpdateJSON checks what sign-update --json reports.
func TestSignUpdateJSON(t *testing.T) {
	n := newNet(t)
	n.addDave(t)
	r := mustRun(t, "membership", "sign-update", "--json", "--key", "bob.key", "--from", "log.json", "dave.json")
	var got signOutput
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	want := signOutput{File: "dave.json", PublicKey: n.pub["bob"], Signatures: 1, Checked: true, ApproverID: "bob",
		Missing: []missingSignatures{
			{What: "current_approvers", Have: 1, Need: 2, From: []string{"alice", "carol"}},
			{What: "resulting_approvers", Have: 1, Need: 2, From: []string{"alice", "carol", "dave"}},
			{What: "owner", Need: 1, From: []string{"alice"}},
			{What: "self_signature", Need: 1, From: []string{"dave"}},
		}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("sign-update --json (-want +got):\n%s", diff)
	}
}

// TestUnsign checks membership unsign: it removes exactly the signature
// named, by key or by approver id, and names a signature that is not there
// as a usage error, changing nothing.
func TestUnsign(t *testing.T) {
	tests := []struct {
		name  string
		setup func(t *testing.T, n *testNet) // signs add.json
		args  []string                       // after "membership unsign"
		left  []string                       // signers left; nil for a usage error
		want  string                         // in stderr of a usage error
	}{
		{"by public key", func(t *testing.T, n *testNet) { n.addNode(t, "alice", "bob", "carol") },
			[]string{"--public-key", "{bob}", "add.json"}, []string{"alice", "carol"}, ""},
		{"by approver id, looked up in the log", func(t *testing.T, n *testNet) { n.addNode(t, "alice", "bob") },
			[]string{"--key-id", "alice", "--from", "log.json", "add.json"}, []string{"bob"}, ""},
		{"by approver id, named by the genesis", func(t *testing.T, n *testNet) {
			mustRun(t, n.expand("membership", "init", "--network-id", "other", "--threshold", "1",
				"--approver", "alice={alice}:owner", "--approver", "bob={bob}", "--out", "add.json")...)
			n.sign(t, "add.json", "alice", "bob")
		}, []string{"--key-id", "bob", "add.json"}, []string{"alice"}, ""},
		{"an outsider's signature", func(t *testing.T, n *testNet) {
			n.genKey(t, "approver", "mallory")
			n.addNode(t, "alice", "mallory")
		}, []string{"--public-key", "{mallory}", "add.json"}, []string{"alice"}, ""},
		{"a signature that is not there", func(t *testing.T, n *testNet) { n.addNode(t, "alice") },
			[]string{"--public-key", "{bob}", "add.json"}, nil, "add.json carries no signature of {bob}; nothing was written"},
		{"an approver that did not sign", func(t *testing.T, n *testNet) { n.addNode(t, "alice") },
			[]string{"--key-id", "carol", "--from", "log.json", "add.json"}, nil, "add.json carries no signature of carol ({carol})"},
		{"an id without a log", func(t *testing.T, n *testNet) { n.addNode(t, "alice") },
			[]string{"--key-id", "alice", "add.json"}, nil, "give --from LOG|DIR to look it up, or --public-key"},
		{"an id the log does not know", func(t *testing.T, n *testNet) { n.addNode(t, "alice") },
			[]string{"--key-id", "zed", "--from", "log.json", "add.json"}, nil, "--key-id zed: no approver of that id at the head of log.json"},
		{"both ways of naming it", func(t *testing.T, n *testNet) { n.addNode(t, "alice") },
			[]string{"--key-id", "alice", "--public-key", "{alice}", "add.json"}, nil, "give one of --key-id and --public-key"},
		{"neither", func(t *testing.T, n *testNet) { n.addNode(t, "alice") },
			[]string{"add.json"}, nil, "give one of --key-id and --public-key"},
		{"a malformed key", func(t *testing.T, n *testNet) { n.addNode(t, "alice") },
			[]string{"--public-key", "AAAA", "add.json"}, nil, "--public-key: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNet(t)
			tt.setup(t, n)
			before := snapshot(t, n.dir)
			r := runCLI(t, n.expand(append([]string{"membership", "unsign"}, tt.args...)...)...)
			if tt.left == nil {
				if want := n.expand(tt.want)[0]; r.exit != exitUsage || !strings.HasPrefix(r.stderr, "error: USAGE: ") || !strings.Contains(r.stderr, want) {
					t.Errorf("exit %d, stderr %q; want a usage error containing %q", r.exit, r.stderr, want)
				}
				assertUnchanged(t, n.dir, before)
				return
			}
			if r.exit != exitOK {
				t.Fatalf("exit %d, stderr %q", r.exit, r.stderr)
			}
			u, _, err := readUpdate("add.json")
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, s := range u.Signatures {
				for name, pub := range n.pub {
					if pub == s.PublicKey.String() {
						got = append(got, name)
					}
				}
			}
			if diff := cmp.Diff(tt.left, got); diff != "" {
				t.Errorf("signatures left (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUnsignRescuesAnUpdate is the trap of issue 16: an outsider's
// signature poisons an update (UNKNOWN_SIGNER on apply); unsign removes
// it and the update applies.
func TestUnsignRescuesAnUpdate(t *testing.T) {
	n := newNet(t)
	n.addNode(t, "alice", "dave", "bob")
	assertRejected(t, runCLI(t, applyAdd...), membership.UnknownSigner)
	mustRun(t, "membership", "unsign", "--public-key", n.pub["dave"], "add.json")
	mustRun(t, applyAdd...)
}

// TestVerifyUpdateExplainsEpochs checks that verify-update says why an
// update is STALE_EPOCH or FUTURE_EPOCH against the log and what to do,
// in the report and as the error's hint, and that apply-update gives the
// same hint.
func TestVerifyUpdateExplainsEpochs(t *testing.T) {
	tests := []struct {
		name          string
		setup         func(t *testing.T, n *testNet) []string // returns --from and the update
		code          membership.Code
		why, nextStep string
	}{
		{"stale: another update took the epoch", func(t *testing.T, n *testNet) []string {
			n.addNode(t, "alice", "bob")
			n.propose(t, "revoke.json", []string{"alice", "bob"}, "propose-revoke-node", "--node-id", "n1")
			mustRun(t, applyAdd...)
			return []string{"--from", "log.json", "revoke.json"}
		}, membership.StaleEpoch, "epoch 2 of log.json is already update {add} (add_node), applied since this update was proposed; the head is now epoch 2", staleNextStep},
		{"future: the log lacks the update before it", func(t *testing.T, n *testNet) []string {
			n.addNode(t, "alice", "bob")
			mustRun(t, applyAdd...)
			n.propose(t, "revoke.json", []string{"alice", "bob"}, "propose-revoke-node", "--node-id", "n1")
			return []string{"--from", "genesis.json", "revoke.json"}
		}, membership.FutureEpoch, "genesis.json ends at epoch 1: the update of epoch 2 is missing here", futureNextStep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := newNet(t)
			args := tt.setup(t, n)
			add, _, err := readUpdate("add.json")
			if err != nil {
				t.Fatal(err)
			}
			why := strings.ReplaceAll(tt.why, "{add}", hex.EncodeToString(add.Body.UpdateID[:]))

			r := runCLI(t, append([]string{"membership", "verify-update"}, args...)...)
			assertRejected(t, r, tt.code)
			for _, want := range []string{"\nwhy: " + why + "\n", "\nnext step: " + tt.nextStep + "\n"} {
				if !strings.Contains(r.stdout, want) {
					t.Errorf("verify-update's report lacks %q:\n%s", want, r.stdout)
				}
			}
			if want := "\nhint: " + tt.nextStep + "\n"; !strings.Contains(r.stderr, want) {
				t.Errorf("verify-update's stderr lacks %q:\n%s", want, r.stderr)
			}

			r = runCLI(t, append([]string{"membership", "verify-update", "--json"}, args...)...)
			var rep verifyReport
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("%v\n%s", err, r.stdout)
			}
			if rep.Why != why || rep.NextStep != tt.nextStep {
				t.Errorf("verify-update --json: got why %q, next_step %q; want %q, %q", rep.Why, rep.NextStep, why, tt.nextStep)
			}

			r = runCLI(t, append([]string{"membership", "apply-update"}, args...)...)
			assertRejected(t, r, tt.code)
			if want := "\nhint: " + tt.nextStep + "\n"; !strings.Contains(r.stderr, want) {
				t.Errorf("apply-update's stderr lacks %q:\n%s", want, r.stderr)
			}
		})
	}
}
