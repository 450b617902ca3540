package coldstart

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rustynet/rustynet/benchmarks"
	"github.com/rustynet/rustynet/core/ledger"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/internal/testbin"
)

const (
	// logUpdates is the length of the log re-verified at start (SPEC §10):
	// a genesis and 9,999 updates, each signed by 3 of 5 approvers.
	logUpdates = 10000
	// genesisMembers is the size of the network the log governs.
	genesisMembers = 1000
)

func TestMain(m *testing.M) {
	code := m.Run()
	if cache.dir != "" {
		os.RemoveAll(cache.dir)
	}
	testbin.Cleanup()
	os.Exit(code)
}

// cache holds what is built once per run: the log (as a portable log file
// in dir) and, per store, a state directory holding it.
var cache struct {
	sync.Mutex
	dir    string
	log    string // the portable log file
	pin    membership.Hash
	stores map[string]string // store kind → state directory
}

// BenchmarkColdStart measures a node's start with a 10,000-update log: the
// store plugin launched (`rustynet plugin store-KIND`) and its directory
// opened, then ledger.Open reading every entry back through gRPC and
// re-verifying all of it — hash links, every signature, every state root,
// the snapshot and the high-water mark. One op is one whole cold start;
// stopping the plugin afterwards is not timed.
func BenchmarkColdStart(b *testing.B) {
	for _, kind := range benchmarks.StoreKinds {
		b.Run(fmt.Sprintf("store=%s/updates=%d", kind, logUpdates), func(b *testing.B) {
			ctx := context.Background()
			bin := testbin.Rustynet(b)
			dir, hw, pin := stateDir(b, kind)
			var launch, verify time.Duration
			var total benchmarks.Latencies
			b.ResetTimer()
			for range b.N {
				start := time.Now()
				inst, err := benchmarks.LaunchStore(ctx, bin, kind, dir)
				if err != nil {
					b.Fatal(err)
				}
				opened := time.Now()
				l, err := ledger.Open(ctx, ledger.Config{Store: inst.Plugin(), StateDir: dir, HighWaterPath: hw, GenesisRoot: pin})
				done := time.Now()
				b.StopTimer()
				launch, verify = launch+opened.Sub(start), verify+done.Sub(opened)
				total = append(total, done.Sub(start))
				inst.Kill()
				if err != nil {
					b.Fatal(err)
				}
				if st := l.Status(); st.Restricted || st.Head != logUpdates {
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
		})
	}
}

// BenchmarkColdStartFloor re-verifies the same log in-process, without a
// store: membership.Replay, the signatures and state roots alone. The
// difference to BenchmarkColdStart is the plugin launch, reading 10,000
// entries through gRPC, the entries' hash links and the snapshot check.
func BenchmarkColdStartFloor(b *testing.B) {
	b.Run(fmt.Sprintf("replay/updates=%d", logUpdates), func(b *testing.B) {
		data, pin := cachedLogFile(b)
		var took benchmarks.Latencies
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
			start := time.Now()
			if _, applied, err := membership.Replay(log, pin, nil); err != nil || applied != logUpdates {
				b.Fatalf("replay: %d of %d entries: %v", applied, logUpdates, err)
			}
			took.Since(start)
		}
		b.StopTimer()
		b.ReportMetric(float64(b.Elapsed())/float64(b.N)/float64(time.Millisecond), "replay-ms")
		b.ReportMetric(float64(took.Percentile(0.5))/float64(time.Millisecond), "replay-p50-ms")
		b.ReportMetric(float64(took.Percentile(1))/float64(time.Millisecond), "replay-max-ms")
	})
}

// cachedLogFile returns the cached portable log file's bytes and its
// genesis root.
func cachedLogFile(b *testing.B) ([]byte, membership.Hash) {
	b.Helper()
	cache.Lock()
	defer cache.Unlock()
	if cache.log == "" {
		buildLog(b)
	}
	data, err := os.ReadFile(cache.log)
	if err != nil {
		b.Fatal(err)
	}
	return data, cache.pin
}

// cachedLog returns the cached log, parsed back from its file, and its
// genesis root.
func cachedLog(b *testing.B) ([]*membership.SignedUpdate, membership.Hash) {
	b.Helper()
	data, pin := cachedLogFile(b)
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
func stateDir(b *testing.B, kind string) (dir, hw string, pin membership.Hash) {
	b.Helper()
	log, pin := cachedLog(b)
	cache.Lock()
	defer cache.Unlock()
	dir, hw = filepath.Join(cache.dir, kind), filepath.Join(cache.dir, kind+"-highwater.json")
	if cache.stores[kind] != "" {
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
	cache.stores[kind] = dir
	return dir, hw, pin
}

// buildLog generates the log once: a 1,000-member 3-of-5 network and
// 9,999 one-member changes cycling through add_node, update_node,
// revoke_node and remove_node of a fresh node, each signed by 3
// approvers; it is cached as a portable log file. cache must be locked.
func buildLog(b *testing.B) {
	b.Helper()
	dir, err := os.MkdirTemp("", "rustynet-coldstart-")
	if err != nil {
		b.Fatal(err)
	}
	cache.dir, cache.stores = dir, map[string]string{}
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
	cache.pin = net.Log[0].Body.NewStateRoot
	cache.log = filepath.Join(dir, "log.json")
	if err := os.WriteFile(cache.log, membership.EncodeLog(net.Log), 0o600); err != nil {
		b.Fatal(err)
	}
}
