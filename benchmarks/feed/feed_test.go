package feed

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rustynet/rustynet/benchmarks"
	"github.com/rustynet/rustynet/core/feed"
	"github.com/rustynet/rustynet/core/feed/feedtest"
	"github.com/rustynet/rustynet/core/ledger"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/hostapi/hostapitest"
)

// members is the size of the benchmark network's genesis; its log then
// cycles add, update, revoke and remove of a fresh node, each update
// signed by 3 of 5 approvers, as the cold-start benchmark's does.
const members = 100

// logs caches the generated networks by length: generating and signing
// 100,000 updates is setup, not what is measured.
var logs = struct {
	sync.Mutex
	m map[int]*membershiptest.Network
}{m: map[int]*membershiptest.Network{}}

// network returns a network of n updates (shared: do not grow it).
func network(b *testing.B, n int) *membershiptest.Network {
	b.Helper()
	logs.Lock()
	defer logs.Unlock()
	if net, ok := logs.m[n]; ok {
		return net
	}
	start := time.Now()
	net := benchmarks.Network(b, members)
	grow(b, net, n-1)
	b.Logf("generated %d updates in %s", n, time.Since(start).Round(time.Millisecond))
	logs.m[n] = net
	return net
}

// grow applies n one-member changes to net.
func grow(b *testing.B, net *membershiptest.Network, n int) {
	b.Helper()
	for range n {
		k := len(net.Log) - 1
		id, i := fmt.Sprintf("c%06d", k/4), members+k/4%50000
		var op membership.Operation
		switch k % 4 {
		case 0:
			op = membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(id, i)}
		case 1:
			m := membershiptest.Node(id, i)
			op = membership.Operation{Type: membership.OpUpdateNode, NodeID: id, Addresses: m.Addresses, Endpoints: m.Endpoints, Tags: []string{"router"}, Routes: m.Routes}
		case 2:
			op = membership.Operation{Type: membership.OpRevokeNode, NodeID: id}
		case 3:
			op = membership.Operation{Type: membership.OpRemoveNode, NodeID: id}
		}
		net.MustApply(b, net.Sign(b, net.Propose(b, op), benchmarks.Signers...))
	}
}

// published publishes log into a temporary directory with the default
// layout.
func published(b *testing.B, log []*membership.SignedUpdate) string {
	b.Helper()
	dir := b.TempDir()
	if _, err := feed.Publish(dir, log, feed.PublishOptions{}); err != nil {
		b.Fatal(err)
	}
	return dir
}

// newLedger returns a ledger in an in-memory store holding log's first
// have entries, its genesis pinned, at the benchmark clock.
func newLedger(b *testing.B, log []*membership.SignedUpdate, have int) *ledger.Ledger {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	s := hostapitest.NewStore()
	if err := s.Open(ctx, hostapi.StoreConfig{Dir: filepath.Join(dir, "state")}); err != nil {
		b.Fatal(err)
	}
	l, err := ledger.Open(ctx, ledger.Config{Store: s, StateDir: filepath.Join(dir, "state"), HighWaterPath: filepath.Join(dir, "mark.json"),
		GenesisRoot: log[0].Body.NewStateRoot, Now: benchmarks.Now})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close(ctx); s.Close(ctx) })
	x, err := l.BeginExtension()
	if err == nil {
		err = x.Add(1, log[:have])
	}
	if err == nil {
		_, err = x.Commit(ctx)
	}
	if err != nil {
		b.Fatal(err)
	}
	return l
}

// serve serves dir with feed.Handler on loopback, counting its wire.
func serve(b *testing.B, dir string) *feedtest.Server {
	b.Helper()
	srv := feedtest.NewServer(feed.Handler(dir, feed.HandlerOptions{}))
	b.Cleanup(srv.Close)
	return srv
}

// percentiles reports the p50 and p95 of took, in µs.
func percentiles(b *testing.B, took []time.Duration) {
	slices.Sort(took)
	at := func(p float64) float64 {
		return float64(took[min(len(took)-1, int(p*float64(len(took))))]) / float64(time.Microsecond)
	}
	b.ReportMetric(at(0.50), "p50-µs")
	b.ReportMetric(at(0.95), "p95-µs")
}

