package ledger

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/hostapi"
)

// lostReply is a store whose next Append, once armed, stores the entry and
// then ends the caller's request, as a control-API client that hangs up
// (or a request deadline that passes) mid-commit does: the entry is
// durable, the ledger is told otherwise.
type lostReply struct {
	hostapi.Store
	cancel context.CancelFunc
	armed  atomic.Bool
}

func (s *lostReply) Append(ctx context.Context, e hostapi.LogEntry) error {
	err := s.Store.Append(ctx, e)
	if err == nil && s.armed.Swap(false) {
		s.cancel()
		return hostapi.Errorf(hostapi.CodeUnavailable, "the reply was lost: %v", context.Canceled)
	}
	return err
}

// TestCommitSurvivesTheEndOfItsRequest ends an apply's request while the
// store writes its entry: once the write is under way the ledger sees it
// through (the entry is in the store, so it is in the ledger), and the
// next update chains from it instead of colliding with it.
func TestCommitSurvivesTheEndOfItsRequest(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			f := newFixture(t, kind)
			ctx, cancel := context.WithCancel(context.Background())
			s := &lostReply{Store: openStore(t, kind, f.dir), cancel: cancel}
			l, err := Open(context.Background(), f.config(s))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Apply(context.Background(), f.net.Log[0]); err != nil {
				t.Fatalf("apply genesis: %v", err)
			}
			u := f.net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("late", 77)})
			f.net.Sign(t, u, "alice", "bob")
			s.armed.Store(true)
			if _, err := l.Apply(ctx, u); err != nil {
				t.Fatalf("apply whose request ended mid-commit: %v (the entry is in the store)", err)
			}
			f.net.MustApply(t, u)
			f.addNodes(t, l, 1) // chains from the entry, at the next index
			if st := l.Status(); st.Epoch != 3 || st.Head != 3 || st.Root != f.net.Chain.State().Root() {
				t.Errorf("status = %+v, want epoch 3, head 3, root %s", st, f.net.Chain.State().Root())
			}
		})
	}
}

// gatedAppend is a store whose Append waits for its gate (10 s at most,
// then fails) before it writes, and can be made to fail.
type gatedAppend struct {
	hostapi.Store
	gate chan struct{}
	fail atomic.Bool
}

func (s *gatedAppend) Append(ctx context.Context, e hostapi.LogEntry) error {
	select {
	case <-s.gate:
	case <-time.After(10 * time.Second):
		return hostapi.Errorf(hostapi.CodeUnavailable, "the gate never opened")
	}
	if s.fail.Load() {
		return hostapi.Errorf(hostapi.CodeUnavailable, "the disk is gone")
	}
	return s.Store.Append(ctx, e)
}

// TestApplyPreparingOverlapsTheWrite checks ApplyPreparing's contract:
// prepare runs while the entry is written (the store's Append waits for
// prepare to have started: without the overlap the apply never returns),
// sees the verified update's result, and has returned when ApplyPreparing
// returns; it is not called for an update that fails verification; and a
// failed write leaves the state as it was, whatever prepare computed.
func TestApplyPreparingOverlapsTheWrite(t *testing.T) {
	f := newFixture(t, "file")
	s := &gatedAppend{Store: openStore(t, "file", f.dir), gate: make(chan struct{})}
	close(s.gate) // genesis goes through at once
	l, err := Open(context.Background(), f.config(s))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Apply(context.Background(), f.net.Log[0]); err != nil {
		t.Fatalf("apply genesis: %v", err)
	}
	propose := func(id string, addr int) *membership.SignedUpdate {
		u := f.net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(id, addr)})
		f.net.Sign(t, u, "alice", "bob")
		return u
	}

	t.Run("overlapped", func(t *testing.T) {
		s.gate = make(chan struct{})
		u := propose("n-overlap", 70)
		var post *membership.State
		returned := false
		res, err := l.ApplyPreparing(context.Background(), u, func(r *membership.Result) {
			close(s.gate) // the write may go on only once prepare runs
			time.Sleep(10 * time.Millisecond)
			post, returned = r.Post, true
		})
		if err != nil {
			t.Fatalf("apply: %v", err)
		}
		if !returned || post != res.Post || post.Root() != u.Body.NewStateRoot {
			t.Fatalf("prepare returned %v, saw %v; want the result's post state %s", returned, post, u.Body.NewStateRoot)
		}
		f.net.MustApply(t, u)
	})

	t.Run("refused", func(t *testing.T) {
		u := propose("n-refused", 71)
		u.Signatures = u.Signatures[:1] // below the threshold
		called := false
		if _, err := l.ApplyPreparing(context.Background(), u, func(*membership.Result) { called = true }); err == nil {
			t.Fatal("an update below the threshold was applied")
		}
		if called {
			t.Error("prepare was called for an update that failed verification")
		}
	})

	t.Run("write fails", func(t *testing.T) {
		before := l.State().Root()
		s.gate = make(chan struct{})
		close(s.gate)
		s.fail.Store(true)
		defer s.fail.Store(false)
		called := false
		if _, err := l.ApplyPreparing(context.Background(), propose("n-lost", 72), func(*membership.Result) { called = true }); err == nil {
			t.Fatal("an update whose write failed was applied")
		}
		if !called {
			t.Error("prepare was not called for a verified update")
		}
		if got := l.State().Root(); got != before {
			t.Errorf("state root %s after a failed write, want %s", got, before)
		}
	})
}
