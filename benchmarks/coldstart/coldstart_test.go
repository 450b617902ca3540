package coldstart

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rustynet/rustynet/benchmarks"
	"github.com/rustynet/rustynet/core/ledger"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/internal/testbin"
)

// genesisMembers is the size of the network the log governs.
const genesisMembers = 1000

// updatesFlag lists the lengths of the logs re-verified at start: by
// default SPEC §10's 10,000 (a genesis and 9,999 updates, each signed by 3
// of 5 approvers); benchmarks/report passes others (-args -updates
// 1000,10000,100000) to plot cold start against log length.
var updatesFlag = flag.String("updates", "10000", "comma-separated log lengths (updates, genesis included) to cold-start from")

// logCacheFlag names a directory that keeps the generated logs between
// runs (log-N.json), so that repeated runs — before and after a change,
// interleaved — skip generating them (about a minute per 10,000 updates).
// A log found there is used as it is; its genesis root is the pin.
var logCacheFlag = flag.String("logcache", "", "directory keeping the generated logs between runs (default: none, generate them anew)")

// logLengths parses updatesFlag.
func logLengths(b *testing.B) []int {
	b.Helper()
	var ns []int
	for _, f := range strings.Split(*updatesFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 2 {
			b.Fatalf("-updates %q: %q is not a log length of at least 2", *updatesFlag, f)
		}
		ns = append(ns, n)
	}
	return ns
}

func TestMain(m *testing.M) {
	code := m.Run()
	if cache.dir != "" {
		os.RemoveAll(cache.dir)
	}
	testbin.Cleanup()
	os.Exit(code)
}

// cache holds what is built once per run, per log length: the log (as a
// portable log file in dir) and, per store, a state directory holding it.
var cache struct {
	sync.Mutex
	dir  string
	logs map[int]*cachedLogs
}

// cachedLogs is the cache of one log length.
type cachedLogs struct {
	log    string // the portable log file
	pin    membership.Hash
	stores map[string]string // store kind → state directory
}

// BenchmarkColdStart measures a node's start with a log of each length of
// -updates (10,000 updates by default; the sub-benchmark names it): the
// store plugin launched (`rustynet plugin store-KIND`) and its directory
// opened, then ledger.Open reading every entry back through gRPC and
// re-verifying all of it — hash links, every signature, every state root,
// the snapshot and the high-water mark. One op is one whole cold start;
// stopping the plugin afterwards is not timed.
func BenchmarkColdStart(b *testing.B) {
	// Shorter logs first: a run cut short still has them.
	for _, logUpdates := range logLengths(b) {
		for _, kind := range benchmarks.StoreKinds {
			b.Run(fmt.Sprintf("store=%s/updates=%d", kind, logUpdates), func(b *testing.B) {
				benchColdStart(b, kind, logUpdates)
			})
		}
	}
}

func benchColdStart(b *testing.B, kind string, logUpdates int) {
	ctx := context.Background()
	bin := testbin.Rustynet(b)
	dir, hw, pin := stateDir(b, kind, logUpdates)
	var launch, verify, cpu time.Duration
	var total benchmarks.Latencies
	b.ResetTimer()
	for range b.N {
		start, cpu0 := time.Now(), cpuTime(b)
		inst, err := benchmarks.LaunchStore(ctx, bin, kind, dir)
		if err != nil {
			b.Fatal(err)
		}
		opened := time.Now()
		l, err := ledger.Open(ctx, ledger.Config{Store: inst.Plugin(), StateDir: dir, HighWaterPath: hw, GenesisRoot: pin})
		done := time.Now()
		cpu += cpuTime(b) - cpu0
		b.StopTimer()
		launch, verify = launch+opened.Sub(start), verify+done.Sub(opened)
		total = append(total, done.Sub(start))
		inst.Kill()
		if err != nil {
			b.Fatal(err)
		}
		if st := l.Status(); st.Restricted || st.Head != uint64(logUpdates) {
			b.Fatalf("cold start: head %d restricted %v (%s), want %d verified entries", st.Head, st.Restricted, st.Reason, logUpdates)
		}
		b.StartTimer()
	}
	b.StopTimer()
	n := float64(b.N) * float64(time.Millisecond)
	b.ReportMetric(float64(launch+verify)/n, "cold-start-ms")
	b.ReportMetric(float64(launch)/n, "launch-ms")
	b.ReportMetric(float64(verify)/n, "verify-ms")
	b.ReportMetric(float64(total.Percentile(0.5))/float64(time.Millisecond), "cold-start-p50-ms")
	b.ReportMetric(float64(total.Percentile(1))/float64(time.Millisecond), "cold-start-max-ms")
	if cpuMeasured {
		b.ReportMetric(float64(cpu)/n, "cpu-ms")
	}
}

// BenchmarkColdStartFloor re-verifies the same log in-process, without a
// store: membership.Replay, the signatures and state roots alone. The
// difference to BenchmarkColdStart is the plugin launch, reading every
// entry through gRPC, the entries' hash links and the snapshot check.
func BenchmarkColdStartFloor(b *testing.B) {
	for _, logUpdates := range logLengths(b) {
		b.Run(fmt.Sprintf("replay/updates=%d", logUpdates), func(b *testing.B) { benchReplay(b, logUpdates) })
	}
}

