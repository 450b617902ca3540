package ledger

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/hostapi"
)

// conflicting returns two updates for the network's next epoch: x adds a
// node (signed by signersX), y revokes n00001 (signed by signersY). The
// network's chain is not advanced.
func (f *fixture) conflicting(t *testing.T, signersX, signersY []string) (x, y *membership.SignedUpdate) {
	t.Helper()
	x = f.net.Sign(t, f.net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("n00042", 42)}), signersX...)
	y = f.net.Sign(t, f.net.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00001"}), signersY...)
	return x, y
}

// started opens a ledger holding the genesis and two more updates.
func (f *fixture) started(t *testing.T) (*Ledger, hostapi.Store) {
	t.Helper()
	l, s := f.open(t)
	if _, err := l.Apply(context.Background(), f.net.Log[0]); err != nil {
		t.Fatal(err)
	}
	f.addNodes(t, l, 2)
	return l, s
}

func TestForkAtHeadKeepsEvidenceAndRefusesEverything(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "file")
	l, s := f.started(t)
	x, y := f.conflicting(t, []string{"alice", "bob"}, []string{"bob", "carol"})
	if _, err := l.Apply(ctx, x); err != nil {
		t.Fatal(err)
	}
	_, err := l.Apply(ctx, y)
	if membership.CodeOf(err) != membership.Forked {
		t.Fatalf("the conflicting update: %v, want FORKED", err)
	}
	fk := l.Fork()
	if fk == nil || !slices.Equal(fk.First().Report.DoubleSigners, []string{"bob"}) || fk.First().Report.Epoch != 4 {
		t.Fatalf("fork = %+v", fk)
	}
	if want := filepath.Join(DefaultEvidenceDir(f.dir), fk.First().Report.Name()); fk.First().Path != want {
		t.Fatalf("evidence at %q, want %q", fk.First().Path, want)
	}
	fi, err := os.Stat(fk.First().Path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("evidence file: %v, mode %v", err, fi.Mode())
	}
	data, _ := os.ReadFile(fk.First().Path)
	ev, err := membership.ParseEvidence(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := membership.VerifyEvidence(ev, f.net.Log[0].Body.NewStateRoot, nil); err != nil {
		t.Fatalf("the kept evidence does not verify offline: %v", err)
	}
	// n00001 is revoked on one side, n00042 exists only on the other: the
	// floor holds neither.
	if _, ok := fk.Floor.Node("n00042"); ok {
		t.Error("the floor holds a node only one side added")
	}
	if _, ok := fk.Floor.Node("n00001"); ok {
		t.Error("the floor holds a node whose record the sides disagree on")
	}
	if _, ok := fk.Floor.Node("n00000"); !ok {
		t.Error("the floor lost a node both sides agree on")
	}

	// Everything is refused now, even an update valid on this side.
	f.net.MustApply(t, x)
	z := f.net.Sign(t, f.net.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00002"}), "alice", "bob")
	if _, err := l.Apply(ctx, z); membership.CodeOf(err) != membership.Forked {
		t.Fatalf("apply while forked: %v, want FORKED", err)
	}
	if _, err := l.Extend(ctx, append(slices.Clone(f.net.Log), z)); membership.CodeOf(err) != membership.Forked {
		t.Fatalf("extend while forked: %v, want FORKED", err)
	}
	if l.Status().Forked == "" || l.Status().Epoch != 4 {
		t.Fatalf("status %+v", l.Status())
	}
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close(ctx)

	// The evidence outlives a restart.
	l2, _ := f.open(t)
	if l2.Fork() == nil || l2.Fork().First().Report.Name() != fk.First().Report.Name() || l2.Restricted() != nil {
		t.Fatalf("reopened: fork %v restricted %v", l2.Fork(), l2.Restricted())
	}
}

// TestForkBelowTheHead: the conflicting update is for an epoch the log has
// moved past; the ledger replays to the state it extends.
func TestForkBelowTheHead(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "sqlite")
	l, _ := f.started(t)
	x, y := f.conflicting(t, []string{"alice", "carol"}, []string{"alice", "carol"})
	if _, err := l.Apply(ctx, x); err != nil {
		t.Fatal(err)
	}
	f.net.MustApply(t, x)
	f.addNodes(t, l, 2)
	_, err := l.Apply(ctx, y)
	if membership.CodeOf(err) != membership.Forked {
		t.Fatalf("%v, want FORKED", err)
	}
	if fk := l.Fork(); fk.First().Report.Epoch != 4 || !slices.Equal(fk.First().Report.DoubleSigners, []string{"alice", "carol"}) {
		t.Fatalf("fork %+v", fk.First().Report)
	}
}

// TestForkThroughTheFeed: a source whose log diverges with a valid update
// is evidence too.
func TestForkThroughTheFeed(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "file")
	l, _ := f.started(t)
	x, y := f.conflicting(t, []string{"alice", "bob"}, []string{"bob", "carol"})
	if _, err := l.Apply(ctx, x); err != nil {
		t.Fatal(err)
	}
	_, err := l.Extend(ctx, append(slices.Clone(f.net.Log), y))
	if membership.CodeOf(err) != membership.Forked || l.Fork() == nil {
		t.Fatalf("%v, want FORKED", err)
	}
}

