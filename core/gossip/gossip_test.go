package gossip_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/gossip"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// node is an in-process member for tests: a chain over loopback, served
// by a gossip.Server; it implements gossip.Local.
type node struct {
	id    string
	addr  netip.Addr // its "mesh address": the key its listener is found by
	mu    sync.Mutex
	chain *membership.Chain
	log   []*membership.SignedUpdate
	roots []membership.Hash
	peers []gossip.Peer
	// evidence and conflicts it was handed
	evidence  [][]byte
	conflicts []*membership.SignedUpdate
}

func newNode(t testing.TB, id string, addr netip.Addr, log []*membership.SignedUpdate) *node {
	n := &node{id: id, addr: addr, chain: membership.NewChain(log[0].Body.NetworkID)}
	if _, err := n.Extend(context.Background(), log, "setup"); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *node) Head() (gossip.Head, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	var ev []string
	for _, e := range n.evidence { // named after its first byte, as a real name is after the digests
		ev = append(ev, evName(e))
	}
	return gossip.HeadOf(n.chain.State(), ev), true
}

func (n *node) Entries(from uint64, max int) []*membership.SignedUpdate {
	n.mu.Lock()
	defer n.mu.Unlock()
	if from == 0 || from > uint64(len(n.log)) {
		return nil
	}
	return append([]*membership.SignedUpdate(nil), n.log[from-1:min(uint64(len(n.log)), from-1+uint64(max))]...)
}

func (n *node) Evidence(name string) []byte {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, e := range n.evidence {
		if evName(e) == name {
			return e
		}
	}
	return nil
}

func evName(e []byte) string { return fmt.Sprintf("fork-2-%08x-11111111.json", e[0]) }

func (n *node) Peers() []gossip.Peer { return n.peers }

func (n *node) RootAt(e uint64) (membership.Hash, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if e == 0 || e > uint64(len(n.roots)) {
		return membership.Hash{}, false
	}
	return n.roots[e-1], true
}

func (n *node) Extend(_ context.Context, entries []*membership.SignedUpdate, _ string) (int, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, u := range entries {
		if _, err := n.chain.Apply(u, membership.Options{History: true}); err != nil {
			return i, err
		}
		n.log = append(n.log, u)
		n.roots = append(n.roots, n.chain.State().Root())
	}
	return len(entries), nil
}

func (n *node) BeginCatchUp() (gossip.CatchUp, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return &testCatchUp{n: n, pre: n.chain.State()}, nil
}

// testCatchUp verifies each batch as it arrives, against the state the
// entries before it lead to, as ledger.Extension does.
type testCatchUp struct {
	n     *node
	pre   *membership.State
	fresh []*membership.SignedUpdate
}

func (c *testCatchUp) Add(_ uint64, entries []*membership.SignedUpdate) error {
	for _, u := range entries {
		res, err := membership.Evaluate(c.pre, u, membership.Options{History: true})
		if err != nil {
			return err
		}
		c.pre = res.Post
		c.fresh = append(c.fresh, u)
	}
	return nil
}

func (c *testCatchUp) Commit(ctx context.Context, from string) (int, error) {
	return c.n.Extend(ctx, c.fresh, from)
}

func (n *node) Conflict(_ context.Context, u *membership.SignedUpdate, _ string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.conflicts = append(n.conflicts, u)
	return nil
}

func (n *node) AddEvidence(_ context.Context, data []byte, _ string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.evidence = append(n.evidence, data)
	return nil
}

func (n *node) epoch() uint64 {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.chain.State().Epoch()
}

// mesh is a set of in-process nodes, each served on its own loopback
// listener; dial maps a node's mesh address to its listener.
type mesh struct {
	mu    sync.Mutex
	addrs map[netip.Addr]string
	srvs  []*gossip.Server
}

func newMesh(t testing.TB) *mesh {
	m := &mesh{addrs: map[netip.Addr]string{}}
	t.Cleanup(func() {
		for _, s := range m.srvs {
			s.Close()
		}
	})
	return m
}

