package feed

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/feed/feedtest"
	"github.com/rustynet/rustynet/core/ledger"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/hostapi/hostapitest"
)

// grow applies n one-member changes to net, signed by alice and bob:
// add_node, update_node, revoke_node and remove_node of a fresh node in
// turn, so the membership stays small however long the log grows.
func grow(tb testing.TB, net *membershiptest.Network, n int) {
	tb.Helper()
	for range n {
		k := len(net.Log) - 1
		id, i := fmt.Sprintf("c%06d", k/4), 100+k/4%50000
		var op membership.Operation
		switch k % 4 {
		case 0:
			op = membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(id, i)}
		case 1:
			n := membershiptest.Node(id, i)
			op = membership.Operation{Type: membership.OpUpdateNode, NodeID: id, Addresses: n.Addresses, Endpoints: n.Endpoints, Tags: []string{"router"}, Routes: n.Routes}
		case 2:
			op = membership.Operation{Type: membership.OpRevokeNode, NodeID: id}
		case 3:
			op = membership.Operation{Type: membership.OpRemoveNode, NodeID: id}
		}
		net.MustApply(tb, net.Sign(tb, net.Propose(tb, op), "alice", "bob"))
	}
}

// network returns a 2-of-3 test network grown to entries entries.
func network(tb testing.TB, entries int) *membershiptest.Network {
	tb.Helper()
	net := membershiptest.New(tb, 3)
	grow(tb, net, entries-1)
	return net
}

// newLedger returns a ledger in an in-memory store holding net's first
// have entries, its genesis pinned and its clock net's.
func newLedger(tb testing.TB, net *membershiptest.Network, have int) *ledger.Ledger {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	s := hostapitest.NewStore()
	if err := s.Open(ctx, hostapi.StoreConfig{Dir: filepath.Join(dir, "state")}); err != nil {
		tb.Fatal(err)
	}
	l, err := ledger.Open(ctx, ledger.Config{Store: s, StateDir: filepath.Join(dir, "state"), HighWaterPath: filepath.Join(dir, "mark.json"),
		GenesisRoot: net.Log[0].Body.NewStateRoot, Now: func() time.Time { return net.Now }})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { l.Close(ctx); s.Close(ctx) })
	if have > 0 {
		x, err := l.BeginExtension()
		if err == nil {
			err = x.Add(1, net.Log[:have])
		}
		if err == nil {
			_, err = x.Commit(ctx)
		}
		if err != nil {
			tb.Fatalf("bringing the ledger to epoch %d: %v", have, err)
		}
	}
	return l
}

// pull pulls once from src into l and commits what it brings; it returns
// the pull's result, how many entries were applied, and the error of the
// pull or the commit.
func pull(tb testing.TB, src Source, l *ledger.Ledger) (Result, int, error) {
	tb.Helper()
	res, err := src.Pull(context.Background(), l, nil)
	if err != nil || res.Extension == nil {
		return res, 0, err
	}
	applied, err := res.Extension.Commit(context.Background())
	return res, len(applied), err
}

// publish publishes log into dir with segments of size and chunks of chunk
// entries.
func publish(tb testing.TB, dir string, log []*membership.SignedUpdate, size, chunk uint64) PublishResult {
	tb.Helper()
	res, err := Publish(dir, log, PublishOptions{SegmentEntries: size, ChunkEntries: chunk})
	if err != nil {
		tb.Fatalf("Publish: %v", err)
	}
	return res
}

// serveFeed serves dir with Handler over a real HTTP server on loopback,
// counting what crosses its wire; wrap, if not nil, wraps the handler (to
// misbehave).
func serveFeed(tb testing.TB, dir string, wrap func(http.Handler) http.Handler) *feedtest.Server {
	tb.Helper()
	var h http.Handler = Handler(dir, HandlerOptions{})
	if wrap != nil {
		h = wrap(h)
	}
	srv := feedtest.NewServer(h)
	tb.Cleanup(srv.Close)
	return srv
}

// newSource returns the source for loc (and mirrors) with the server's
// client.
func newSource(tb testing.TB, loc string, opts Options) Source {
	tb.Helper()
	src, err := New(loc, opts)
	if err != nil {
		tb.Fatalf("New(%q): %v", loc, err)
	}
	return src
}

// sameState fails the test if l's status differs from before.
func sameState(tb testing.TB, l *ledger.Ledger, before ledger.Status) {
	tb.Helper()
	if got := l.Status(); got != before {
		tb.Errorf("the trusted state changed: %+v, was %+v", got, before)
	}
}
