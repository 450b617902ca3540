package ledger

import (
	"context"
	"sync/atomic"
	"testing"

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
