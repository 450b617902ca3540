package daemon

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
)

// TestForkShrinksToTheFloor: a valid update conflicting with an applied
// one makes the node forked at once: it is refused with FORKED, the data
// plane drops every member the two sides disagree on, status and the check
// say forked, and later updates are refused too.
func TestForkShrinksToTheFloor(t *testing.T) {
	h := newHarness(t)
	h.start()
	other := h.update(membership.Operation{Type: membership.OpRevokeNode, NodeID: "b"}, "alice", "bob")
	h.applyOK(membership.Operation{Type: membership.OpRevokeNode, NodeID: "d"}, "bob", "carol")
	h.wantPeers("b", "c")
	_, err := h.d.ApplyUpdate(context.Background(), other, false)
	if membership.CodeOf(err) != membership.Forked {
		t.Fatalf("ApplyUpdate of the conflicting update: %v, want FORKED", err)
	}
	h.wantPeers("c")
	st := h.status()
	f := st.Trust.Forked
	if f == nil || !slices.Equal(f.DoubleSigners, []string{"bob"}) || f.Epoch != 2 || f.Evidence == "" {
		t.Fatalf("status fork = %+v", f)
	}
	if c := st.Check(); c.Level != controlapi.CheckRestricted {
		t.Errorf("check = %+v, want restricted (forked)", c)
	}
	next := h.update(membership.Operation{Type: membership.OpRevokeNode, NodeID: "c"}, "alice", "bob", "carol")
	if _, err := h.d.ApplyUpdate(context.Background(), next, false); membership.CodeOf(err) != membership.Forked {
		t.Fatalf("a later update: %v, want FORKED", err)
	}
	// A full reconcile keeps the floor.
	h.d.mu.Lock()
	err = h.d.fullReconcile(context.Background())
	h.d.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	h.wantPeers("c")
}

// TestStaleButNotBroken: with max_update_age set, a node whose newest
// update grows older than it reports itself stale (status, health, check
// degraded) and keeps every peer; a newer update makes it fresh again.
func TestStaleButNotBroken(t *testing.T) {
	h := newHarness(t)
	h.opts.MaxUpdateAge = time.Hour
	h.start()
	if st := h.status(); st.Trust.Stale || st.Trust.MaxUpdateAgeSeconds != 3600 || st.Health.State != controlapi.HealthOK {
		t.Fatalf("fresh node: %+v %+v", st.Trust, st.Health)
	}
	h.net.Now = h.net.Now.Add(2 * time.Hour) // nothing arrives for two hours
	st := h.status()
	if !st.Trust.Stale || st.Trust.UpdateAgeSeconds != 7200 || st.Health.State != controlapi.HealthDegraded {
		t.Fatalf("stale node: %+v %+v", st.Trust, st.Health)
	}
	if c := st.Check(); c.Level != controlapi.CheckDegraded {
		t.Errorf("check = %+v, want degraded", c)
	}
	h.d.checkFreshness()
	if !h.d.staleSeen.Load() {
		t.Error("the freshness check did not note the stale state")
	}
	h.wantPeers("b", "c", "d")
	h.applyOK(membership.Operation{Type: membership.OpRevokeNode, NodeID: "d"}, "alice", "bob")
	if st := h.status(); st.Trust.Stale || st.Health.State != controlapi.HealthOK {
		t.Fatalf("after a new update: %+v %+v", st.Trust, st.Health)
	}
}

// TestReapplyingAnUpdateIsAlreadyApplied: an update the log holds, byte
// for byte, is answered AlreadyApplied — nothing changes and nothing is
// recorded as rejected — so applying one update on every node is safe
// while peers hand it to each other.
func TestReapplyingAnUpdateIsAlreadyApplied(t *testing.T) {
	h := newHarness(t)
	h.start()
	u := h.update(membership.Operation{Type: membership.OpRevokeNode, NodeID: "d"}, "alice", "bob")
	if _, err := h.d.ApplyUpdate(context.Background(), u, false); err != nil {
		t.Fatal(err)
	}
	res, err := h.d.ApplyUpdate(context.Background(), u, false)
	if err != nil || !res.AlreadyApplied || res.Applied || res.Epoch != 2 {
		t.Fatalf("again: %+v, %v", res, err)
	}
	if st := h.status(); st.Trust.LastRejected != nil || st.Trust.Epoch != 2 {
		t.Fatalf("status after a re-apply: %+v", st.Trust)
	}
	h.wantPeers("b", "c")
}

// TestFeedServesAResolution: a forked node whose feed serves the log with
// the approvers' resolution takes it at the next poll — the side it held is
// replaced, it leaves the forked state and its peers follow the resolved
// state — and then extends from the feed as usual.
func TestFeedServesAResolution(t *testing.T) {
	h := newHarness(t)
	write := h.withFeed()
	write(h.net.Log)
	d := h.start()
	pre := h.net.Chain.State()
	base := slices.Clone(h.net.Log)
	x := h.net.Sign(t, h.net.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "b"}), "alice", "bob")
	y := h.net.Sign(t, h.net.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "d"}), "bob", "carol")
	for i, u := range []*membership.SignedUpdate{x, y} {
		if _, err := d.ApplyUpdate(context.Background(), u.Encode(), false); (i == 1) != (membership.CodeOf(err) == membership.Forked) {
			t.Fatalf("update %d: %v", i, err)
		}
	}
	h.wantPeers("c")

	r, err := membership.NewResolution(pre, []*membership.SignedUpdate{x, y}, y.Digest(), h.net.Proposal())
	if err != nil {
		t.Fatal(err)
	}
	h.net.Sign(t, r, "alice", "carol")
	write(append(slices.Clone(base), r))
	d.pollFeed(context.Background())
	st := h.status()
	if st.Trust.Forked != nil || st.Trust.StateRoot != r.Body.NewStateRoot.String() || st.Trust.Epoch != 2 {
		t.Fatalf("after the feed served the resolution: trust %+v, feed %+v", st.Trust, st.Feed)
	}
	h.wantPeers("b", "c")

	// The feed goes on from the resolution.
	chain, _, err := membership.Replay(append(slices.Clone(base), r), base[0].Body.NewStateRoot, nil)
	if err != nil {
		t.Fatal(err)
	}
	next, err := membership.NewUpdate(chain.State(), membership.Operation{Type: membership.OpRevokeNode, NodeID: "c"}, h.net.Proposal())
	if err != nil {
		t.Fatal(err)
	}
	h.net.Sign(t, next, "alice", "bob")
	write(append(append(slices.Clone(base), r), next))
	d.pollFeed(context.Background())
	if st := h.status(); st.Trust.Epoch != 3 || st.Feed.LastError != "" {
		t.Fatalf("after the next update: trust %+v, feed %+v", st.Trust, st.Feed)
	}
	h.wantPeers("b")
}
