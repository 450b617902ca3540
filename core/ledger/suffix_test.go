package ledger

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// extendInPieces adds log's entries from epoch from on to x in pieces of
// size, then commits; it returns what Commit applied and the first error.
func extendInPieces(ctx context.Context, x *Extension, from uint64, log []*membership.SignedUpdate, size int) (int, error) {
	for len(log) > 0 {
		n := min(size, len(log))
		if err := x.Add(from, log[:n]); err != nil {
			return 0, err
		}
		from, log = from+uint64(n), log[n:]
	}
	applied, err := x.Commit(ctx)
	return len(applied), err
}

// TestExtensionKeepsExtendsRules runs TestExtend's cases through an
// Extension fed in pieces, from genesis and from right after the trusted
// head: the same verdicts, the same entries applied, nothing written on a
// refusal.
func TestExtensionKeepsExtendsRules(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		source   func(f *fixture, fork *membershiptest.Network) []*membership.SignedUpdate
		from     uint64 // the epoch the source's pieces start at
		wantCode membership.Code
		wantN    int
	}{
		{"the same log applies nothing", func(f *fixture, _ *membershiptest.Network) []*membership.SignedUpdate { return f.net.Log[:3] }, 1, "", 0},
		{"a longer log applies the suffix", func(f *fixture, _ *membershiptest.Network) []*membership.SignedUpdate { return f.net.Log }, 1, "", 3},
		{"the suffix alone applies", func(f *fixture, _ *membershiptest.Network) []*membership.SignedUpdate { return f.net.Log[3:] }, 4, "", 3},
		{"a suffix starting inside the trusted log applies", func(f *fixture, _ *membershiptest.Network) []*membership.SignedUpdate { return f.net.Log[1:] }, 2, "", 3},
		{"a shorter log is a rollback", func(f *fixture, _ *membershiptest.Network) []*membership.SignedUpdate { return f.net.Log[:2] }, 1, membership.StaleEpoch, 0},
		{"a log diverging with a valid update is evidence of a fork", func(_ *fixture, fork *membershiptest.Network) []*membership.SignedUpdate { return fork.Log }, 1, membership.Forked, 0},
		{"a log diverging with an update that does not verify is the source's fork", func(f *fixture, fork *membershiptest.Network) []*membership.SignedUpdate {
			log := append([]*membership.SignedUpdate(nil), fork.Log...)
			bad, _ := membership.ParseSignedUpdate(log[2].Encode(), nil)
			bad.Signatures = bad.Signatures[:1]
			log[2] = bad
			return log
		}, 1, membership.WrongPrevRoot, 0},
		{"a tampered new entry applies nothing", func(f *fixture, _ *membershiptest.Network) []*membership.SignedUpdate {
			log := append([]*membership.SignedUpdate(nil), f.net.Log...)
			bad, _ := membership.ParseSignedUpdate(log[4].Encode(), nil)
			bad.Signatures[0].Sig[0] ^= 1
			log[4] = bad
			return log
		}, 1, membership.BadSignature, 0},
		{"a suffix from a fork does not chain", func(_ *fixture, fork *membershiptest.Network) []*membership.SignedUpdate { return fork.Log[3:] }, 4, membership.WrongPrevRoot, 0},
	}
	for _, tt := range tests {
		for _, size := range []int{1, 2, 100} {
			t.Run(tt.name+"/pieces of "+strconv.Itoa(size), func(t *testing.T) {
				f := newFixture(t, "file")
				fork := &membershiptest.Network{Approvers: f.net.Approvers, Chain: membership.NewChain("test"), Now: f.net.Now}
				l, s := f.open(t)
				if _, err := l.Apply(ctx, f.net.Log[0]); err != nil {
					t.Fatal(err)
				}
				f.addNodes(t, l, 2) // trusted: epochs 1..3
				for _, u := range f.net.Log[:2] {
					fork.MustApply(t, u)
				}
				fu := fork.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("forked", 900)})
				fork.MustApply(t, fork.Sign(t, fu, "alice", "bob"))
				for i := range 3 {
					u := fork.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(membershiptest.NodeID(700+i), 700+i)})
					fork.MustApply(t, fork.Sign(t, u, "alice", "carol"))
				}
				// The source knows 3 more updates than the ledger.
				for i := range 3 {
					u := f.net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(membershiptest.NodeID(500+i), 500+i)})
					f.net.MustApply(t, f.net.Sign(t, u, "alice", "carol"))
				}
				before, _ := s.Head(ctx)
				x, err := l.BeginExtension()
				if err != nil {
					t.Fatal(err)
				}
				n, err := extendInPieces(ctx, x, tt.from, tt.source(f, fork), size)
				if membership.CodeOf(err) != tt.wantCode || n != tt.wantN {
					t.Fatalf("extension = %d, %v; want %d, code %q", n, err, tt.wantN, tt.wantCode)
				}
				after, _ := s.Head(ctx)
				if after != before+uint64(n) {
					t.Errorf("store head %d -> %d after applying %d", before, after, n)
				}
				if tt.wantCode == "" {
					if got, want := l.Status().Head, uint64(3+n); got != want {
						t.Errorf("ledger head %d, want %d", got, want)
					}
				}
			})
		}
	}
}

