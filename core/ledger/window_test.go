package ledger

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/hostapi"
)

// withWindow sets the window for ledgers opened in the rest of the test.
func withWindow(t *testing.T, n int) {
	t.Helper()
	old := window
	window = n
	t.Cleanup(func() { window = old })
}

// sameBodies fails the test unless got holds the bodies of want.
func sameBodies(t *testing.T, what string, got, want []*membership.SignedUpdate) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d entries, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !bytes.Equal(got[i].BodyBytes(), want[i].BodyBytes()) {
			t.Fatalf("%s: entry %d (epoch %d) differs from the one applied", what, i, got[i].Body.Epoch)
		}
	}
}

// checkServes checks that l serves exactly f.net.Log through Entries (every
// start and length, so across the window's boundary), Log and Holds, and
// keeps no more than the window decoded.
func (f *fixture) checkServes(t *testing.T, l *Ledger) {
	t.Helper()
	want := f.net.Log
	head := uint64(len(want))
	if got := l.Status().Head; got != head {
		t.Fatalf("head %d, want %d", got, head)
	}
	l.mu.Lock()
	kept := len(l.recent)
	l.mu.Unlock()
	if kept > window || kept == 0 {
		t.Fatalf("%d decoded updates kept, window %d", kept, window)
	}
	for from := uint64(0); from <= head+1; from++ {
		for n := 0; n <= 4; n++ {
			got := l.Entries(from, n)
			if from == 0 || from > head || n == 0 {
				if got != nil {
					t.Fatalf("Entries(%d, %d) = %d entries, want none", from, n, len(got))
				}
				continue
			}
			sameBodies(t, fmt.Sprintf("Entries(%d, %d)", from, n), got, want[from-1:min(from-1+uint64(n), head)])
		}
	}
	sameBodies(t, "Log", mustLog(t, l), want)
	for i, u := range want {
		if !l.Holds(u) {
			t.Fatalf("Holds(entry %d) = false", i+1)
		}
	}
	// An update of an old epoch with another body is not held.
	other := f.net.Propose(t, membership.Operation{Type: membership.OpRemoveNode, NodeID: "n00001"})
	other.Body.Epoch = 2
	if l.Holds(other) {
		t.Fatal("Holds: an update that is not the log's entry is held")
	}
}

// TestWindowOldEntriesAreReadBack: a ledger keeps at most the window of
// decoded updates and serves older ones from the store, after applies and
// after a reopen (read in batches that cross the window too).
func TestWindowOldEntriesAreReadBack(t *testing.T) {
	for _, kind := range storeKinds {
		for _, w := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/window=%d", kind, w), func(t *testing.T) {
				withWindow(t, w)
				withReadBatch(t, 2)
				ctx := context.Background()
				f := newFixture(t, kind)
				l, s := f.open(t)
				if _, err := l.Apply(ctx, f.net.Log[0]); err != nil {
					t.Fatal(err)
				}
				f.addNodes(t, l, 9)
				f.checkServes(t, l)
				if err := l.Close(ctx); err != nil {
					t.Fatal(err)
				}
				s.Close(ctx)

				l2, _ := f.open(t)
				if l2.Restricted() != nil {
					t.Fatalf("reopened restricted: %v", l2.Restricted())
				}
				f.checkServes(t, l2)
				f.addNodes(t, l2, 2) // and goes on
				f.checkServes(t, l2)
			})
		}
	}
}

// tamperedReads is a store that, once on, returns data in place of the
// stored entry at index.
type tamperedReads struct {
	hostapi.Store
	on    bool
	index uint64
	data  []byte
}

func (s *tamperedReads) ReadLog(ctx context.Context, from uint64, max int) ([]hostapi.LogEntry, error) {
	got, err := s.Store.ReadLog(ctx, from, max)
	if s.on {
		for i := range got {
			if got[i].Index == s.index {
				got[i].Data = s.data
			}
		}
	}
	return got, err
}

