package membership_test

import (
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// TestCommit: Commit makes a verified post-state current, and refuses any
// result that is not a successful verification against the current state.
func TestCommit(t *testing.T) {
	t.Run("verified result", func(t *testing.T) {
		net := membershiptest.New(t, 1)
		u := net.Sign(t, net.Propose(t, addOp("x", 50)), "alice", "bob")
		res, err := net.Chain.Evaluate(u, net.Options())
		if err != nil {
			t.Fatal(err)
		}
		if net.Chain.State() != res.Pre {
			t.Fatalf("Evaluate moved the chain")
		}
		if err := net.Chain.Commit(res); err != nil {
			t.Fatalf("Commit: got %v, want success", err)
		}
		if net.Chain.State() != res.Post {
			t.Errorf("Commit: state is not the verified post-state")
		}
		if e, ok := net.Chain.Seen(u.Body.UpdateID); !ok || e != 2 {
			t.Errorf("Commit: got seen %v at epoch %d, want the update id recorded at epoch 2", ok, e)
		}
		wantCode(t, net.Chain.Commit(res), membership.StaleEpoch)
	})

	cases := []struct {
		name string
		res  func(t *testing.T, net *membershiptest.Network) *membership.Result
		code membership.Code
	}{
		{"nil", func(*testing.T, *membershiptest.Network) *membership.Result { return nil }, membership.IllegalOperation},
		{"failed verification", func(t *testing.T, net *membershiptest.Network) *membership.Result {
			res, err := net.Chain.Evaluate(net.Sign(t, net.Propose(t, addOp("x", 50)), "alice"), net.Options())
			wantCode(t, err, membership.ThresholdNotMet)
			return res
		}, membership.IllegalOperation},
		{"verified against an older state", func(t *testing.T, net *membershiptest.Network) *membership.Result {
			a := net.Sign(t, net.Propose(t, addOp("x", 50)), "alice", "bob")
			b := net.Sign(t, net.Propose(t, addOp("y", 51)), "alice", "bob")
			res, err := net.Chain.Evaluate(b, net.Options())
			if err != nil {
				t.Fatal(err)
			}
			net.MustApply(t, a)
			return res
		}, membership.StaleEpoch},
		{"verified without the replay check", func(t *testing.T, net *membershiptest.Network) *membership.Result {
			// A fresh body reusing an applied update id, at the right
			// epoch and root: membership.Evaluate does not look at ids.
			b := nextBody(net.Chain.State(), addOp("y", 51), net.Now)
			b.UpdateID = net.Log[0].Body.UpdateID
			u := net.Sign(t, forge(t, b), "alice", "bob")
			res, err := membership.Evaluate(net.Chain.State(), u, net.Options())
			wantCode(t, err, membership.WrongNewRoot) // forged root; fix the result up by hand
			other := net.Sign(t, net.Propose(t, addOp("y", 51)), "alice", "bob")
			good, err := membership.Evaluate(net.Chain.State(), other, net.Options())
			if err != nil {
				t.Fatal(err)
			}
			res.Post = good.Post
			return res
		}, membership.ReplayedUpdate},
		{"post-state of another update", func(t *testing.T, net *membershiptest.Network) *membership.Result {
			a := net.Sign(t, net.Propose(t, addOp("x", 50)), "alice", "bob")
			b := net.Sign(t, net.Propose(t, addOp("y", 51)), "alice", "bob")
			ra, err := net.Chain.Evaluate(a, net.Options())
			if err != nil {
				t.Fatal(err)
			}
			rb, err := net.Chain.Evaluate(b, net.Options())
			if err != nil {
				t.Fatal(err)
			}
			ra.Post = rb.Post
			return ra
		}, membership.IllegalOperation},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			net := membershiptest.New(t, 1)
			res := c.res(t, net)
			before := net.Chain.State()
			wantCode(t, net.Chain.Commit(res), c.code)
			if net.Chain.State() != before {
				t.Errorf("a refused Commit changed the state")
			}
		})
	}
}

// TestNeedsResultingSet: exactly genesis and approver-set and threshold
// changes need a threshold of the resulting approver set.
func TestNeedsResultingSet(t *testing.T) {
	want := map[membership.OpType]bool{
		membership.OpGenesis: true, membership.OpAddApprover: true, membership.OpRemoveApprover: true, membership.OpSetThreshold: true,
		membership.OpAddNode: false, membership.OpRemoveNode: false, membership.OpRevokeNode: false, membership.OpRestoreNode: false,
		membership.OpRotateNodeKey: false, membership.OpUpdateNode: false, "unknown": false,
	}
	for op, w := range want {
		if got := op.NeedsResultingSet(); got != w {
			t.Errorf("%s.NeedsResultingSet(): got %v, want %v", op, got, w)
		}
	}
}
