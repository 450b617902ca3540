package ledger

import (
	"context"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

func TestExtend(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name     string
		source   func(f *fixture, fork *membershiptest.Network) []*membership.SignedUpdate
		wantCode membership.Code
		wantN    int
	}{
		{"the same log applies nothing", func(f *fixture, _ *membershiptest.Network) []*membership.SignedUpdate { return f.net.Log[:3] }, "", 0},
		{"a longer log applies the suffix", func(f *fixture, _ *membershiptest.Network) []*membership.SignedUpdate { return f.net.Log }, "", 3},
		{"a shorter log is a rollback", func(f *fixture, _ *membershiptest.Network) []*membership.SignedUpdate { return f.net.Log[:2] }, membership.StaleEpoch, 0},
		{"a log diverging with a valid update is evidence of a fork", func(_ *fixture, fork *membershiptest.Network) []*membership.SignedUpdate { return fork.Log }, membership.Forked, 0},
		{"a log diverging with an update that does not verify is the source's fork", func(f *fixture, fork *membershiptest.Network) []*membership.SignedUpdate {
			log := append([]*membership.SignedUpdate(nil), fork.Log...)
			bad, _ := membership.ParseSignedUpdate(log[2].Encode(), nil)
			bad.Signatures = bad.Signatures[:1]
			log[2] = bad
			return log
		}, membership.WrongPrevRoot, 0},
		{"a tampered new entry applies nothing", func(f *fixture, _ *membershiptest.Network) []*membership.SignedUpdate {
			log := append([]*membership.SignedUpdate(nil), f.net.Log...)
			bad, _ := membership.ParseSignedUpdate(log[4].Encode(), nil)
			bad.Signatures[0].Sig[0] ^= 1
			log[4] = bad
			return log
		}, membership.BadSignature, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, "file")
			// A fork: same genesis, different third update.
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

			// The source knows 3 more updates than the ledger.
			for i := 0; i < 3; i++ {
				u := f.net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(membershiptest.NodeID(500+i), 500+i)})
				f.net.MustApply(t, f.net.Sign(t, u, "alice", "carol"))
			}
			before, _ := s.Head(ctx)
			n, err := l.Extend(ctx, tt.source(f, fork))
			if membership.CodeOf(err) != tt.wantCode || n != tt.wantN {
				t.Fatalf("Extend = %d, %v; want %d, code %q", n, err, tt.wantN, tt.wantCode)
			}
			after, _ := s.Head(ctx)
			if after != before+uint64(n) {
				t.Errorf("store head %d -> %d after applying %d", before, after, n)
			}
		})
	}
}

func TestExtendCatchesUpPastExpiryOnlyUnderAFreshUpdate(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "file")
	l, _ := f.open(t)
	if _, err := l.Apply(ctx, f.net.Log[0]); err != nil {
		t.Fatal(err)
	}
	u := f.net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("old", 600)})
	f.net.MustApply(t, f.net.Sign(t, u, "alice", "bob"))
	// The node was offline for a day: the update expired meanwhile.
	f.net.Now = f.net.Now.Add(24 * time.Hour)
	if n, err := l.Extend(ctx, f.net.Log); membership.CodeOf(err) != membership.Expired || n != 0 {
		t.Fatalf("Extend with only a stale update = %d, %v; want EXPIRED", n, err)
	}
	// A fresh, quorum-signed update on top vouches for it.
	u2 := f.net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("new", 601)})
	f.net.MustApply(t, f.net.Sign(t, u2, "alice", "bob"))
	if n, err := l.Extend(ctx, f.net.Log); err != nil || n != 2 {
		t.Fatalf("Extend with a fresh update on top = %d, %v; want 2 applied", n, err)
	}
	if got, want := l.State().Root(), f.net.Chain.State().Root(); got != want {
		t.Errorf("root %s, want %s", got, want)
	}
}
