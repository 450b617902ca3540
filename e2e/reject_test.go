package e2e

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/internal/evidence"
)

// reachWithin bounds how long traffic that must flow may take to: a first
// request waits for a WireGuard handshake, on a shared, loaded machine.
const reachWithin = 30 * time.Second

// trustView is what a rejection must leave unchanged on a node.
type trustView struct {
	Epoch uint64
	Root  string
	Peers []string
}

func viewOf(st controlapi.Status) trustView {
	return trustView{Epoch: st.Trust.Epoch, Root: st.Trust.StateRoot, Peers: PeerIDs(st)}
}

// wantRejected sends u to every node and checks each refuses it with code,
// reports the code in status, and keeps its epoch, root and peers.
func wantRejected(t *testing.T, u *membership.SignedUpdate, code membership.Code, nodes ...*Node) {
	t.Helper()
	for _, n := range nodes {
		before := viewOf(n.Status())
		_, err := n.Apply(u)
		evidence.Case(t, n.ID, string(code), string(membership.CodeOf(err)))
		if got := membership.CodeOf(err); got != code {
			t.Errorf("%s: apply answered %v (code %q), want code %s", n.ID, err, got, code)
		}
		st := n.Status()
		if r := st.Trust.LastRejected; r == nil || r.Code != string(code) {
			t.Errorf("%s: status last_rejected = %+v, want code %s", n.ID, r, code)
		}
		if diff := cmp.Diff(before, viewOf(st)); diff != "" {
			t.Errorf("%s: trusted state or peers changed by a rejected update (-before +after):\n%s", n.ID, diff)
		}
	}
}

// TestRejectedUpdatesLeaveDataPlaneUnchanged sends updates that must not
// verify to three running nodes: each is refused with its code, the code
// is reported by status, the peers read back from the backend do not
// change, traffic between members still flows, and a would-be member (a
// rogue daemon holding n4's key and believing n1–n3 are its peers) still
// cannot reach anyone. The last step admits n4 by a valid update and sees
// its traffic flow, which shows the refusals were the gate's doing.
func TestRejectedUpdatesLeaveDataPlaneUnchanged(t *testing.T) {
	t.Parallel()
	c := newCluster(t, Options{Members: []string{"n1", "n2", "n3"}})
	n1, n2, n3 := c.Node("n1"), c.Node("n2"), c.Node("n3")
	members := []*Node{n1, n2, n3}
	for _, n := range members {
		n.Start(NodeConfig{})
	}
	n4 := c.AddNode("n4")
	n4.Start(NodeConfig{Genesis: c.RogueGenesis(n4, n1, n2, n3)})
	n1.WaitReach(n2, reachWithin)
	n4.WantNoReach(n2)

	// An applied update to replay: add n5 (which never runs).
	n5 := c.AddNode("n5")
	applied := c.Sign(c.Propose(membership.Operation{Type: membership.OpAddNode, Node: n5.Member()}), "a1", "a2")
	c.ApplyAll(applied, "n1", "n2", "n3")
	if got, want := PeerIDs(n1.Status()), []string{"n2", "n3", "n5"}; !cmp.Equal(got, want) {
		t.Fatalf("n1 peers after adding n5: got %v, want %v", got, want)
	}
	// Replaying it changes nothing: the node holds that very update, and
	// says so (AlreadyApplied) rather than applying it twice.
	t.Run("replay of an applied update", func(t *testing.T) {
		for _, n := range members {
			before := viewOf(n.Status())
			res, err := n.Apply(applied)
			if err != nil || !res.AlreadyApplied || res.Applied {
				t.Errorf("%s: replay of an applied update: %+v, %v; want AlreadyApplied and nothing applied", n.ID, res, err)
			}
			if diff := cmp.Diff(before, viewOf(n.Status())); diff != "" {
				t.Errorf("%s: a replay changed the trusted state or peers (-before +after):\n%s", n.ID, diff)
			}
		}
	})

	addN4 := membership.Operation{Type: membership.OpAddNode, Node: n4.Member()}
	tests := []struct {
		name   string
		update func() *membership.SignedUpdate
		code   membership.Code
	}{
		{"forged signature", func() *membership.SignedUpdate { return Forge(c.Sign(c.Propose(addN4), "a1", "a2")) }, membership.BadSignature},
		{"under threshold", func() *membership.SignedUpdate { return c.Sign(c.Propose(addN4), "a1") }, membership.ThresholdNotMet},
		{"outsider co-signs", func() *membership.SignedUpdate { return c.Sign(c.Propose(addN4), "a1", "mallory") }, membership.UnknownSigner},
		{"created beyond the clock skew", func() *membership.SignedUpdate {
			return c.Sign(c.ProposeAt(addN4, time.Now().Add(10*time.Minute)), "a1", "a2")
		}, membership.NotYetValid},
		{"expired", func() *membership.SignedUpdate {
			return c.Sign(c.ProposeAt(addN4, time.Now().Add(-2*time.Hour)), "a1", "a2")
		}, membership.Expired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantRejected(t, tt.update(), tt.code, members...)
			n1.WaitReach(n2, reachWithin)
			n3.WaitReach(n1, reachWithin)
			n4.WantNoReach(n2)
		})
	}

	t.Run("a valid update admits n4", func(t *testing.T) {
		c.ApplyAll(c.Sign(c.Propose(addN4), "a2", "a3"), "n1", "n2", "n3")
		for _, n := range members {
			if !HasPeer(n.Status(), n4) {
				t.Errorf("%s: n4 is not a peer after a valid add", n.ID)
			}
		}
		n4.WaitReach(n2, reachWithin)
	})
}