// BenchmarkPollAtHead measures one poll of a node at the feed's head (a
// 10,000-update log): the conditional request for the head, answered 304
// by feed.Handler over loopback HTTP, and the node's conclusion that
// nothing is new.
func BenchmarkPollAtHead(b *testing.B) {
	net := network(b, 10000)
	srv := serve(b, published(b, net.Log))
	l := newLedger(b, net.Log, len(net.Log))
	src, err := feed.New(srv.URL+"/", feed.Options{Client: srv.Client()})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := src.Pull(context.Background(), l, nil); err != nil { // learns the head's ETag
		b.Fatal(err)
	}
	srv.Reset()
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		res, err := src.Pull(context.Background(), l, nil)
		took = append(took, time.Since(start))
		if err != nil || !res.NotModified {
			b.Fatalf("poll at the head: %+v, %v", res, err)
		}
	}
	b.StopTimer()
	c := srv.Counts()
	b.ReportMetric(float64(c.Requests)/float64(b.N), "requests/op")
	b.ReportMetric(float64(c.Bytes)/float64(b.N), "wire-bytes/op")
	percentiles(b, took)
}

// BenchmarkCatchUp measures a node behind the head of a 10,000-update
// feed by N updates: one op is a pull by a new source (nothing
// remembered) that fetches the head and the segments holding the N
// entries, checks them and verifies every entry against the ledger, up to
// the commit (not included: the ledger stays N behind for the next op).
func BenchmarkCatchUp(b *testing.B) {
	net := network(b, 10000)
	dir := published(b, net.Log)
	entry := float64(len(membership.EncodeLog(net.Log))) / float64(len(net.Log))
	for _, behind := range []int{1, 10, 100, 1000} {
		b.Run(fmt.Sprintf("behind=%d", behind), func(b *testing.B) {
			srv := serve(b, dir)
			l := newLedger(b, net.Log, len(net.Log)-behind)
			srv.Reset()
			var requests int
			var bytes int64
			took := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				src, err := feed.New(srv.URL+"/", feed.Options{Client: srv.Client()})
				if err != nil {
					b.Fatal(err)
				}
				start := time.Now()
				res, err := src.Pull(context.Background(), l, nil)
				took = append(took, time.Since(start))
				if err != nil || res.Extension == nil || res.Extension.Len() != behind {
					b.Fatalf("pull %d behind: %+v, %v", behind, res, err)
				}
				requests, bytes = requests+res.Requests, bytes+res.Bytes
			}
			b.StopTimer()
			b.ReportMetric(float64(requests)/float64(b.N), "requests/op")
			b.ReportMetric(float64(bytes)/float64(b.N), "bytes/op")
			b.ReportMetric(float64(bytes)/float64(b.N)/float64(behind), "bytes/update")
			b.ReportMetric(float64(bytes)/float64(b.N)/float64(behind)/entry, "x-entry-size")
			b.ReportMetric(float64(srv.Counts().Bytes)/float64(b.N), "wire-bytes/op")
			percentiles(b, took)
		})
	}
}

// Fleet simulation (BenchmarkFleet).
const (
	fleetNodes    = 10000
	fleetInterval = 5 * time.Second
	fleetWorkers  = 64
)

// BenchmarkFleet simulates 10,000 nodes following one feed (a
// 10,000-update log), each polling every 5 s, phases spread evenly, for
// one 5 s round per op, directly from the origin (feed.Handler) or through
// a shared cache in front of it (feedtest.Cache, as a CDN). A node polls
// as the feed client does at its head — a GET of head.json with
// If-None-Match — and, when the head changed, fetches the newest segment
// it names (the one holding the new entry), as the client does one update
// behind. With update=1 one update is published as each round begins;
// with update=0 nothing changes (every poll is answered 304). Reported:
// the origin's requests per second and bytes per round, and what the
// nodes asked.
func BenchmarkFleet(b *testing.B) {
	net := network(b, 10000)
	log := slices.Clone(net.Log[:len(net.Log)-20])
	dir := published(b, log)
	for _, c := range []struct {
		mode   string
		update bool
	}{{"direct", false}, {"cache", false}, {"direct", true}, {"cache", true}} {
		mode := c.mode
		b.Run(fmt.Sprintf("%s/update=%d", mode, map[bool]int{false: 0, true: 1}[c.update]), func(b *testing.B) {
			if _, err := feed.Publish(dir, log, feed.PublishOptions{Force: true}); err != nil {
				b.Fatal(err)
			}
			origin := serve(b, dir)
			front := origin.Server
			if mode == "cache" {
				u, _ := url.Parse(origin.URL)
				front = httptest.NewServer(feedtest.NewCache(u, origin.Client()))
				defer front.Close()
			}
			tr := &http.Transport{MaxIdleConnsPerHost: fleetWorkers, MaxIdleConns: fleetWorkers}
			client := &http.Client{Transport: tr}
			defer tr.CloseIdleConnections()
			etags := make([]string, fleetNodes)
			var asked, fetchedSegments atomic.Int64
			poll := func(i int) {
				req, _ := http.NewRequest("GET", front.URL+"/"+feed.HeadFile, nil)
				if etags[i] != "" {
					req.Header.Set("If-None-Match", etags[i])
				}
				resp, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				asked.Add(1)
				if resp.StatusCode != http.StatusOK {
					return
				}
				etags[i] = resp.Header.Get("ETag")
				h, err := feed.ParseHead(body)
				if err != nil {
					b.Error(err)
					return
				}
				seg, err := client.Get(front.URL + "/" + h.Segments[len(h.Segments)-1].Path())
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, seg.Body)
				seg.Body.Close()
				fetchedSegments.Add(1)
			}
			for i := range fleetNodes { // every node at the head to begin with
				poll(i)
			}
			origin.Reset()
			asked.Store(0)
			fetchedSegments.Store(0)
			b.ResetTimer()
			start := time.Now()
			for n := range b.N {
				if c.update {
					if len(log) == len(net.Log) {
						b.Fatalf("more than %d rounds: use -benchtime Nx", n)
					}
					log = append(log, net.Log[len(log)])
					if _, err := feed.Publish(dir, log, feed.PublishOptions{}); err != nil {
						b.Fatal(err)
					}
				}
				round(time.Duration(n)*fleetInterval, start, poll)
			}
			elapsed := time.Since(start)
			b.StopTimer()
			oc := origin.Counts()
			b.ReportMetric(float64(oc.Requests)/elapsed.Seconds(), "origin-req/s")
			b.ReportMetric(float64(oc.Bytes)/float64(b.N), "origin-bytes/round")
			b.ReportMetric(float64(asked.Load())/elapsed.Seconds(), "node-polls/s")
			b.ReportMetric(float64(fetchedSegments.Load())/float64(b.N), "segments-fetched/round")
		})
	}
}