// TestWindowTamperedOldEntryIsRefused: an old entry the store returns
// altered — here well-formed, with the right index and a valid link to
// the entry before it, but another update — is refused with
// INTEGRITY_FAILURE and never served; the ledger is otherwise unchanged.
func TestWindowTamperedOldEntryIsRefused(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			withWindow(t, 2)
			ctx := context.Background()
			f := newFixture(t, kind)
			s := &tamperedReads{Store: openStore(t, kind, f.dir), index: 3}
			l, err := Open(ctx, f.config(s))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := l.Apply(ctx, f.net.Log[0]); err != nil {
				t.Fatal(err)
			}
			f.addNodes(t, l, 5) // head 6, entries 5 and 6 in the window
			before := l.Status()

			l.mu.Lock()
			s.data = encodeEntry(3, l.hashes[1], f.net.Log[3])
			l.mu.Unlock()
			s.on = true

			l.mu.Lock()
			_, err = l.updateAt(3)
			l.mu.Unlock()
			if membership.CodeOf(err) != membership.IntegrityFailure {
				t.Fatalf("reading the tampered entry back: %v, want INTEGRITY_FAILURE", err)
			}
			sameBodies(t, "Entries(1, 6)", l.Entries(1, 6), f.net.Log[:2])
			if got := l.Entries(3, 1); len(got) != 0 {
				t.Fatalf("Entries(3, 1) served %d entries of a tampered store", len(got))
			}
			if log, err := l.Log(); membership.CodeOf(err) != membership.IntegrityFailure || log != nil {
				t.Fatalf("Log of a tampered store: %d entries, %v; want none and INTEGRITY_FAILURE", len(log), err)
			}
			sameBodies(t, "Entries(5, 2)", l.Entries(5, 2), f.net.Log[4:6]) // the window needs no read
			if l.Settled(f.net.Log[2]) {
				t.Fatal("Settled on a tampered entry")
			}
			if after := l.Status(); after != before {
				t.Fatalf("status changed: %+v, was %+v", after, before)
			}

			// The update of epoch 5 served as entry 4 is refused as well.
			l.mu.Lock()
			s.data = encodeEntry(4, l.hashes[2], f.net.Log[4])
			l.mu.Unlock()
			s.index = 4
			sameBodies(t, "Entries(1, 6) with entry 4 replaced", l.Entries(1, 6), f.net.Log[:3])

			s.on = false
			sameBodies(t, "Log once the store is sound", mustLog(t, l), f.net.Log)
		})
	}
}

// TestWindowReadFailureServesNothingBadAndChangesNothing: a store that
// fails reads of old entries makes Entries serve those before the failure;
// applies go on.
func TestWindowReadFailureServesNothingBadAndChangesNothing(t *testing.T) {
	withWindow(t, 2)
	ctx := context.Background()
	f := newFixture(t, "file")
	s := &failingReads{Store: openStore(t, "file", f.dir), failFrom: 1 << 62, err: errors.New("plugin gone")}
	l, err := Open(ctx, f.config(s))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Apply(ctx, f.net.Log[0]); err != nil {
		t.Fatal(err)
	}
	f.addNodes(t, l, 5)
	s.failFrom = 3
	sameBodies(t, "Entries(1, 6)", l.Entries(1, 6), nil)
	sameBodies(t, "Entries(5, 2)", l.Entries(5, 2), f.net.Log[4:6])
	f.addNodes(t, l, 1)
	if l.Restricted() != nil || l.Status().Head != 7 {
		t.Fatalf("after a failed read: %+v", l.Status())
	}
}

