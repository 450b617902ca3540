package ledger

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	storefile "github.com/rustynet/rustynet/plugins/store-file"
)

var heapProfile = flag.String("ledger.heapprofile", "", "BenchmarkLedgerMemory writes a heap profile of the ledger holding the largest log here")

// BenchmarkLedgerMemory measures the heap a ledger holds per applied update:
// it applies N updates (alternately adding and removing one node, so that
// the membership state itself does not grow) through a file store and
// reports the heap in use after GC, before and after, divided by N. The
// store's data is on disk (run with TMPDIR on a tmpfs to keep its
// fdatasyncs cheap); what remains is the ledger's and the chain's. One
// iteration is one whole run: use -benchtime=1x.
func BenchmarkLedgerMemory(b *testing.B) {
	for _, n := range []int{10_000, 100_000} {
		b.Run(fmt.Sprintf("updates=%d", n), func(b *testing.B) {
			for range b.N {
				perUpdate, total := ledgerHeap(b, n)
				b.ReportMetric(perUpdate, "heap-B/update")
				b.ReportMetric(total/1024, "heap-KiB")
			}
		})
	}
}

// ledgerHeap applies n updates to a fresh ledger and returns the heap in
// use after GC that they added, per update, and the heap in use in all.
func ledgerHeap(b *testing.B, n int) (perUpdate, total float64) {
	b.Helper()
	var before, after uint64
	l := grownLedger(b, n, func() { before = heapInUse() }, func() { after = heapInUse() })
	if *heapProfile != "" {
		f, err := os.Create(*heapProfile)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.WriteHeapProfile(f); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
	runtime.KeepAlive(l)
	return float64(after-before) / float64(n), float64(after)
}

// grownLedger returns a ledger (file store, closed at cleanup) holding a
// genesis, 100 updates, then n more (alternately adding and removing one
// node); start and stop are called around those n, and the timer runs
// only between them.
func grownLedger(b *testing.B, n int, start, stop func()) *Ledger {
	b.Helper()
	ctx := context.Background()
	net := membershiptest.New(b, 3)
	root := b.TempDir()
	dir := filepath.Join(root, "state")
	s := storefile.New(nil)
	if err := s.Open(ctx, storeConfig(dir)); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close(ctx) })
	l, err := Open(ctx, Config{
		Store:         s,
		StateDir:      dir,
		HighWaterPath: filepath.Join(root, "hw", "mark.json"),
		GenesisRoot:   net.Log[0].Body.NewStateRoot,
		Now:           func() time.Time { return net.Now },
		SnapshotEvery: 1 << 40, // no snapshot: its encoding is not the log's cost
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := l.Apply(ctx, net.Log[0]); err != nil {
		b.Fatal(err)
	}
	apply := func(op membership.Operation) {
		u, err := membership.NewUpdate(l.State(), op, net.Proposal())
		if err != nil {
			b.Fatal(err)
		}
		net.Sign(b, u, "alice", "bob")
		if _, err := l.Apply(ctx, u); err != nil {
			b.Fatalf("apply %s at %d: %v", op.Type, u.Body.Epoch, err)
		}
	}
	node := membershiptest.Node("memory-probe", 9999)
	step := func(i int) {
		if i%2 == 0 {
			apply(membership.Operation{Type: membership.OpAddNode, Node: node})
		} else {
			apply(membership.Operation{Type: membership.OpRemoveNode, NodeID: node.ID})
		}
	}
	const warm = 100 // the node added once, maps and buffers sized
	for i := range warm {
		step(i)
	}
	start()
	b.ResetTimer()
	for i := warm; i < warm+n; i++ {
		step(i)
	}
	b.StopTimer()
	stop()
	if got := l.Status().Head; got != uint64(1+warm+n) {
		b.Fatalf("head %d, want %d", got, 1+warm+n)
	}
	b.Cleanup(func() { l.Close(ctx) })
	return l
}

// BenchmarkLedgerReadBack measures what the window costs its readers on a
// ledger of 10,101 entries: a gossip batch (gossip.MaxBatch, 256 entries)
// of the newest entries (in the window) and of the oldest (read back from
// the store and checked), and Extend of the whole log as a feed hands it
// over (every entry below the window compared without a read).
func BenchmarkLedgerReadBack(b *testing.B) {
	l := grownLedger(b, 10_000, func() {}, func() {})
	head := l.Status().Head
	log := mustLog(b, l)
	if uint64(len(log)) != head {
		b.Fatalf("Log: %d entries of %d", len(log), head)
	}
	batch := func(from uint64) func(b *testing.B) {
		return func(b *testing.B) {
			for range b.N {
				if got := l.Entries(from, 256); len(got) != 256 {
					b.Fatalf("Entries(%d, 256): %d", from, len(got))
				}
			}
		}
	}
	b.Run("entries=256/window", batch(head-255))
	b.Run("entries=256/store", batch(1))
	b.Run("extend=whole-log", func(b *testing.B) {
		for range b.N {
			if n, err := l.Extend(context.Background(), log); n != 0 || err != nil {
				b.Fatalf("Extend of the log itself: %d, %v", n, err)
			}
		}
	})
}

// heapInUse returns the heap in use after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}