// TestNoForkWithoutAQuorum: an update that conflicts but would not verify
// (under the threshold, or signed with a key the network never had) is
// refused as before and proves nothing.
func TestNoForkWithoutAQuorum(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		signers []string
		code    membership.Code
	}{
		{"under the threshold", []string{"carol"}, membership.StaleEpoch},
		{"an outsider's key", []string{"carol", "mallory"}, membership.StaleEpoch},
		{"unsigned", nil, membership.StaleEpoch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, "file")
			l, _ := f.started(t)
			x, y := f.conflicting(t, []string{"alice", "bob"}, tc.signers)
			if _, err := l.Apply(ctx, x); err != nil {
				t.Fatal(err)
			}
			_, err := l.Apply(ctx, y)
			if membership.CodeOf(err) != tc.code || l.Fork() != nil {
				t.Fatalf("%v (fork %v), want %s and no fork", err, l.Fork(), tc.code)
			}
			if _, err := os.Stat(DefaultEvidenceDir(f.dir)); !os.IsNotExist(err) {
				t.Fatalf("an evidence directory appeared: %v", err)
			}
		})
	}
}

// TestEvidenceFilesThatProveNothingAreIgnored: a file in the evidence
// directory that is malformed, or evidence of another history, does not
// make the node forked.
func TestEvidenceFilesThatProveNothingAreIgnored(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "file")
	l, s := f.started(t)
	if err := l.Close(ctx); err != nil {
		t.Fatal(err)
	}
	s.Close(ctx)
	other := membershiptest.New(t, 3)
	ox := other.Sign(t, other.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00001"}), "alice", "bob")
	oy := other.Sign(t, other.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00002"}), "alice", "bob")
	dir := DefaultEvidenceDir(f.dir)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "fork-2-garbage.json"), []byte("{not json"), 0o600)
	os.WriteFile(filepath.Join(dir, "fork-2-other.json"), membership.NewEvidence(other.Log, ox, oy).Encode(), 0o600)
	l2, _ := f.open(t)
	if l2.Fork() != nil || l2.Restricted() != nil {
		t.Fatalf("fork %v restricted %v", l2.Fork(), l2.Restricted())
	}
}

// TestThreeConflictingUpdatesInAnyOrder: three quorum-signed updates for
// one epoch, seen in different orders, leave every ledger with the same
// evidence and the same floor (the floor covers every piece held).
func TestThreeConflictingUpdatesInAnyOrder(t *testing.T) {
	ctx := context.Background()
	floors := map[string]bool{}
	for _, order := range [][3]int{{0, 1, 2}, {0, 2, 1}, {1, 0, 2}, {2, 1, 0}} {
		f := newFixture(t, "file")
		l, _ := f.started(t)
		x, y := f.conflicting(t, []string{"alice", "bob"}, []string{"bob", "carol"})
		z := f.net.Sign(t, f.net.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00002"}), "alice", "carol")
		us := []*membership.SignedUpdate{x, y, z}
		if _, err := l.Apply(ctx, us[order[0]]); err != nil {
			t.Fatal(err)
		}
		for _, i := range order[1:] {
			if _, err := l.Apply(ctx, us[i]); membership.CodeOf(err) != membership.Forked {
				t.Fatalf("order %v, update %d: %v, want FORKED", order, i, err)
			}
		}
		fk := l.Fork()
		if len(fk.Items) != 2 {
			t.Fatalf("order %v: %d pieces of evidence, want 2", order, len(fk.Items))
		}
		var ids []string
		for n := range fk.Floor.Nodes() {
			ids = append(ids, n.ID+":"+string(n.Status))
		}
		floors[strings.Join(ids, ",")] = true
	}
	if len(floors) != 1 {
		t.Fatalf("the floors differ by order: %v", floors)
	}
}

// TestEvidenceFromElsewhereIsKeptAsOwnLogMakesIt: evidence whose log
// carries no signatures (only the bodies are compared with the node's
// log) makes the node forked, and what it keeps and serves is rebuilt
// from its own log, so it verifies offline. Evidence signed by keys the
// network never had is refused at once, and remembered.
func TestEvidenceFromElsewhereIsKeptAsOwnLogMakesIt(t *testing.T) {
	f := newFixture(t, "file")
	l, _ := f.started(t)
	x, y := f.conflicting(t, []string{"alice", "bob"}, []string{"bob", "carol"})
	bare := make([]*membership.SignedUpdate, len(f.net.Log))
	for i, u := range f.net.Log {
		c := *u
		c.Signatures = nil
		bare[i] = &c
	}
	junk := f.net.Sign(t, f.net.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00002"}), "mallory", "trudy")
	if err := l.AddEvidence(membership.NewEvidence(f.net.Log, x, junk)); membership.CodeOf(err) != membership.UnknownSigner {
		t.Fatalf("evidence signed by outsiders: %v, want UNKNOWN_SIGNER", err)
	}
	if err := l.AddEvidence(membership.NewEvidence(f.net.Log, x, junk)); membership.CodeOf(err) != membership.IntegrityFailure {
		t.Fatalf("the same evidence again: %v, want it remembered (INTEGRITY_FAILURE)", err)
	}
	if err := l.AddEvidence(membership.NewEvidence(bare, x, y)); err != nil {
		t.Fatal(err)
	}
	fk := l.Fork()
	if fk == nil {
		t.Fatal("not forked")
	}
	data, err := os.ReadFile(fk.First().Path)
	if err != nil {
		t.Fatal(err)
	}
	ev, err := membership.ParseEvidence(data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := membership.VerifyEvidence(ev, f.net.Log[0].Body.NewStateRoot, nil); err != nil {
		t.Fatalf("the kept evidence does not verify: %v", err)
	}
}
