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

// TestApplyWithOverlapsTheWrites checks ApplyWith's contract: Prepare
// runs while the entry is written (the store's Append waits for Prepare
// to have started: without the overlap the apply never returns) and sees
// the verified update's result; Committed runs after Prepare has returned
// and the entry is in the store, while the high-water mark is written
// (the mark's writer waits for Committed to have started, and holds the
// ledger's lock meanwhile), and a ledger call it makes waits for the mark
// and sees the commit; both have returned when ApplyWith returns, with the
// mark at the new head. Neither is called for an update that fails
// verification, nor Committed for one whose write fails, and a failed
// write leaves the state as it was, whatever Prepare computed.
func TestApplyWithOverlapsTheWrites(t *testing.T) {
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
		prepared, committed := false, false
		started := make(chan struct{})
		l.beforeMark = func() {
			select {
			case <-started:
			case <-time.After(10 * time.Second):
				t.Error("the mark was written before Committed ran")
			}
		}
		defer func() { l.beforeMark = nil }()
		res, err := l.ApplyWith(context.Background(), u, ApplyHooks{
			Prepare: func(r *membership.Result) {
				close(s.gate) // the write may go on only once Prepare runs
				time.Sleep(10 * time.Millisecond)
				post, prepared = r.Post, true
			},
			Committed: func(r *membership.Result, view CommitView) {
				close(started)
				committed = true
				if !prepared {
					t.Error("Committed ran before Prepare returned")
				}
				if head, err := s.Store.Head(context.Background()); err != nil || head != 2 {
					t.Errorf("the store's head is %d (%v) when Committed runs, want 2", head, err)
				}
				if l.mu.TryLock() {
					l.mu.Unlock()
					t.Error("the ledger's lock is free while the mark is written")
				}
				if view.Restricted != nil || view.Forked {
					t.Errorf("view %+v, want neither restricted nor forked", view)
				}
				if st := l.Status(); st.Head != 2 || st.Root != u.Body.NewStateRoot || st.HighWaterError != "" {
					t.Errorf("status from Committed: %+v, want head 2, root %s", st, u.Body.NewStateRoot)
				}
			},
		})
		if err != nil {
			t.Fatalf("apply: %v", err)
		}
		if !prepared || !committed || post != res.Post || post.Root() != u.Body.NewStateRoot {
			t.Fatalf("prepared %v, committed %v, saw %v; want the result's post state %s", prepared, committed, post, u.Body.NewStateRoot)
		}
		if hw, err := readHighWater(l.hwPath); err != nil || hw == nil || hw.Index != 2 {
			t.Errorf("the mark after ApplyWith: %+v (%v), want index 2", hw, err)
		}
		f.net.MustApply(t, u)
	})

	t.Run("refused", func(t *testing.T) {
		u := propose("n-refused", 71)
		u.Signatures = u.Signatures[:1] // below the threshold
		called := false
		hooks := ApplyHooks{
			Prepare:   func(*membership.Result) { called = true },
			Committed: func(*membership.Result, CommitView) { called = true },
		}
		if _, err := l.ApplyWith(context.Background(), u, hooks); err == nil {
			t.Fatal("an update below the threshold was applied")
		}
		if called {
			t.Error("a hook was called for an update that failed verification")
		}
	})

	t.Run("write fails", func(t *testing.T) {
		before := l.State().Root()
		s.gate = make(chan struct{})
		close(s.gate)
		s.fail.Store(true)
		defer s.fail.Store(false)
		prepared, committed := false, false
		hooks := ApplyHooks{
			Prepare:   func(*membership.Result) { prepared = true },
			Committed: func(*membership.Result, CommitView) { committed = true },
		}
		if _, err := l.ApplyWith(context.Background(), propose("n-lost", 72), hooks); err == nil {
			t.Fatal("an update whose write failed was applied")
		}
		if !prepared || committed {
			t.Errorf("prepared %v, committed %v; want Prepare called for a verified update, Committed not for a lost write", prepared, committed)
		}
		if got := l.State().Root(); got != before {
			t.Errorf("state root %s after a failed write, want %s", got, before)
		}
	})
}