func (m *mesh) serve(t testing.TB, n *node) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := gossip.NewServer(n, nil)
	go s.Serve(ln)
	m.mu.Lock()
	m.addrs[n.addr] = ln.Addr().String()
	m.srvs = append(m.srvs, s)
	m.mu.Unlock()
}

func (m *mesh) dial(ctx context.Context, a netip.Addr) (net.Conn, error) {
	m.mu.Lock()
	target, ok := m.addrs[a]
	m.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("no route to %s", a)
	}
	var d net.Dialer
	return d.DialContext(ctx, "tcp", target)
}

func addrOf(i int) netip.Addr { return netip.AddrFrom4([4]byte{100, 64, byte(i >> 8), byte(i)}) }

// TestCatchUpFromAPeer: a node behind another fetches what it lacks (in
// batches, more than MaxBatch entries) and applies it; a node at the
// same head fetches nothing.
func TestCatchUpFromAPeer(t *testing.T) {
	nw := membershiptest.New(t, 2)
	behind := newNode(t, "b", addrOf(2), nw.Log)
	for i := range gossip.MaxBatch + 10 {
		u := nw.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(membershiptest.NodeID(100+i), 100+i)})
		nw.MustApply(t, nw.Sign(t, u, "alice", "bob"))
	}
	ahead := newNode(t, "a", addrOf(1), nw.Log)
	m := newMesh(t)
	m.serve(t, ahead)
	m.serve(t, behind)
	behind.peers = []gossip.Peer{{ID: "a", Addr: ahead.addr}}
	s := gossip.NewSyncer(behind, gossip.NewClient(m.dial, nil), nil)
	s.Round(context.Background())
	if behind.epoch() != ahead.epoch() {
		t.Fatalf("behind at %d, ahead at %d: %+v", behind.epoch(), ahead.epoch(), s.Status())
	}
	st := s.Status()
	if st.Applied != uint64(gossip.MaxBatch+10) || st.Behind || st.Newest == nil || st.Newest.Peer != "a" || st.Failures != 0 {
		t.Fatalf("status %+v", st)
	}
	s.Round(context.Background()) // nothing new
	if st := s.Status(); st.Applied != uint64(gossip.MaxBatch+10) || st.Failures != 0 {
		t.Fatalf("second round: %+v", st)
	}
}

// TestConflictingPeerIsOffered: a peer whose entry differs from the
// node's at the same epoch (ahead, level or behind) is offered to the
// node as a possible fork, and nothing is applied.
func TestConflictingPeerIsOffered(t *testing.T) {
	for _, extra := range []int{0, 1, 2} {
		t.Run(fmt.Sprintf("peer %d ahead", extra), func(t *testing.T) {
			nw := membershiptest.New(t, 2)
			other := membershiptest.New(t, 2)
			other.Log, other.Chain = nil, membership.NewChain("test")
			for _, u := range nw.Log {
				other.MustApply(t, u)
			}
			x := nw.Sign(t, nw.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: membershiptest.NodeID(0)}), "alice", "bob")
			y := other.Sign(t, other.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: membershiptest.NodeID(1)}), "alice", "bob")
			nw.MustApply(t, x)
			other.MustApply(t, y)
			for i := range extra {
				u := other.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(membershiptest.NodeID(50+i), 50+i)})
				other.MustApply(t, other.Sign(t, u, "alice", "bob"))
			}
			me := newNode(t, "me", addrOf(1), nw.Log)
			peer := newNode(t, "p", addrOf(2), other.Log)
			m := newMesh(t)
			m.serve(t, peer)
			me.peers = []gossip.Peer{{ID: "p", Addr: peer.addr}}
			gossip.NewSyncer(me, gossip.NewClient(m.dial, nil), nil).Round(context.Background())
			if len(me.conflicts) != 1 || !bytes.Equal(me.conflicts[0].BodyBytes(), y.BodyBytes()) {
				t.Fatalf("conflicts offered: %d", len(me.conflicts))
			}
			if me.epoch() != 2 {
				t.Fatalf("epoch %d: something was applied", me.epoch())
			}
		})
	}
}

