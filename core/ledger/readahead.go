package ledger

import (
	"context"
	"errors"
	"runtime"
	"sync"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

// readAheadDepth is how many batches may be read and decoded ahead of the
// one being replayed.
const readAheadDepth = 2

// batch is one read of the stored log, decoded ahead of its replay.
type batch struct {
	entries []hostapi.LogEntry
	err     error // the read's error; entries is then nil

	ready   chan struct{} // closed once decoded is filled
	decoded []decodedEntry
}

// decodedEntry is one stored entry decoded ahead of its replay.
type decodedEntry struct {
	e   *entry
	err error
}

// readAhead reads the stored log from entry 1 through head in batches of
// readBatch and decodes each batch, prechecking its signatures on every
// core, while the caller replays the batches before it: re-verification's
// parallel half (signatures) overlaps its sequential half (the reducer in
// log order). Batches arrive in log order; a read that fails (or returns
// nothing) is the last batch sent. After a batch whose read reports
// hostapi.ErrCorrupt for a range, that range is re-read one entry at a
// time, so the batch before the damaged entry still arrives.
//
// The caller receives each batch, waits on its ready channel, and must
// call stop when done (also early): stop abandons the read-ahead and
// returns once no goroutine of it is left.
func readAhead(ctx context.Context, st hostapi.Store, head uint64, limits *membership.Limits) (batches <-chan *batch, stop func()) {
	size := readBatch
	ctx, cancel := context.WithCancel(ctx)
	out := make(chan *batch, readAheadDepth)
	var decoders sync.WaitGroup
	go func() {
		defer close(out)
		for next := uint64(1); next <= head; {
			entries, err := st.ReadLog(ctx, next, size)
			if errors.Is(err, hostapi.ErrCorrupt) {
				entries, err = st.ReadLog(ctx, next, 1)
			}
			b := &batch{entries: entries, err: err, ready: make(chan struct{})}
			if err != nil || len(entries) == 0 {
				b.entries = nil
				close(b.ready)
			} else {
				decoders.Go(func() {
					b.decoded = decodeBatch(entries, limits)
					close(b.ready)
				})
			}
			select {
			case out <- b:
			case <-ctx.Done():
				return
			}
			if b.entries == nil {
				return
			}
			next += uint64(len(entries))
		}
	}()
	return out, func() {
		cancel()
		for range out {
		}
		decoders.Wait()
	}
}

// decodeBatch decodes stored entries and prechecks their signatures on
// every core, a run of precheckRun consecutive entries at a time, whose
// signatures are verified together (membership.PrecheckBatch: the same
// verdicts as one by one, at a fraction of the cost).
func decodeBatch(batch []hostapi.LogEntry, limits *membership.Limits) []decodedEntry {
	out := make([]decodedEntry, len(batch))
	work := make(chan int)
	var wg sync.WaitGroup
	runs := (len(batch) + precheckRun - 1) / precheckRun
	for range min(runtime.GOMAXPROCS(0), runs) {
		wg.Go(func() {
			us := make([]*membership.SignedUpdate, 0, precheckRun)
			for start := range work {
				us = us[:0]
				for i := start; i < min(start+precheckRun, len(batch)); i++ {
					e, err := decodeEntry(batch[i].Data, limits)
					if err == nil {
						us = append(us, e.Update)
					}
					out[i] = decodedEntry{e, err}
				}
				membership.PrecheckBatch(us)
			}
		})
	}
	for start := 0; start < len(batch); start += precheckRun {
		work <- start
	}
	close(work)
	wg.Wait()
	return out
}

// precheckRun is how many consecutive entries one core decodes and
// prechecks together.
const precheckRun = 64