// TestExtensionNewestVouches is TestExtendCatchesUpPastExpiryOnlyUnderAFreshUpdate
// for an Extension: a stale newest entry is refused (before anything is
// written), a fresh one on top vouches for it.
func TestExtensionNewestVouches(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "file")
	l, s := f.open(t)
	if _, err := l.Apply(ctx, f.net.Log[0]); err != nil {
		t.Fatal(err)
	}
	u := f.net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("old", 600)})
	f.net.MustApply(t, f.net.Sign(t, u, "alice", "bob"))
	f.net.Now = f.net.Now.Add(24 * time.Hour) // the node was offline for a day

	x, err := l.BeginExtension()
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Add(2, f.net.Log[1:]); err != nil {
		t.Fatalf("Add of a stale but valid entry: %v; want it verified as history", err)
	}
	if err := x.Verify(); membership.CodeOf(err) != membership.Expired {
		t.Fatalf("Verify = %v; want EXPIRED", err)
	}
	if got, err := x.Commit(ctx); membership.CodeOf(err) != membership.Expired || len(got) != 0 {
		t.Fatalf("Commit = %d, %v; want EXPIRED", len(got), err)
	}
	if head, _ := s.Head(ctx); head != 1 {
		t.Fatalf("store head %d after a refused commit, want 1", head)
	}

	u2 := f.net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("new", 601)})
	f.net.MustApply(t, f.net.Sign(t, u2, "alice", "bob"))
	if err := x.Add(3, f.net.Log[2:]); err != nil {
		t.Fatal(err)
	}
	got, err := x.Commit(ctx)
	if err != nil || len(got) != 2 {
		t.Fatalf("Commit with a fresh update on top = %d, %v; want 2 applied", len(got), err)
	}
	if got, want := l.State().Root(), f.net.Chain.State().Root(); got != want {
		t.Errorf("root %s, want %s", got, want)
	}
}

// TestExtensionWhileTheLedgerMoves lets the ledger accept entries between
// an extension's verification and its commit: entries it accepted are
// skipped, one it accepted instead of the source's is a fork.
func TestExtensionWhileTheLedgerMoves(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*fixture, *Ledger, *Extension) {
		f := newFixture(t, "file")
		l, _ := f.open(t)
		if _, err := l.Apply(ctx, f.net.Log[0]); err != nil {
			t.Fatal(err)
		}
		x, err := l.BeginExtension()
		if err != nil {
			t.Fatal(err)
		}
		for i := range 3 {
			u := f.net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(membershiptest.NodeID(500+i), 500+i)})
			f.net.MustApply(t, f.net.Sign(t, u, "alice", "bob"))
		}
		if err := x.Add(2, f.net.Log[1:]); err != nil {
			t.Fatal(err)
		}
		return f, l, x
	}
	t.Run("accepted the same entries", func(t *testing.T) {
		f, l, x := setup(t)
		for _, u := range f.net.Log[1:3] {
			if _, err := l.Apply(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		got, err := x.Commit(ctx)
		if err != nil || len(got) != 1 || got[0] != f.net.Log[3] {
			t.Fatalf("Commit = %d entries, %v; want only the entry of epoch 4", len(got), err)
		}
		if st := l.Status(); st.Head != 4 || st.Root != f.net.Chain.State().Root() {
			t.Errorf("status %+v, want head 4 at the source's root", st)
		}
	})
	t.Run("accepted all of them", func(t *testing.T) {
		f, l, x := setup(t)
		for _, u := range f.net.Log[1:] {
			if _, err := l.Apply(ctx, u); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := x.Commit(ctx); err != nil || len(got) != 0 {
			t.Fatalf("Commit = %d entries, %v; want nothing left to apply", len(got), err)
		}
	})
	t.Run("accepted another update at the same epoch", func(t *testing.T) {
		f, l, x := setup(t)
		other := &membershiptest.Network{Approvers: f.net.Approvers, Chain: membership.NewChain("test"), Now: f.net.Now}
		other.MustApply(t, f.net.Log[0])
		u := other.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("other", 800)})
		other.Sign(t, u, "alice", "carol")
		if _, err := l.Apply(ctx, u); err != nil {
			t.Fatal(err)
		}
		if got, err := x.Commit(ctx); membership.CodeOf(err) != membership.Forked || len(got) != 0 {
			t.Fatalf("Commit = %d entries, %v; want FORKED (two valid updates of epoch 2)", len(got), err)
		}
		if l.Status().Head != 2 {
			t.Errorf("head %d after the fork, want 2", l.Status().Head)
		}
	})
}

