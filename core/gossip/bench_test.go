package gossip_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/gossip"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// benchNodes and benchInterval shape the simulated mesh: 100 in-process
// nodes over loopback TCP, each asking Fanout (3) random others every
// benchInterval (with the Syncer's jitter). At 200 ms the 100 nodes make
// 1,500 requests/s on this machine's two cores, 15/s per node: within a
// server's rate limit (RequestsPerSecond).
const (
	benchNodes    = 100
	benchInterval = 200 * time.Millisecond
)

// BenchmarkConvergence measures how long a new update given to one node
// of a 100-node mesh takes to reach every node by the exchange of heads
// alone, and how long evidence held by one node takes to reach every
// node. Each iteration is one spread; metrics are percentiles over the
// iterations, in milliseconds and in rounds (time / benchInterval).
func BenchmarkConvergence(b *testing.B) {
	b.Run("update", func(b *testing.B) { benchSpread(b, false) })
	b.Run("evidence", func(b *testing.B) { benchSpread(b, true) })
}

func benchSpread(b *testing.B, evidence bool) {
	nw := membershiptest.New(b, 2)
	m := newMesh(b)
	nodes := make([]*node, benchNodes)
	for i := range nodes {
		nodes[i] = newNode(b, membershiptest.NodeID(i), addrOf(i+1), nw.Log)
		m.serve(b, nodes[i])
	}
	for i, n := range nodes {
		for j, o := range nodes {
			if i != j {
				n.peers = append(n.peers, gossip.Peer{ID: o.id, Addr: o.addr})
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	defer func() { cancel(); wg.Wait() }()
	for _, n := range nodes {
		s := gossip.NewSyncer(n, gossip.NewClient(m.dial, nil), nil)
		wg.Go(func() { s.Run(ctx, benchInterval) })
	}
	var times []time.Duration
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if evidence {
			data := []byte{byte(i)} // the test node takes any bytes as evidence
			nodes[0].mu.Lock()
			nodes[0].evidence = [][]byte{data}
			nodes[0].mu.Unlock()
			waitAll(b, nodes, func(n *node) bool { return len(n.evidence) > 0 && n.evidence[0][0] == byte(i) })
			for _, n := range nodes { // ready for the next spread
				n.mu.Lock()
				n.evidence = nil
				n.mu.Unlock()
			}
		} else {
			u := nw.Sign(b, nw.Propose(b, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(membershiptest.NodeID(1000+i), 1000+i)}), "alice", "bob")
			nw.MustApply(b, u)
			if _, err := nodes[0].Extend(ctx, []*membership.SignedUpdate{u}, "bench"); err != nil {
				b.Fatal(err)
			}
			want := nw.Chain.State().Epoch()
			waitAll(b, nodes, func(n *node) bool { return n.chain.State().Epoch() == want })
		}
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(times)
	pct := func(p float64) time.Duration { return times[min(len(times)-1, int(p*float64(len(times))))] }
	b.ReportMetric(float64(pct(0.5).Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(pct(0.95).Microseconds())/1000, "p95-ms")
	b.ReportMetric(float64(pct(0.5))/float64(benchInterval), "p50-rounds")
	b.ReportMetric(float64(pct(0.95))/float64(benchInterval), "p95-rounds")
}

// waitAll waits until done holds for every node.
func waitAll(b *testing.B, nodes []*node, done func(*node) bool) {
	deadline := time.Now().Add(time.Minute)
	for {
		all := true
		for _, n := range nodes {
			n.mu.Lock()
			ok := done(n)
			n.mu.Unlock()
			if !ok {
				all = false
				break
			}
		}
		if all {
			return
		}
		if time.Now().After(deadline) {
			b.Fatal("the mesh did not converge within a minute")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
