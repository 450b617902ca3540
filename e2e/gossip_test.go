package e2e

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// syncWithin bounds how long a change takes to spread by the exchange of
// heads (rounds of 300 ms here, a few hops, a loaded machine).
const syncWithin = 45 * time.Second

// TestMeshConvergesWithoutAFeed drives the exchange of heads (core/gossip)
// through real daemons on netstack backends, with no feed at all:
//   - updates given to n1 alone reach n2 over the mesh;
//   - n3, stopped while three updates were made, catches up from its
//     peers when it starts again, and its traffic flows;
//   - evidence of a fork given to n1 alone reaches n2 and n3, which end
//     forked with the same bytes of evidence;
//   - a daemon that is not a member (it believes n1 is its peer) hears
//     nothing: n1's WireGuard does not know it, so its service is out of
//     reach.
func TestMeshConvergesWithoutAFeed(t *testing.T) {
	t.Parallel()
	c := newCluster(t, Options{Members: []string{"n1", "n2", "n3"}})
	n1, n2, n3 := c.Node("n1"), c.Node("n2"), c.Node("n3")
	fast := NodeConfig{SyncInterval: 300 * time.Millisecond}
	for _, n := range []*Node{n1, n2, n3} {
		n.Start(fast)
	}
	n3.WaitReach(n1, reachWithin)
	n3.Stop()

	for i := range 3 {
		m := membershiptest.Node(ExtraMemberID(i), extraBase+i)
		u := c.Sign(c.Propose(membership.Operation{Type: membership.OpAddNode, Node: m}), "a1", "a2")
		if _, err := n1.Apply(u); err != nil {
			t.Fatalf("n1: %v", err)
		}
		c.Commit(u)
	}
	head := c.State()
	atHead := func(st controlapi.Status) bool { return st.Trust.StateRoot == head.Root().String() }
	// The exchange counts what it applied once the commit has returned: a
	// status may show the head a moment before the count.
	st := n2.WaitStatus("n2 at n1's head by the exchange alone", syncWithin, func(st controlapi.Status) bool {
		return atHead(st) && st.Sync != nil && st.Sync.Applied >= 1
	})
	if st.Feed != nil {
		t.Errorf("n2: feed %+v", st.Feed)
	}

	n3.Start(fast)
	n3.WaitStatus("n3 at the head after a restart, from its peers", syncWithin, atHead)
	n3.WaitReach(n1, reachWithin)
	out, code := runAudit(t, c.opts.Bin, n3, "--kind", "update.accepted")
	if code != 0 || !strings.Contains(out, "peer") {
		t.Errorf("n3's audit trail does not name a peer as the source: exit %d\n%s", code, out)
	}

	// Evidence spreads: n1 alone sees both sides of a fork.
	x := c.Sign(c.Propose(membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(ExtraMemberID(10), extraBase+10)}), "a1", "a2")
	y := c.Sign(c.Propose(membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(ExtraMemberID(11), extraBase+11)}), "a2", "a3")
	if _, err := n1.Apply(x); err != nil {
		t.Fatal(err)
	}
	if _, err := n1.Apply(y); membership.CodeOf(err) != membership.Forked {
		t.Fatalf("n1, the conflicting update: %v, want FORKED", err)
	}
	var evidence []byte
	for _, n := range []*Node{n1, n2, n3} {
		st := n.WaitStatus(n.ID+" forked", syncWithin, func(st controlapi.Status) bool { return st.Trust.Forked != nil })
		data, err := os.ReadFile(st.Trust.Forked.Evidence)
		if err != nil {
			t.Fatalf("%s: %v", n.ID, err)
		}
		if evidence == nil {
			evidence = data
		} else if !bytes.Equal(evidence, data) {
			t.Errorf("%s holds other evidence than n1", n.ID)
		}
		if got := st.Trust.Forked.DoubleSigners; len(got) != 1 || got[0] != "a2" {
			t.Errorf("%s: double signers %v, want [a2]", n.ID, got)
		}
	}

	// A non-member cannot reach a member's service.
	rogue := c.AddNode("n4")
	rogue.Start(NodeConfig{Genesis: c.RogueGenesis(rogue, n1), SyncInterval: 300 * time.Millisecond})
	st = rogue.WaitStatus("the rogue node's first rounds", 30*time.Second, func(st controlapi.Status) bool { return st.Sync != nil && st.Sync.Rounds >= 2 })
	if st.Sync.Newest != nil || st.Sync.Failures == 0 {
		t.Errorf("the rogue node heard a member's head: %+v", st.Sync)
	}
	rogue.Stop()

	// The approvers who did not sign both sides (a1, a3) resolve the fork
	// for x. The resolution is proposed from the evidence with the CLI and
	// applied to n3 alone, which never applied either side; n2 (the same)
	// and n1 (on x) take it from their peers: every node leaves the forked
	// state at the same state, with x's member, and drops the evidence.
	evFile := n1.Status().Trust.Forked.Evidence
	resFile := filepath.Join(t.TempDir(), "resolve.json")
	code, out = runCLI(t, c.opts.Bin, "membership", "propose-resolve-fork", "--genesis-root", c.GenesisRoot.String(),
		"--evidence", evFile, "--choose", x.Digest().String(), "--out", resFile)
	if code != 0 || !strings.Contains(out, "FORK RESOLUTION") {
		t.Fatalf("propose-resolve-fork: exit %d\n%s", code, out)
	}
	data, err := os.ReadFile(resFile)
	if err != nil {
		t.Fatal(err)
	}
	r, err := membership.ParseSignedUpdate(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Signed by a double-signer it proves nothing: refused, still forked.
	bad, _ := membership.ParseSignedUpdate(data, nil)
	if _, err := n3.Apply(c.Sign(bad, "a1", "a2")); membership.CodeOf(err) != membership.ThresholdNotMet {
		t.Fatalf("a resolution counting a double-signer: %v, want THRESHOLD_NOT_MET", err)
	}
	c.Sign(r, "a1", "a3")
	if err := os.WriteFile(resFile, r.Encode(), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := runCLI(t, c.opts.Bin, "membership", "apply-update", "--socket", n3.Socket, resFile); code != 0 {
		t.Fatalf("apply-update of the resolution: exit %d\n%s", code, out)
	}
	resolved := r.Body.NewStateRoot.String()
	for _, n := range []*Node{n3, n1, n2} {
		st := n.WaitStatus(n.ID+" resolved", syncWithin, func(st controlapi.Status) bool {
			return st.Trust.Forked == nil && st.Trust.StateRoot == resolved && st.Health.State == controlapi.HealthOK
		})
		if _, err := os.Stat(evFile); n == n1 && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("n1 still keeps the settled evidence: %v", err)
		}
		if peers := PeerIDs(st); !slices.Contains(peers, ExtraMemberID(10)) || slices.Contains(peers, ExtraMemberID(11)) {
			t.Errorf("%s after the resolution: peers %v, want x's member and not y's", n.ID, PeerIDs(st))
		}
	}
	n1.WaitReach(n2, reachWithin)
}

