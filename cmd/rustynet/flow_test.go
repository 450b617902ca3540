package main

import (
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// view is the part of `membership status --json` the flow checks.
type view struct {
	Epoch     uint64
	Threshold uint64
	Approvers []string // ID:ROLE
	Nodes     []nodeOutput
}

// viewOf projects a status onto a view.
func viewOf(s statusOutput) view {
	v := view{Epoch: s.Epoch, Threshold: s.Threshold, Nodes: s.Nodes}
	for _, a := range s.Approvers {
		v.Approvers = append(v.Approvers, a.ID+":"+string(a.Role))
	}
	return v
}

// node returns the expected status of a node; lists are comma-separated.
func node(id, status, key, addrs, endpoints, tags, routes, owner string) nodeOutput {
	split := func(s string) []string {
		if s == "" {
			return []string{}
		}
		return strings.Split(s, ",")
	}
	return nodeOutput{ID: id, Status: status, PublicKey: key, Addresses: split(addrs),
		Endpoints: split(endpoints), Tags: split(tags), Routes: split(routes), Owner: owner}
}

// TestFlow runs the documented operator flow in-process: genesis signed by
// three approvers, then every kind of update proposed, signed, verified and
// applied, checking the resulting membership after each.
func TestFlow(t *testing.T) {
	n := newNet(t)
	three := []string{"alice:owner", "bob:approver", "carol:approver"}
	four := []string{"alice:owner", "bob:approver", "carol:approver", "dave:owner"}
	n1 := node("n1", "active", n.pub["n1"], "100.64.0.1/32", "", "", "", "")
	n1b := node("n1", "active", n.pub["n3"], "100.64.0.1/32", "", "", "", "")
	n1c := node("n1", "active", n.pub["n3"], "100.64.0.10/32,100.64.0.11/32", "", "router", "", "")
	n2 := node("n2", "active", n.pub["n2"], "100.64.0.2/32", "127.0.0.1:51821", "exit", "10.0.0.0/24", "ops team")
	n2revoked := n2
	n2revoked.Status = "revoked"
	n2b := n2
	n2b.Tags = []string{}

	if diff := cmp.Diff(view{Epoch: 1, Threshold: 2, Approvers: three, Nodes: []nodeOutput{n1}}, viewOf(status(t))); diff != "" {
		t.Fatalf("genesis status (-want +got):\n%s", diff)
	}
	steps := []struct {
		name    string
		propose []string
		signers []string
		want    view
	}{
		{"add node", []string{"propose-add-node", "--node-id", "n2", "--node-key", "{n2}", "--address", "100.64.0.2/32",
			"--endpoint", "127.0.0.1:51821", "--tag", "exit", "--route", "10.0.0.0/24", "--owner", "ops team", "--expires-in", "1h"},
			[]string{"alice", "bob"}, view{2, 2, three, []nodeOutput{n1, n2}}},
		{"revoke node", []string{"propose-revoke-node", "--node-id", "n2"},
			[]string{"alice", "carol"}, view{3, 2, three, []nodeOutput{n1, n2revoked}}},
		{"restore node", []string{"propose-restore-node", "--node-id", "n2"},
			[]string{"bob", "carol"}, view{4, 2, three, []nodeOutput{n1, n2}}},
		{"rotate node key", []string{"propose-rotate-node-key", "--node-id", "n1", "--node-key", "{n3}"},
			[]string{"alice", "bob"}, view{5, 2, three, []nodeOutput{n1b, n2}}},
		{"update node lists", []string{"propose-update-node", "--node-id", "n1", "--address", "100.64.0.11", "--address", "100.64.0.10/32", "--tag", "router"},
			[]string{"alice", "bob"}, view{6, 2, three, []nodeOutput{n1c, n2}}},
		{"update node empties a list", []string{"propose-update-node", "--node-id", "n2", "--tag="},
			[]string{"carol", "bob"}, view{7, 2, three, []nodeOutput{n1c, n2b}}},
		{"add owner approver", []string{"propose-add-approver", "--approver-id", "dave", "--approver-key", "{dave}", "--owner"},
			[]string{"alice", "bob", "dave"}, view{8, 2, four, []nodeOutput{n1c, n2b}}},
		{"set threshold", []string{"propose-set-threshold", "--threshold", "3"},
			[]string{"alice", "bob", "carol"}, view{9, 3, four, []nodeOutput{n1c, n2b}}},
		{"remove node", []string{"propose-remove-node", "--node-id", "n2"},
			[]string{"alice", "bob", "dave"}, view{10, 3, four, []nodeOutput{n1c}}},
		{"remove approver", []string{"propose-remove-approver", "--approver-id", "carol"},
			[]string{"dave", "alice", "bob"}, view{11, 3, []string{"alice:owner", "bob:approver", "dave:owner"}, []nodeOutput{n1c}}},
	}
	for i, st := range steps {
		file := fmt.Sprintf("u%02d.json", i)
		n.propose(t, file, st.signers, st.propose...)
		r := mustRun(t, "membership", "verify-update", "--from", "log.json", file)
		if !strings.HasSuffix(r.stdout, "\nresult: ok\n") {
			t.Fatalf("%s: verify-update output does not end in `result: ok`:\n%s", st.name, r.stdout)
		}
		mustRun(t, "membership", "apply-update", "--from", "log.json", file)
		if diff := cmp.Diff(st.want, viewOf(status(t))); diff != "" {
			t.Fatalf("%s: status (-want +got):\n%s", st.name, diff)
		}
	}
}

// TestGenesisRootPinning checks the genesis root note and the pin.
func TestGenesisRootPinning(t *testing.T) {
	newNet(t)
	root := status(t).GenesisRoot
	unpinned := mustRun(t, "membership", "status", "--from", "log.json")
	wantNote := fmt.Sprintf("note: genesis root not pinned (--genesis-root, --config or $RUSTYNET_GENESIS_ROOT); trusted log.json's own genesis %s\n", root)
	if unpinned.stderr != wantNote {
		t.Errorf("unpinned stderr: got %q, want %q", unpinned.stderr, wantNote)
	}
	if want := fmt.Sprintf("genesis root:  %s (not pinned)\n", root); !strings.Contains(unpinned.stdout, want) {
		t.Errorf("unpinned stdout lacks %q:\n%s", want, unpinned.stdout)
	}
	pinned := mustRun(t, "membership", "status", "--from", "log.json", "--genesis-root", root)
	if pinned.stderr != "" {
		t.Errorf("pinned stderr: got %q, want nothing", pinned.stderr)
	}
	if want := fmt.Sprintf("genesis root:  %s (pinned)\n", root); !strings.Contains(pinned.stdout, want) {
		t.Errorf("pinned stdout lacks %q:\n%s", want, pinned.stdout)
	}
}

// TestDryRunWritesNothing checks apply-update --dry-run.
func TestDryRunWritesNothing(t *testing.T) {
	n := newNet(t)
	n.propose(t, "add.json", []string{"alice", "bob"}, "propose-add-node", "--node-id", "n2", "--node-key", "{n2}", "--address", "100.64.0.2/32")
	before := snapshot(t, n.dir)
	r := mustRun(t, "membership", "apply-update", "--dry-run", "--from", "log.json", "add.json")
	assertUnchanged(t, n.dir, before)
	if !strings.Contains(r.stdout, "\nresult: ok\ndry run: log.json not changed; applying would make epoch 2, state root ") {
		t.Errorf("dry-run output lacks the verdict and the would-be epoch:\n%s", r.stdout)
	}
}

// TestVerifyGenesisWithoutLog checks that a genesis can be reviewed before
// any log exists: verify-update without --from checks it as the first
// update of a new network.
func TestVerifyGenesisWithoutLog(t *testing.T) {
	n := newNet(t)
	r := mustRun(t, "membership", "verify-update", "genesis.json")
	if !strings.HasSuffix(r.stdout, "\nresult: ok\n") || r.stderr != "" {
		t.Errorf("fully signed genesis: got stdout\n%s\nstderr %q; want `result: ok` and no stderr", r.stdout, r.stderr)
	}
	mustRun(t, n.expand("membership", "init", "--network-id", "demo", "--threshold", "2",
		"--approver", "alice={alice}:owner", "--approver", "bob={bob}", "--out", "g2.json")...)
	n.sign(t, "g2.json", "alice")
	assertRejected(t, runCLI(t, "membership", "verify-update", "g2.json"), "THRESHOLD_NOT_MET")
	n.sign(t, "g2.json", "bob")
	mustRun(t, "membership", "verify-update", "g2.json")
}
