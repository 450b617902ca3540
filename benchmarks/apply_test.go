package benchmarks

import (
	"context"
	"crypto/ed25519"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/ledger"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

// memberCounts are the network sizes of SPEC §10's apply target.
var memberCounts = []int{1000, 10000}

// BenchmarkApply measures SPEC §10's apply latency up to the store: one
// one-member change (add_node, signed by 3 of 5 approvers) applied with
// ledger.Apply to a node's ledger whose store is a real plugin process —
// verification of the 3 signatures and the new state root, the durable
// append through gRPC and the high-water mark written and synced. The
// ledger's snapshot (every 1,024 entries by default, written in the
// background) falls outside a 200-iteration run. Each op is one update,
// chained from the previous one; every iteration's latency is recorded.
func BenchmarkApply(b *testing.B) {
	for _, kind := range StoreKinds {
		for _, members := range memberCounts {
			b.Run(fmt.Sprintf("store=%s/members=%d", kind, members), func(b *testing.B) {
				benchApply(b, kind, members)
			})
		}
	}
}

func benchApply(b *testing.B, kind string, members int) {
	ctx := context.Background()
	dir := b.TempDir()
	net := Network(b, members)
	l, err := ledger.Open(ctx, ledger.Config{
		Store: OpenStore(b, kind, filepath.Join(dir, "state")), StateDir: filepath.Join(dir, "state"),
		HighWaterPath: filepath.Join(dir, "highwater.json"), Now: Now,
	})
	if err != nil {
		b.Fatal(err)
	}
	if _, err := l.Apply(ctx, net.Log[0]); err != nil {
		b.Fatalf("applying the %d-member genesis: %v", members, err)
	}
	// Every update is made before the clock starts: each one chains from
	// the previous, so the network's own chain applies them as it goes.
	updates := make([]*membership.SignedUpdate, b.N)
	for i := range updates {
		updates[i] = AddNode(b, net, members+i)
		net.MustApply(b, updates[i])
	}
	lat := make(Latencies, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if _, err := l.Apply(ctx, updates[i]); err != nil {
			b.Fatalf("apply %d: %v", i, err)
		}
		lat.Since(start)
	}
	b.StopTimer()
	lat.Report(b)
	if st := l.Status(); st.Head != uint64(b.N)+1 || st.Root != net.Chain.State().Root() {
		b.Fatalf("ledger head %d root %s, want %d and %s", st.Head, st.Root, b.N+1, net.Chain.State().Root())
	}
}

// BenchmarkFloor measures, in the same run, what one apply is made of and
// cannot be faster than: the Ed25519 verification of its 3 signatures, its
// in-process evaluation (signatures plus the new state root at each
// network size), one gRPC round trip to a store plugin, and a bare durable
// Append of an entry of the same size through the plugin. The high-water
// mark's write, the other synced write of an apply, is BenchmarkMarkWrite
// in core/ledger.
func BenchmarkFloor(b *testing.B) {
	b.Run("ed25519-verify-x3", benchVerify3)
	for _, members := range memberCounts {
		b.Run(fmt.Sprintf("evaluate/members=%d", members), func(b *testing.B) { benchEvaluate(b, members) })
	}
	for _, kind := range StoreKinds {
		b.Run("roundtrip/store="+kind, func(b *testing.B) { benchRoundTrip(b, kind) })
		b.Run("append/store="+kind, func(b *testing.B) { benchAppend(b, kind) })
	}
}

// benchVerify3 verifies three Ed25519 signatures over a body the size of a
// one-member change's.
func benchVerify3(b *testing.B) {
	net := Network(b, memberCounts[0])
	u := AddNode(b, net, memberCounts[0])
	msg := u.BodyBytes()
	type signed struct {
		pub ed25519.PublicKey
		sig []byte
	}
	var sigs []signed
	for _, id := range Signers {
		a := net.Approvers[id]
		sigs = append(sigs, signed{a.Private.Public().(ed25519.PublicKey), ed25519.Sign(a.Private, msg)})
	}
	lat := make(Latencies, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		for _, s := range sigs {
			if !ed25519.Verify(s.pub, msg, s.sig) {
				b.Fatal("signature does not verify")
			}
		}
		lat.Since(start)
	}
	b.StopTimer()
	lat.Report(b)
}

// benchEvaluate evaluates the one-member change in-process: what Apply
// does before it touches the store.
func benchEvaluate(b *testing.B, members int) {
	net := Network(b, members)
	u := AddNode(b, net, members)
	opt := net.Options()
	lat := make(Latencies, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := net.Chain.Evaluate(u, opt); err != nil {
			b.Fatal(err)
		}
		lat.Since(start)
	}
	b.StopTimer()
	lat.Report(b)
}

// benchRoundTrip calls Head on a store plugin: one gRPC round trip.
func benchRoundTrip(b *testing.B, kind string) {
	ctx := context.Background()
	st := OpenStore(b, kind, filepath.Join(b.TempDir(), "state"))
	lat := make(Latencies, 0, b.N)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		if _, err := st.Head(ctx); err != nil {
			b.Fatal(err)
		}
		lat.Since(start)
	}
	b.StopTimer()
	lat.Report(b)
}

// benchAppend appends entries the size of a one-member change's ledger
// entry to a store plugin: the store's durable write plus the round trip.
func benchAppend(b *testing.B, kind string) {
	ctx := context.Background()
	st := OpenStore(b, kind, filepath.Join(b.TempDir(), "state"))
	net := Network(b, memberCounts[0])
	data := AddNode(b, net, memberCounts[0]).Encode()
	lat := make(Latencies, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		if err := st.Append(ctx, hostapi.LogEntry{Index: uint64(i) + 1, Data: data}); err != nil {
			b.Fatal(err)
		}
		lat.Since(start)
	}
	b.StopTimer()
	lat.Report(b)
	b.ReportMetric(float64(len(data)), "entry-bytes")
}