// TestWithheldUpdatesMakeANodeStale: a node kept from updates (no feed, no
// exchange) past [membership] max_update_age says it is stale — status,
// health, `status --check` exit 1 — and keeps its peers and its traffic.
func TestWithheldUpdatesMakeANodeStale(t *testing.T) {
	t.Parallel()
	c := newCluster(t, Options{Members: []string{"n1", "n2"}})
	n1, n2 := c.Node("n1"), c.Node("n2")
	n1.Start(NodeConfig{NoSync: true})
	n2.Start(NodeConfig{NoSync: true, MaxUpdateAge: 2 * time.Second})
	n1.WaitReach(n2, reachWithin)
	st := n2.WaitStatus("n2 stale", 30*time.Second, func(st controlapi.Status) bool { return st.Trust.Stale })
	if st.Health.State != controlapi.HealthDegraded || !strings.Contains(strings.Join(st.Health.Reasons, ";"), "stale") {
		t.Errorf("health %+v", st.Health)
	}
	if code, out := runCLI(t, c.opts.Bin, "status", "--check", "--socket", n2.Socket); code != 1 || !strings.Contains(out, "stale") {
		t.Errorf("status --check: exit %d %q, want 1 and stale", code, out)
	}
	if !HasPeer(st, n1) {
		t.Errorf("a stale node dropped its peers: %v", PeerIDs(st))
	}
	n2.WaitReach(n1, reachWithin)
	// For a large mesh, status sums the peers up instead of listing them,
	// and counts the host routes (here n1's mesh address) — summed up in
	// the backend plugin, not read across peer by peer.
	if code, out := runCLI(t, c.opts.Bin, "status", "--peers", "summary", "--socket", n2.Socket); code != 0 ||
		!strings.Contains(out, "peers      1, 1 with a handshake") || strings.Contains(out, "PEER") ||
		!strings.Contains(out, "routes     1 host routes") {
		t.Errorf("status --peers summary: exit %d\n%s", code, out)
	}
	// A newer update makes it fresh again.
	u := c.Sign(c.Propose(membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(ExtraMemberID(1), extraBase+1)}), "a1", "a2")
	c.ApplyAll(u, "n1", "n2")
	if st := n2.Status(); st.Trust.Stale {
		t.Errorf("still stale after a new update: %+v", st.Trust)
	}
}

// runAudit runs `rustynet audit show --config` for n.
func runAudit(t *testing.T, bin string, n *Node, args ...string) (string, int) {
	code, out := runCLI(t, bin, append([]string{"audit", "show", "--config", n.Config}, args...)...)
	return out, code
}
