package ledger

import (
	"context"
	"errors"
	"os"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

// forkedDeep returns a ledger that followed x at epoch 4 and one update
// after it (head 5), then was given y (bob signed both): forked. pre is
// the trusted state at epoch 3.
func (f *fixture) forkedDeep(t *testing.T) (l *Ledger, s hostapi.Store, x, y *membership.SignedUpdate, pre *membership.State) {
	t.Helper()
	ctx := context.Background()
	l, s = f.started(t)
	pre = f.net.Chain.State()
	x, y = f.conflicting(t, []string{"alice", "bob"}, []string{"bob", "carol"})
	if _, err := l.Apply(ctx, x); err != nil {
		t.Fatal(err)
	}
	f.net.MustApply(t, x)
	f.addNodes(t, l, 1)
	if _, err := l.Apply(ctx, y); membership.CodeOf(err) != membership.Forked {
		t.Fatalf("the other side: %v, want FORKED", err)
	}
	return l, s, x, y, pre
}

// resolution is the resolve_fork of x and y on pre choosing choice,
// signed by ids.
func (f *fixture) resolution(t *testing.T, pre *membership.State, x, y *membership.SignedUpdate, choice membership.Hash, ids ...string) *membership.SignedUpdate {
	t.Helper()
	r, err := membership.NewResolution(pre, []*membership.SignedUpdate{x, y}, choice, f.net.Proposal())
	if err != nil {
		t.Fatal(err)
	}
	return f.net.Sign(t, r, ids...)
}

func TestResolutionReplacesTheSideANodeFollowed(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, kind)
			l, s, x, y, pre := f.forkedDeep(t)
			evidence := l.Fork().First().Path

			// Signed by a double-signer and one other: refused, nothing changes.
			bad := f.resolution(t, pre, x, y, y.Digest(), "alice", "bob")
			if _, err := l.Apply(ctx, bad); membership.CodeOf(err) != membership.ThresholdNotMet {
				t.Fatalf("resolution signed by a double-signer: %v, want THRESHOLD_NOT_MET", err)
			}
			if st := l.Status(); st.Head != 5 || st.Forked == "" {
				t.Fatalf("after a refused resolution: %+v", st)
			}

			r := f.resolution(t, pre, x, y, y.Digest(), "alice", "carol")
			res, err := l.Apply(ctx, r)
			if err != nil {
				t.Fatalf("resolution: %v", err)
			}
			if st := l.Status(); st.Head != 4 || st.Forked != "" || st.Root != res.Post.Root() {
				t.Fatalf("after the resolution: %+v", st)
			}
			if n, _ := l.State().Node("n00001"); n.Status != membership.StatusRevoked {
				t.Error("the chosen side (revoke n00001) is not in the resolved state")
			}
			if _, ok := l.State().Node("n00042"); ok {
				t.Error("the other side's node survived the resolution")
			}
			if _, err := os.Stat(evidence); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("settled evidence still kept: %v", err)
			}
			if _, err := os.Stat(l.resolutionPath()); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("the kept resolution was not removed: %v", err)
			}
			// The same resolution again is a replay; a side it settled is
			// refused (stale) and proves no fork.
			if _, err := l.Apply(ctx, r); err == nil {
				t.Error("the resolution applied twice")
			}
			if _, err := l.Apply(ctx, x); membership.CodeOf(err) == membership.Forked || err == nil {
				t.Errorf("a settled side after the resolution: %v", err)
			}
			if !l.Settled(x) || !l.Settled(y) {
				t.Error("Settled does not report the sides")
			}

			// The chain goes on from the resolution, and all of it survives
			// a restart.
			chain, _, err := membership.Replay(append(mustLog(t, l)[:3:3], r), f.net.Log[0].Body.NewStateRoot, nil)
			if err != nil {
				t.Fatal(err)
			}
			next, err := membership.NewUpdate(chain.State(), membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00002"}, f.net.Proposal())
			if err != nil {
				t.Fatal(err)
			}
			f.net.Sign(t, next, "alice", "bob")
			if _, err := l.Apply(ctx, next); err != nil {
				t.Fatalf("an update after the resolution: %v", err)
			}
			if err := l.Close(ctx); err != nil {
				t.Fatal(err)
			}
			s.Close(ctx)
			l2, _ := f.open(t)
			if st := l2.Status(); st.Head != 5 || st.Restricted || st.Forked != "" || st.Root != l.Status().Root {
				t.Fatalf("reopened: %+v", st)
			}
		})
	}
}