// TestEvidenceIsFetched: a peer that holds evidence the node does not is
// asked for it, and the node is handed it.
func TestEvidenceIsFetched(t *testing.T) {
	nw := membershiptest.New(t, 2)
	me := newNode(t, "me", addrOf(1), nw.Log)
	peer := newNode(t, "p", addrOf(2), nw.Log)
	peer.evidence = [][]byte{[]byte(`{"rustynet_evidence":1}`)}
	m := newMesh(t)
	m.serve(t, peer)
	me.peers = []gossip.Peer{{ID: "p", Addr: peer.addr}}
	gossip.NewSyncer(me, gossip.NewClient(m.dial, nil), nil).Round(context.Background())
	if len(me.evidence) != 1 || string(me.evidence[0]) != `{"rustynet_evidence":1}` {
		t.Fatalf("evidence handed over: %q", me.evidence)
	}
}

// TestServerRefusesMalformedRequests: anything but the three GETs, and
// requests beyond the bounds, are refused without reaching the source.
func TestServerRefusesMalformedRequests(t *testing.T) {
	nw := membershiptest.New(t, 2)
	n := newNode(t, "n", addrOf(1), nw.Log)
	m := newMesh(t)
	m.serve(t, n)
	base := "http://" + m.addrs[n.addr]
	for _, tc := range []struct {
		method, path string
		body         string
		header       string
		want         int
	}{
		{"GET", "/v1/head", "", "", 200},
		{"GET", "/v1/log?from=1", "", "", 200},
		{"GET", "/v1/evidence?name=fork-2-00000000-11111111.json", "", "", 404},
		{"GET", "/v1/evidence", "", "", 400},
		{"GET", "/v1/evidence?name=../../etc/passwd", "", "", 400},
		{"POST", "/v1/head", "x", "", 405},
		{"PUT", "/v1/log?from=1", "", "", 405},
		{"GET", "/v1/log", "", "", 400},
		{"GET", "/v1/log?from=0", "", "", 400},
		{"GET", "/v1/log?from=-1", "", "", 400},
		{"GET", "/v1/log?from=1&from=2", "", "", 400},
		{"GET", "/v1/log?from=99999999999999999999", "", "", 400},
		{"GET", "/v1/other", "", "", 404},
		{"GET", "/v1/head", "", strings.Repeat("x", 16<<10), 431},
	} {
		t.Run(tc.method+" "+tc.path, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, base+tc.path, strings.NewReader(tc.body))
			if tc.header != "" {
				req.Header.Set("X-Big", tc.header)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d, want %d", resp.StatusCode, tc.want)
			}
		})
	}
}

// TestServerIsRateLimited: a burst beyond Burst requests gets 503s.
func TestServerIsRateLimited(t *testing.T) {
	nw := membershiptest.New(t, 1)
	n := newNode(t, "n", addrOf(1), nw.Log)
	m := newMesh(t)
	m.serve(t, n)
	busy := 0
	for range gossip.Burst + 50 {
		resp, err := http.Get("http://" + m.addrs[n.addr] + "/v1/head")
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusServiceUnavailable {
			busy++
		}
	}
	if busy == 0 {
		t.Fatal("no request was refused beyond the burst")
	}
}

// TestClientRefusesLyingPeers: a peer answering with wrong epochs, a
// malformed head or oversized data is an error, and nothing is applied.
func TestClientRefusesLyingPeers(t *testing.T) {
	nw := membershiptest.New(t, 1)
	log := nw.Log
	for _, tc := range []struct {
		name    string
		handler http.HandlerFunc
	}{
		{"malformed head", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte(`{"epoch":"x"}`)) }},
		{"head with unknown fields", func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`{"network_id":"test","epoch":9,"state_root":"` + strings.Repeat("a", 64) + `","last_update":"` + strings.Repeat("a", 64) + `","x":1}`))
		}},
		{"oversized head", func(w http.ResponseWriter, r *http.Request) {
			w.Write(bytes.Repeat([]byte(" "), gossip.MaxHeadBytes+10))
		}},
		{"entries of the wrong epochs", func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/v1/head" {
				w.Write([]byte(`{"network_id":"test","epoch":9,"state_root":"` + strings.Repeat("a", 64) + `","last_update":"` + strings.Repeat("a", 64) + `"}`))
				return
			}
			w.Write(membership.EncodeLog(log)) // epoch 1, asked for 1 … fine; then again
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ln, err := net2Listen(t)
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: tc.handler}
			go srv.Serve(ln)
			defer srv.Close()
			me := newNode(t, "me", addrOf(1), log)
			me.peers = []gossip.Peer{{ID: "liar", Addr: addrOf(9)}}
			dial := func(ctx context.Context, _ netip.Addr) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "tcp", ln.Addr().String())
			}
			s := gossip.NewSyncer(me, gossip.NewClient(dial, nil), nil)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			s.Round(ctx)
			if st := s.Status(); st.Failures != 1 || st.Applied != 0 || me.epoch() != 1 {
				t.Fatalf("status %+v, epoch %d", st, me.epoch())
			}
		})
	}
}