func benchReplay(b *testing.B, logUpdates int) {
	data, pin := cachedLogFile(b, logUpdates)
	var took benchmarks.Latencies
	var cpu time.Duration
	b.ResetTimer()
	for range b.N {
		// Each op replays a freshly parsed log: Replay remembers the
		// signature verdicts it prechecks on the updates themselves.
		b.StopTimer()
		log, err := membership.ParseLog(data, nil)
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start, cpu0 := time.Now(), cpuTime(b)
		if _, applied, err := membership.Replay(log, pin, nil); err != nil || applied != logUpdates {
			b.Fatalf("replay: %d of %d entries: %v", applied, logUpdates, err)
		}
		took.Since(start)
		cpu += cpuTime(b) - cpu0
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(time.Millisecond), "replay-ms")
	b.ReportMetric(float64(took.Percentile(0.5))/float64(time.Millisecond), "replay-p50-ms")
	b.ReportMetric(float64(took.Percentile(1))/float64(time.Millisecond), "replay-max-ms")
	if cpuMeasured {
		b.ReportMetric(float64(cpu)/float64(b.N)/float64(time.Millisecond), "cpu-ms")
	}
}

// cachedLogFile returns the cached portable log file of logUpdates
// updates and its genesis root.
func cachedLogFile(b *testing.B, logUpdates int) ([]byte, membership.Hash) {
	b.Helper()
	cache.Lock()
	defer cache.Unlock()
	c := cache.logs[logUpdates]
	if c == nil {
		c = buildLog(b, logUpdates)
	}
	data, err := os.ReadFile(c.log)
	if err != nil {
		b.Fatal(err)
	}
	return data, c.pin
}

// cachedLog returns the cached log of logUpdates updates, parsed back
// from its file, and its genesis root.
func cachedLog(b *testing.B, logUpdates int) ([]*membership.SignedUpdate, membership.Hash) {
	b.Helper()
	data, pin := cachedLogFile(b, logUpdates)
	log, err := membership.ParseLog(data, nil)
	if err != nil {
		b.Fatal(err)
	}
	return log, pin
}

// stateDir returns a state directory of store kind holding the cached log,
// its high-water mark and the pinned genesis root, building them on first
// use: the log is written into the store through its plugin by
// ledger.Restore.
func stateDir(b *testing.B, kind string, logUpdates int) (dir, hw string, pin membership.Hash) {
	b.Helper()
	log, pin := cachedLog(b, logUpdates)
	cache.Lock()
	defer cache.Unlock()
	c := cache.logs[logUpdates]
	name := fmt.Sprintf("%s-%d", kind, logUpdates)
	dir, hw = filepath.Join(cache.dir, name), filepath.Join(cache.dir, name+"-highwater.json")
	if c.stores[kind] != "" {
		return dir, hw, pin
	}
	ctx := context.Background()
	inst, err := benchmarks.LaunchStore(ctx, testbin.Rustynet(b), kind, dir)
	if err != nil {
		b.Fatal(err)
	}
	defer inst.Kill()
	if _, err := ledger.Restore(ctx, ledger.Config{Store: inst.Plugin(), StateDir: dir, HighWaterPath: hw, GenesisRoot: pin}, log); err != nil {
		b.Fatalf("writing the log into the %s store: %v", kind, err)
	}
	if err := inst.Plugin().Close(ctx); err != nil {
		b.Fatal(err)
	}
	c.stores[kind] = dir
	return dir, hw, pin
}

// buildLog generates the log of logUpdates updates once: a 1,000-member
// 3-of-5 network and logUpdates-1 one-member changes cycling through
// add_node, update_node, revoke_node and remove_node of a fresh node, each
// signed by 3 approvers; it is cached as a portable log file (and kept in
// -logcache, or taken from there). cache must be locked.
func buildLog(b *testing.B, logUpdates int) *cachedLogs {
	b.Helper()
	if cache.dir == "" {
		dir, err := os.MkdirTemp("", "rustynet-coldstart-")
		if err != nil {
			b.Fatal(err)
		}
		cache.dir, cache.logs = dir, map[int]*cachedLogs{}
	}
	c := &cachedLogs{stores: map[string]string{}}
	c.log = filepath.Join(cache.dir, fmt.Sprintf("log-%d.json", logUpdates))
	kept := filepath.Join(*logCacheFlag, filepath.Base(c.log))
	if *logCacheFlag != "" {
		if data, err := os.ReadFile(kept); err == nil {
			log, err := membership.ParseLog(data, nil)
			if err != nil || len(log) != logUpdates {
				b.Fatalf("%s: %d updates, %v; want %d (remove it to generate it anew)", kept, len(log), err, logUpdates)
			}
			if err := os.WriteFile(c.log, data, 0o600); err != nil {
				b.Fatal(err)
			}
			c.pin = log[0].Body.NewStateRoot
			cache.logs[logUpdates] = c
			return c
		}
	}
	net := benchmarks.Network(b, genesisMembers)
	for k := range logUpdates - 1 {
		id, i := fmt.Sprintf("c%05d", k/4), genesisMembers+k/4%50000
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
		net.MustApply(b, net.Sign(b, net.Propose(b, op), benchmarks.Signers...))
	}
	if len(net.Log) != logUpdates {
		b.Fatalf("generated %d updates, want %d", len(net.Log), logUpdates)
	}
	c.pin = net.Log[0].Body.NewStateRoot
	data := membership.EncodeLog(net.Log)
	if err := os.WriteFile(c.log, data, 0o600); err != nil {
		b.Fatal(err)
	}
	if *logCacheFlag != "" {
		if err := os.MkdirAll(*logCacheFlag, 0o700); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(kept, data, 0o600); err != nil {
			b.Fatal(err)
		}
	}
	cache.logs[logUpdates] = c
	return c
}