// TestWindowForkBelowIt: a fork at an epoch the window no longer holds is
// detected (the log replayed from the store), its evidence holds the
// log's own prefix, and it is found again at a reopen.
func TestWindowForkBelowIt(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			withWindow(t, 1)
			ctx := context.Background()
			f := newFixture(t, kind)
			l, s := f.started(t)
			x, y := f.conflicting(t, []string{"alice", "carol"}, []string{"alice", "carol"})
			if _, err := l.Apply(ctx, x); err != nil {
				t.Fatal(err)
			}
			f.net.MustApply(t, x)
			f.addNodes(t, l, 2) // head 6; the window holds 6 only
			if _, err := l.Apply(ctx, y); membership.CodeOf(err) != membership.Forked {
				t.Fatalf("%v, want FORKED", err)
			}
			it := l.Fork().First()
			if it.Report.Epoch != 4 {
				t.Fatalf("fork at %d, want 4", it.Report.Epoch)
			}
			sameBodies(t, "the evidence's log", it.Evidence.Log, f.net.Log[:3])
			if err := l.Close(ctx); err != nil {
				t.Fatal(err)
			}
			s.Close(ctx)
			l2, _ := f.open(t)
			if fk := l2.Fork(); fk == nil || fk.First().Report.Epoch != 4 {
				t.Fatalf("reopened: fork %v", fk)
			}
			sameBodies(t, "the reloaded evidence's log", l2.Fork().First().Evidence.Log, f.net.Log[:3])
		})
	}
}

// TestWindowResolutionBelowIt: a resolution of an epoch below the window
// replays the prefix from the store, cuts the log and the window, and the
// log served afterwards is the prefix and the resolution, also after a
// reopen.
func TestWindowResolutionBelowIt(t *testing.T) {
	for _, kind := range storeKinds {
		t.Run(kind, func(t *testing.T) {
			withWindow(t, 1)
			ctx := context.Background()
			f := newFixture(t, kind)
			l, s, x, y, pre := f.forkedDeep(t) // head 5, fork at 4
			r := f.resolution(t, pre, x, y, y.Digest(), "alice", "carol")
			if _, err := l.Apply(ctx, r); err != nil {
				t.Fatalf("resolution: %v", err)
			}
			want := append(f.net.Log[:3:3], r)
			if st := l.Status(); st.Head != 4 || st.Forked != "" {
				t.Fatalf("after the resolution: %+v", st)
			}
			sameBodies(t, "Log after the resolution", mustLog(t, l), want)
			sameBodies(t, "Entries(2, 3)", l.Entries(2, 3), want[1:4])
			if !l.Settled(x) || !l.Settled(y) {
				t.Fatal("Settled does not report the sides")
			}
			if err := l.Close(ctx); err != nil {
				t.Fatal(err)
			}
			s.Close(ctx)
			l2, _ := f.open(t)
			if st := l2.Status(); st.Head != 4 || st.Restricted || st.Forked != "" {
				t.Fatalf("reopened: %+v", st)
			}
			sameBodies(t, "Log reopened", mustLog(t, l2), want)
		})
	}
}

// TestWindowKnownKeysSurviveIt: signedByKnownKeys still knows a key that
// is no approver now and signed only entries the window no longer holds,
// also after a reopen.
func TestWindowKnownKeysSurviveIt(t *testing.T) {
	withWindow(t, 1)
	ctx := context.Background()
	f := newFixture(t, "file")
	l, s := f.open(t)
	if _, err := l.Apply(ctx, f.net.Log[0]); err != nil { // signed by all three
		t.Fatal(err)
	}
	rm := f.net.Sign(t, f.net.Propose(t, membership.Operation{Type: membership.OpRemoveApprover, ApproverID: "carol"}), "alice", "bob")
	if _, err := l.Apply(ctx, rm); err != nil {
		t.Fatal(err)
	}
	f.net.MustApply(t, rm)
	f.addNodes(t, l, 3) // signed by alice and bob
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close(ctx)
	l, _ = f.open(t)
	u := f.net.Sign(t, f.net.Propose(t, membership.Operation{Type: membership.OpRemoveNode, NodeID: "n00001"}), "carol")
	v := f.net.Sign(t, f.net.Propose(t, membership.Operation{Type: membership.OpRemoveNode, NodeID: "n00001"}), "mallory")
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.signedByKnownKeys(u) {
		t.Error("carol, who signed only the genesis, is not known")
	}
	if l.signedByKnownKeys(v) {
		t.Error("an outsider's key is known")
	}
}