// round runs one poll of every node, node i at offset i/fleetNodes of the
// interval after base, on fleetWorkers workers.
func round(base time.Duration, start time.Time, poll func(i int)) {
	work := make(chan int, fleetWorkers)
	var wg sync.WaitGroup
	for range fleetWorkers {
		wg.Go(func() {
			for i := range work {
				poll(i)
			}
		})
	}
	for i := range fleetNodes {
		at := start.Add(base + time.Duration(i)*fleetInterval/fleetNodes)
		time.Sleep(time.Until(at)) // the simulated nodes' own schedule
		work <- i
	}
	close(work)
	wg.Wait()
}

// BenchmarkCatchUp100k measures a fresh node — its ledger holding only
// the pinned genesis — catching up a 100,000-update feed served over
// loopback HTTP: the pull (head, every segment, each checked and every
// entry verified as it arrives) and the commit into an in-memory store
// (a real store adds its appends: see ../README.md). One op is the whole
// catch-up. Reported: its time and the pull's and commit's parts, the
// requests and bytes transferred against the log's size, and the heap
// it needed at most and kept.
func BenchmarkCatchUp100k(b *testing.B) {
	net := network(b, 100000)
	logBytes := len(membership.EncodeLog(net.Log))
	srv := serve(b, published(b, net.Log))
	var pullTook, commitTook time.Duration
	var res feed.Result
	var peak, kept uint64
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		l := newLedger(b, net.Log, 1)
		src, err := feed.New(srv.URL+"/", feed.Options{Client: srv.Client()})
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		base := heapBytes()
		stopSampling := sampleHeap(&peak)
		b.StartTimer()
		start := time.Now()
		res, err = src.Pull(context.Background(), l, nil)
		if err != nil || res.Extension == nil {
			b.Fatalf("catching up: %+v, %v", res, err)
		}
		pulled := time.Now()
		applied, err := res.Extension.Commit(context.Background())
		if err != nil || len(applied) != len(net.Log)-1 {
			b.Fatalf("commit: %d, %v", len(applied), err)
		}
		pullTook += pulled.Sub(start)
		commitTook += time.Since(pulled)
		b.StopTimer()
		stopSampling()
		res.Extension = nil
		runtime.GC()
		kept = heapBytes() - base
		peak -= base
	}
	b.ReportMetric((pullTook+commitTook).Seconds()/float64(b.N), "catch-up-s")
	b.ReportMetric(pullTook.Seconds()/float64(b.N), "pull-verify-s")
	b.ReportMetric(commitTook.Seconds()/float64(b.N), "commit-s")
	b.ReportMetric(float64(res.Requests), "requests")
	b.ReportMetric(float64(res.Bytes)/float64(logBytes), "bytes-x-log")
	b.ReportMetric(float64(logBytes)/(1<<20), "log-MiB")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(kept)/(1<<20), "kept-heap-MiB")
}

// heapBytes returns the bytes of live and unswept heap objects.
func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// sampleHeap records the highest heapBytes in *peak, every 20 ms, until
// the returned function is called.
func sampleHeap(peak *uint64) func() {
	*peak = 0
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			*peak = max(*peak, heapBytes())
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }
}
