package e2e

import (
	"sync"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
)

// TestConflictingSameEpochUpdates signs two different updates for the same
// epoch (add n4, add n5: both valid on their own) and sends both to every
// node at once. On every node exactly one wins: it is the trusted state,
// its node is a peer and its traffic flows; the other is refused with
// STALE_EPOCH, reported in status, its node is no peer and its traffic is
// dropped. n4 and n5 run as daemons that believe n1–n3 are their peers.
func TestConflictingSameEpochUpdates(t *testing.T) {
	t.Parallel()
	c := newCluster(t, Options{Members: []string{"n1", "n2", "n3"}})
	members := []*Node{c.Node("n1"), c.Node("n2"), c.Node("n3")}
	for _, n := range members {
		n.Start(NodeConfig{})
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

	for _, n := range members {
		errs := make([]error, len(updates))
		var wg sync.WaitGroup
		for i, u := range updates {
			wg.Go(func() { _, errs[i] = n.Apply(u) })
		}
		wg.Wait()
		var winners []int
		for i, err := range errs {
			if err == nil {
				winners = append(winners, i)
			} else if got := membership.CodeOf(err); got != membership.StaleEpoch {
				t.Errorf("%s: the losing update was refused with %v, want STALE_EPOCH", n.ID, err)
			}
		}
		if len(winners) != 1 {
			t.Fatalf("%s: %d of the 2 conflicting updates were applied (errors %v), want exactly 1", n.ID, len(winners), errs)
		}
		win, lose := winners[0], 1-winners[0]
		st := n.Status()
		if st.Trust.Epoch != updates[win].Body.Epoch || st.Trust.StateRoot != updates[win].Body.NewStateRoot.String() {
			t.Errorf("%s: trusted epoch %d root %s, want the winner's %d %s", n.ID, st.Trust.Epoch, st.Trust.StateRoot, updates[win].Body.Epoch, updates[win].Body.NewStateRoot)
		}
		if r := st.Trust.LastRejected; r == nil || r.Code != string(membership.StaleEpoch) {
			t.Errorf("%s: status last_rejected = %+v, want STALE_EPOCH", n.ID, r)
		}
		if !HasPeer(st, contenders[win]) || HasPeer(st, contenders[lose]) {
			t.Errorf("%s: peers %v, want %s and not %s", n.ID, PeerIDs(st), contenders[win].ID, contenders[lose].ID)
		}
		t.Logf("%s: %s won", n.ID, contenders[win].ID)
		contenders[win].WaitReach(n, reachWithin)
		contenders[lose].WantNoReach(n)
	}
}