// TestExtendAt: the entries after the head apply as Extend of the whole
// log would apply them; a base that is not the head applies nothing, and
// a tampered new entry applies nothing.
func TestExtendAt(t *testing.T) {
	withWindow(t, 1)
	ctx := context.Background()
	f := newFixture(t, "file")
	l, s := f.open(t)
	if _, err := l.Apply(ctx, f.net.Log[0]); err != nil {
		t.Fatal(err)
	}
	f.addNodes(t, l, 2) // trusted: epochs 1..3
	for i := range 3 {
		u := f.net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(membershiptest.NodeID(500+i), 500+i)})
		f.net.MustApply(t, f.net.Sign(t, u, "alice", "carol"))
	}
	if n, err := l.ExtendAt(ctx, 2, f.net.Log[2:]); membership.CodeOf(err) != membership.StaleEpoch || n != 0 {
		t.Fatalf("ExtendAt of a base behind the head = %d, %v; want STALE_EPOCH", n, err)
	}
	bad, _ := membership.ParseSignedUpdate(f.net.Log[4].Encode(), nil)
	bad.Signatures[0].Sig[0] ^= 1
	if n, err := l.ExtendAt(ctx, 3, []*membership.SignedUpdate{f.net.Log[3], bad}); membership.CodeOf(err) != membership.BadSignature || n != 0 {
		t.Fatalf("ExtendAt with a tampered entry = %d, %v; want BAD_SIGNATURE", n, err)
	}
	if h, _ := s.Head(ctx); h != 3 {
		t.Fatalf("store head %d after refusals", h)
	}
	if n, err := l.ExtendAt(ctx, 3, f.net.Log[3:]); err != nil || n != 3 {
		t.Fatalf("ExtendAt = %d, %v; want 3", n, err)
	}
	f.checkServes(t, l)
}

// TestWindowReadersDoNotHoldUpApplies: Entries and Log read old entries
// without the ledger's lock, on copies of what they need: run under -race
// while applies move the window, they serve the log as it was.
func TestWindowReadersDoNotHoldUpApplies(t *testing.T) {
	withWindow(t, 2)
	ctx := context.Background()
	f := newFixture(t, "file")
	l, _ := f.open(t)
	if _, err := l.Apply(ctx, f.net.Log[0]); err != nil {
		t.Fatal(err)
	}
	f.addNodes(t, l, 3)
	done := make(chan struct{})
	fail := make(chan string, 1)
	go func() {
		defer close(done)
		for i := 0; i < 200; i++ {
			head := l.Status().Head
			got := l.Entries(1, int(head))
			if uint64(len(got)) < head {
				fail <- fmt.Sprintf("Entries(1, %d) served %d", head, len(got))
				return
			}
			for j, u := range got {
				if u == nil || u.Body.Epoch != uint64(j+1) {
					fail <- fmt.Sprintf("Entries(1, %d): entry %d is not epoch %d", head, j, j+1)
					return
				}
			}
			if log, err := l.Log(); err != nil || uint64(len(log)) < head {
				fail <- fmt.Sprintf("Log served %d of %d: %v", len(log), head, err)
				return
			}
		}
	}()
	f.addNodes(t, l, 8)
	<-done
	select {
	case msg := <-fail:
		t.Fatal(msg)
	default:
	}
	sameBodies(t, "Log", mustLog(t, l), f.net.Log)
}

// mustLog returns l.Log() or fails.
func mustLog(tb testing.TB, l *Ledger) []*membership.SignedUpdate {
	tb.Helper()
	log, err := l.Log()
	if err != nil {
		tb.Fatalf("Log: %v", err)
	}
	return log
}