// TestExtensionFromGenesis extends an empty ledger: the genesis must be the
// pinned one, and the extension commits the whole log.
func TestExtensionFromGenesis(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "file")
	for i := range 4 {
		u := f.net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(membershiptest.NodeID(500+i), 500+i)})
		f.net.MustApply(t, f.net.Sign(t, u, "alice", "bob"))
	}
	t.Run("another genesis", func(t *testing.T) {
		l, s := f.open(t)
		defer s.Close(ctx)
		other := membershiptest.New(t, 2)
		x, err := l.BeginExtension()
		if err != nil {
			t.Fatal(err)
		}
		if err := x.Add(1, other.Log); membership.CodeOf(err) != membership.IntegrityFailure {
			t.Fatalf("Add of another network's genesis = %v; want INTEGRITY_FAILURE", err)
		}
		if err := x.Add(2, f.net.Log[1:]); membership.CodeOf(err) != membership.IntegrityFailure {
			t.Errorf("Add after a failure = %v; want the same failure again", err)
		}
		if head, _ := s.Head(ctx); head != 0 {
			t.Errorf("store head %d, want 0", head)
		}
	})
	t.Run("the pinned genesis", func(t *testing.T) {
		l, s := f.open(t)
		x, err := l.BeginExtension()
		if err != nil {
			t.Fatal(err)
		}
		if err := x.Add(2, f.net.Log[1:]); err == nil {
			t.Fatal("Add starting past the genesis of an empty ledger succeeded")
		}
		x, _ = l.BeginExtension()
		if n, err := extendInPieces(ctx, x, 1, f.net.Log, 2); err != nil || n != 5 {
			t.Fatalf("extension = %d, %v; want 5 applied", n, err)
		}
		if err := l.Close(ctx); err != nil {
			t.Fatal(err)
		}
		s.Close(ctx)
		l2, _ := f.open(t) // re-verifies the log and the high-water mark
		if st := l2.Status(); st.Restricted || st.Head != 5 || st.Root != f.net.Chain.State().Root() {
			t.Errorf("reopened: %+v; want 5 entries at the network's root", st)
		}
	})
}

// TestExtensionOnAForkedLedger: a forked ledger compares the source's
// entries with its own, as Extend does, but accepts nothing new.
func TestExtensionOnAForkedLedger(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "file")
	l, _ := f.open(t)
	if _, err := l.Apply(ctx, f.net.Log[0]); err != nil {
		t.Fatal(err)
	}
	f.addNodes(t, l, 1)
	other := &membershiptest.Network{Approvers: f.net.Approvers, Chain: membership.NewChain("test"), Now: f.net.Now}
	other.MustApply(t, f.net.Log[0])
	u := other.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("other", 800)})
	other.Sign(t, u, "alice", "carol")
	if err := l.CheckFork(u); membership.CodeOf(err) != membership.Forked {
		t.Fatalf("CheckFork = %v; want FORKED", err)
	}
	x, err := l.BeginExtension()
	if err != nil {
		t.Fatal(err)
	}
	if err := x.Add(1, f.net.Log); err != nil {
		t.Errorf("Add of the trusted entries on a forked ledger = %v; want them compared and found equal", err)
	}
	if err := x.Verify(); membership.CodeOf(err) != membership.Forked {
		t.Errorf("Verify on a forked ledger = %v; want FORKED", err)
	}
	u2 := f.net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("new", 801)})
	f.net.MustApply(t, f.net.Sign(t, u2, "alice", "bob"))
	if err := x.Add(3, f.net.Log[2:]); membership.CodeOf(err) != membership.Forked {
		t.Errorf("Add of a new entry on a forked ledger = %v; want FORKED", err)
	}
}