// A node that never saw the other side takes the resolution too.
func TestResolutionReachesANodeUnawareOfTheFork(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "file")
	l, _ := f.started(t)
	pre := f.net.Chain.State()
	x, y := f.conflicting(t, []string{"alice", "bob"}, []string{"bob", "carol"})
	if _, err := l.Apply(ctx, x); err != nil {
		t.Fatal(err)
	}
	r := f.resolution(t, pre, x, y, membership.Hash{}, "alice", "carol")
	if _, err := l.Apply(ctx, r); err != nil {
		t.Fatalf("resolution: %v", err)
	}
	if _, ok := l.State().Node("n00042"); ok {
		t.Error("a resolution choosing neither side kept one")
	}
	if l.Status().Head != 4 {
		t.Errorf("head %d, want 4", l.Status().Head)
	}
}

// failingStore fails Truncate or Append once told to, as a crash there
// would leave the store.
// useStore puts s in place of l's store once any background snapshot,
// which reads the store field, has finished.
func useStore(l *Ledger, s hostapi.Store) {
	l.snapshots.Wait()
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cfg.Store = s
}

type failingStore struct {
	hostapi.Store
	failTruncate, failAppend bool
}

func (s *failingStore) Truncate(ctx context.Context, after uint64) error {
	if s.failTruncate {
		return errors.New("injected: crash before truncating")
	}
	return s.Store.Truncate(ctx, after)
}

func (s *failingStore) Append(ctx context.Context, e hostapi.LogEntry) error {
	if s.failAppend {
		return errors.New("injected: crash after truncating")
	}
	return s.Store.Append(ctx, e)
}

func TestAnInterruptedResolutionIsFinishedAtOpen(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		failTruncate, failAppend bool
	}{
		{"before the truncation", true, false},
		{"between truncation and append", false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, "file")
			l, s, x, y, pre := f.forkedDeep(t)
			r := f.resolution(t, pre, x, y, x.Digest(), "alice", "carol")
			useStore(l, &failingStore{Store: s, failTruncate: tc.failTruncate, failAppend: tc.failAppend})
			if _, err := l.Apply(ctx, r); err == nil {
				t.Fatal("the injected failure did not fail the resolution")
			}
			s.Close(ctx)
			l2, _ := f.open(t)
			st := l2.Status()
			if st.Restricted || st.Head != 4 || st.Forked != "" {
				t.Fatalf("reopened: %+v", st)
			}
			if got := l2.Entries(4, 1); len(got) != 1 || got[0].Digest() != r.Digest() {
				t.Fatal("the log's entry 4 is not the resolution")
			}
			hw, err := readHighWater(f.hw)
			if err != nil || hw.Resolving != nil || hw.Index != 4 {
				t.Fatalf("mark %+v, %v", hw, err)
			}
		})
	}
}

// A mark that says a resolution is under way never lets the log shrink
// below the state the resolution extends.
func TestAResolutionUnderWayRefusesARolledBackLog(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "file")
	l, s, x, y, pre := f.forkedDeep(t)
	r := f.resolution(t, pre, x, y, x.Digest(), "alice", "carol")
	useStore(l, &failingStore{Store: s, failTruncate: true})
	if _, err := l.Apply(ctx, r); err == nil {
		t.Fatal("the injected failure did not fail the resolution")
	}
	if err := s.Truncate(ctx, 2); err != nil { // an old copy: epochs 1–2
		t.Fatal(err)
	}
	s.Close(ctx)
	l2, _ := f.open(t)
	if err := l2.Restricted(); membership.CodeOf(err) != membership.IntegrityFailure {
		t.Fatalf("a log rolled back below the resolution: %v, want INTEGRITY_FAILURE", err)
	}
}

// A dry run of a resolution verifies it where it applies, and writes
// nothing.
func TestEvaluateAResolution(t *testing.T) {
	f := newFixture(t, "file")
	l, _, x, y, pre := f.forkedDeep(t)
	r := f.resolution(t, pre, x, y, x.Digest(), "alice", "carol")
	res, err := l.Evaluate(r)
	if err != nil || res.Post.Epoch() != 4 {
		t.Fatalf("Evaluate: %v", err)
	}
	if st := l.Status(); st.Head != 5 || st.Forked == "" {
		t.Fatalf("a dry run changed the ledger: %+v", st)
	}
	bad := f.resolution(t, pre, x, y, x.Digest(), "bob", "carol")
	if _, err := l.Evaluate(bad); membership.CodeOf(err) != membership.ThresholdNotMet {
		t.Fatalf("Evaluate of a resolution counting a double-signer: %v", err)
	}
}