func net2Listen(*testing.T) (net.Listener, error) { return net.Listen("tcp", "127.0.0.1:0") }

func FuzzParseHead(f *testing.F) {
	f.Add([]byte(`{"network_id":"test","epoch":3,"state_root":"` + strings.Repeat("a", 64) + `","last_update":"` + strings.Repeat("b", 64) + `"}`))
	f.Add([]byte(`{"network_id":"test","epoch":3,"state_root":"` + strings.Repeat("a", 64) + `","last_update":"` + strings.Repeat("b", 64) + `","evidence":"fork-3-aaaaaaaa-bbbbbbbb.json"}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := gossip.ParseHead(data)
		if err != nil {
			return
		}
		if h.Epoch == 0 || len(h.StateRoot) != 64 || h.NetworkID == "" {
			t.Fatalf("accepted an invalid head %+v", h)
		}
	})
}

// TestJunkEntriesStopAtTheFirstBatch: a peer claiming a far head and
// serving entries no quorum signed costs one batch: the first is verified
// as it arrives and refused, and nothing more is fetched or kept.
func TestJunkEntriesStopAtTheFirstBatch(t *testing.T) {
	nw := membershiptest.New(t, 1)
	me := newNode(t, "me", addrOf(1), nw.Log)
	// Entries of the right epochs, chained, signed by one approver of two.
	liar := membershiptest.New(t, 1)
	liar.Log, liar.Chain = nil, membership.NewChain("test")
	for _, u := range nw.Log {
		liar.MustApply(t, u)
	}
	var junk []*membership.SignedUpdate
	for i := range gossip.MaxBatch {
		u := liar.Sign(t, liar.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(membershiptest.NodeID(10+i), 10+i)}), "alice", "bob")
		liar.MustApply(t, u)
		bad := *u
		bad.Signatures = bad.Signatures[:1]
		junk = append(junk, &bad)
	}
	var logRequests atomic.Int32
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/head" {
			w.Write([]byte(`{"network_id":"test","epoch":1000000,"state_root":"` + strings.Repeat("a", 64) + `","last_update":"` + strings.Repeat("a", 64) + `"}`))
			return
		}
		logRequests.Add(1)
		from, _ := strconv.Atoi(r.URL.Query().Get("from"))
		if from == 1 {
			w.Write(membership.EncodeLog(append([]*membership.SignedUpdate{nw.Log[0]}, junk[:gossip.MaxBatch-1]...)))
			return
		}
		w.Write(membership.EncodeLog(junk))
	})}
	go srv.Serve(ln)
	defer srv.Close()
	me.peers = []gossip.Peer{{ID: "liar", Addr: addrOf(9)}}
	dial := func(ctx context.Context, _ netip.Addr) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "tcp", ln.Addr().String())
	}
	s := gossip.NewSyncer(me, gossip.NewClient(dial, nil), nil)
	s.Round(context.Background())
	if st := s.Status(); st.Failures != 1 || st.Applied != 0 || me.epoch() != 1 || logRequests.Load() != 1 {
		t.Fatalf("status %+v, epoch %d, %d log requests (want 1)", st, me.epoch(), logRequests.Load())
	}
}
