// Package storebench measures hostapi.Store implementations in process,
// with the same benchmarks for each, so that the built-in stores compare:
// Append of entries of two sizes, and PutSnapshot. Every op includes the
// store's full durability work (fsyncs). What a store must do is the
// conformance suite's business (conformance.RunStore).
package storebench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

// Factory returns a new, unopened store.
type Factory func() hostapi.Store

// Append measures Append of 1 KiB and 64 KiB entries to a log that grows
// by one entry per iteration.
func Append(b *testing.B, newStore Factory) {
	for _, size := range []int{1 << 10, 64 << 10} {
		b.Run(fmt.Sprintf("%dKiB", size>>10), func(b *testing.B) {
			s := open(b, newStore)
			data := random(size)
			b.SetBytes(int64(size))
			for i := uint64(1); b.Loop(); i++ {
				if err := s.Append(b.Context(), hostapi.LogEntry{Index: i, Data: data}); err != nil {
					b.Fatalf("Append(%d): %v", i, err)
				}
			}
		})
	}
}

// PutSnapshot measures PutSnapshot of a 1 MiB snapshot.
func PutSnapshot(b *testing.B, newStore Factory) {
	const size = 1 << 20
	s := open(b, newStore)
	data := random(size)
	b.SetBytes(size)
	for i := uint64(1); b.Loop(); i++ {
		if err := s.PutSnapshot(b.Context(), hostapi.Snapshot{Index: i, Data: data}); err != nil {
			b.Fatalf("PutSnapshot(%d): %v", i, err)
		}
	}
}

// open opens a new store in a fresh directory, closed at cleanup.
func open(b *testing.B, newStore Factory) hostapi.Store {
	b.Helper()
	s := newStore()
	if err := s.Open(b.Context(), hostapi.StoreConfig{Dir: filepath.Join(b.TempDir(), "store")}); err != nil {
		b.Fatalf("Open: %v", err)
	}
	b.Cleanup(func() { s.Close(context.Background()) })
	return s
}

// random returns n bytes that do not compress.
func random(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{'b', 'e', 'n', 'c', 'h'}).Read(b)
	return b
}
