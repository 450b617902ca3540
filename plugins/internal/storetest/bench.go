package storetest

import (
	"context"
	"fmt"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

// BenchAppend measures Append of 1 KiB and 64 KiB entries to a log that
// grows by one entry per iteration. Every op includes the store's full
// durability work (fsyncs).
func BenchAppend(b *testing.B, newStore Factory) {
	for _, size := range []int{1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			s := openBench(b, newStore)
			data := sized(uint64(size), size)
			b.SetBytes(int64(size))
			for i := uint64(1); b.Loop(); i++ {
				if err := s.Append(b.Context(), hostapi.LogEntry{Index: i, Data: data}); err != nil {
					b.Fatalf("Append(%d): %v", i, err)
				}
			}
		})
	}
}

// BenchPutSnapshot measures PutSnapshot of a 1 MiB snapshot.
func BenchPutSnapshot(b *testing.B, newStore Factory) {
	const size = 1 << 20
	s := openBench(b, newStore)
	data := sized(size, size)
	b.SetBytes(size)
	for i := uint64(1); b.Loop(); i++ {
		if err := s.PutSnapshot(b.Context(), hostapi.Snapshot{Index: i, Data: data}); err != nil {
			b.Fatalf("PutSnapshot(%d): %v", i, err)
		}
	}
}

func openBench(b *testing.B, newStore Factory) hostapi.Store {
	b.Helper()
	s := newStore()
	if err := s.Open(b.Context(), hostapi.StoreConfig{Dir: newDir(b)}); err != nil {
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() { s.Close(context.Background()) })
	return s
}
