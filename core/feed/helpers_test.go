package feed

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// wire counts the requests a server answered and the bytes its
// connections carried both ways.
type wire struct {
	requests atomic.Int64
	bytes    atomic.Int64
	mu       sync.Mutex
	paths    []string // requested, in order
	cond     int      // requests carrying If-None-Match or If-Modified-Since
}

func (w *wire) reset() {
	w.requests.Store(0)
	w.bytes.Store(0)
	w.mu.Lock()
	w.paths, w.cond = nil, 0
	w.mu.Unlock()
}

// serveFeed serves dir with Handler over a real HTTP server on loopback;
// wrap, if not nil, wraps the handler (to misbehave). It returns the
// server and what crosses its wire.
func serveFeed(tb testing.TB, dir string, wrap func(http.Handler) http.Handler) (*httptest.Server, *wire) {
	tb.Helper()
	w := &wire{}
	var h http.Handler = Handler(dir, HandlerOptions{})
	if wrap != nil {
		h = wrap(h)
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		w.requests.Add(1)
		w.mu.Lock()
		w.paths = append(w.paths, r.URL.Path)
		if r.Header.Get("If-None-Match") != "" || r.Header.Get("If-Modified-Since") != "" {
			w.cond++
		}
		w.mu.Unlock()
		h.ServeHTTP(rw, r)
	}))
	srv.Listener = countingListener{srv.Listener, &w.bytes}
	srv.Start()
	tb.Cleanup(srv.Close)
	return srv, w
}

// countingListener counts the bytes its connections read and write.
type countingListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{c, l.n}, nil
}

type countingConn struct {
	net.Conn
	n *atomic.Int64
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.n.Add(int64(n))
	return n, err
}

func (c countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.n.Add(int64(n))
	return n, err
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
