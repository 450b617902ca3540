package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
)

// TestForkSameOutcomeInEveryOrder signs two different updates for the same
// epoch (add n4, add n5: each valid on its own, both signed by a1 and a2 —
// an equivocation) and gives both to every node, in a different order at
// each: n1 gets n4's first, n2 n5's first, n3 both at once. Whatever the
// order, every node ends the same (docs/forks.md): the first update it saw
// is applied, the second proves the fork (FORKED); each keeps
// byte-identical evidence that `rustynet membership verify-evidence`
// verifies offline, naming a1 and a2; each reports itself forked (status,
// `status --check` exit 2); each data plane follows the same floor — the
// members both sides agree on, so neither n4 nor n5 is a peer anywhere and
// neither reaches anyone; every further update is refused with FORKED; a
// restart changes none of it. n4 and n5 run as daemons that believe n1–n3
// are their peers.
func TestForkSameOutcomeInEveryOrder(t *testing.T) {
	t.Parallel()
	c := newCluster(t, Options{Members: []string{"n1", "n2", "n3"}})
	members := []*Node{c.Node("n1"), c.Node("n2"), c.Node("n3")}
	// No exchange of heads: each node sees the two updates only in the
	// order this test gives them (TestMeshConvergesWithoutAFeed has the
	// evidence spread by the exchange).
	for _, n := range members {
		n.Start(NodeConfig{NoSync: true})
	}
	contenders := []*Node{c.AddNode("n4"), c.AddNode("n5")}
	updates := make([]*membership.SignedUpdate, len(contenders))
	for i, n := range contenders {
		n.Start(NodeConfig{Genesis: c.RogueGenesis(n, members...)})
		updates[i] = c.Sign(c.Propose(membership.Operation{Type: membership.OpAddNode, Node: n.Member()}), "a1", "a2")
	}
	if updates[0].Body.Epoch != updates[1].Body.Epoch || updates[0].Body.PrevStateRoot != updates[1].Body.PrevStateRoot {
		t.Fatal("the two updates do not conflict")
	}

	orders := map[string][]int{"n1": {0, 1}, "n2": {1, 0}}
	for _, n := range members {
		errs := make([]error, len(updates))
		if order, ok := orders[n.ID]; ok {
			for _, i := range order {
				_, errs[i] = n.Apply(updates[i])
			}
		} else {
			var wg sync.WaitGroup
			for i, u := range updates {
				wg.Go(func() { _, errs[i] = n.Apply(u) })
			}
			wg.Wait()
		}
		var applied, forked int
		for _, err := range errs {
			switch membership.CodeOf(err) {
			case "":
				if err == nil {
					applied++
				}
			case membership.Forked:
				forked++
			}
		}
		if applied != 1 || forked != 1 {
			t.Fatalf("%s: errors %v, want one update applied and the other refused with FORKED", n.ID, errs)
		}
	}

	var evidence []byte
	var policies []string
	for _, n := range members {
		st := n.Status()
		checkForked(t, n, st, updates)
		data, err := os.ReadFile(st.Trust.Forked.Evidence)
		if err != nil {
			t.Fatalf("%s: evidence: %v", n.ID, err)
		}
		if evidence == nil {
			evidence = data
		} else if !bytes.Equal(evidence, data) {
			t.Errorf("%s: its evidence differs from n1's", n.ID)
		}
		peers := without(PeerIDs(st), "n1", "n2", "n3")
		if len(peers) != 0 {
			t.Errorf("%s: peers %v beyond the members: the floor holds neither contender", n.ID, PeerIDs(st))
		}
		if got := len(PeerIDs(st)); got != 2 {
			t.Errorf("%s: %d peers (%v), want the 2 other members", n.ID, got, PeerIDs(st))
		}
		policies = append(policies, st.Trust.PolicyDigest)
		code, out := runCLI(t, c.opts.Bin, "status", "--check", "--socket", n.Socket)
		if code != 2 || !strings.Contains(out, "forked") {
			t.Errorf("%s: status --check exit %d %q, want 2 and forked", n.ID, code, out)
		}
	}
	if len(slices.Compact(slices.Clone(policies))) != 1 || policies[0] == "" {
		t.Errorf("the nodes do not all enforce the one policy both sides agree on: %v", policies)
	}

	// The evidence proves itself, offline, against the pinned genesis.
	file := members[0].Status().Trust.Forked.Evidence
	code, out := runCLI(t, c.opts.Bin, "membership", "verify-evidence", "--genesis-root", c.GenesisRoot.String(), file)
	if code != 0 || !strings.Contains(out, "signed both: a1, a2") {
		t.Fatalf("verify-evidence: exit %d\n%s", code, out)
	}

	// Nothing more is accepted: not even an update valid on one side.
	c.Commit(updates[0])
	next := c.Sign(c.Propose(membership.Operation{Type: membership.OpRevokeNode, NodeID: "n3"}), "a1", "a2", "a3")
	for _, n := range members {
		if _, err := n.Apply(next); membership.CodeOf(err) != membership.Forked {
			t.Errorf("%s: a further update: %v, want FORKED", n.ID, err)
		}
	}
	for _, x := range contenders {
		x.WantNoReach(members[0])
	}

	// A restart keeps the fork: the evidence is re-verified from its file.
	members[1].Restart()
	checkForked(t, members[1], members[1].Status(), updates)
	if got := PeerIDs(members[1].Status()); !slices.Equal(got, []string{"n1", "n3"}) {
		t.Errorf("n2 after a restart: peers %v, want [n1 n3]", got)
	}
	members[0].WaitReach(members[1], reachWithin)
}

// checkForked checks that n's status reports the fork of updates.
func checkForked(t *testing.T, n *Node, st controlapi.Status, updates []*membership.SignedUpdate) {
	t.Helper()
	f := st.Trust.Forked
	if f == nil {
		t.Fatalf("%s: not forked: %+v", n.ID, st.Trust)
	}
	if f.Epoch != updates[0].Body.Epoch || f.PrevStateRoot != updates[0].Body.PrevStateRoot.String() {
		t.Errorf("%s: fork at epoch %d from %s, want %d from %s", n.ID, f.Epoch, f.PrevStateRoot, updates[0].Body.Epoch, updates[0].Body.PrevStateRoot)
	}
	if !slices.Equal(f.DoubleSigners, []string{"a1", "a2"}) || len(f.Updates) != 2 || f.Evidence == "" {
		t.Errorf("%s: fork %+v", n.ID, f)
	}
	if st.Health.State != controlapi.HealthDegraded {
		t.Errorf("%s: health %+v while forked", n.ID, st.Health)
	}
}

// without returns ids minus the given ones.
func without(ids []string, drop ...string) []string {
	var out []string
	for _, id := range ids {
		if !slices.Contains(drop, id) {
			out = append(out, id)
		}
	}
	return out
}

// runCLI runs the rustynet binary with args and returns its exit code and
// combined output.
func runCLI(t *testing.T, bin string, args ...string) (int, string) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	}
	if err != nil {
		t.Fatalf("%s %v: %v", bin, args, err)
	}
	return 0, string(out)
}
