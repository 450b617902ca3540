package membership

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// precheckAhead prechecks the signatures of log's updates on every core, in
// log order and in batches of precheckBatchSize entries, so that a caller applying them in order overlaps the reducer
// with signature verification. wait(i) returns once log[i] may be used:
// its precheck is done, or skipped because the same update appears earlier
// in log. stop abandons the rest and returns once no precheck is running;
// it must be called, and afterwards the caller owns every update again.
func precheckAhead(log []*SignedUpdate) (wait func(i int), stop func()) {
	done := make([]chan struct{}, len(log))
	first := make(map[*SignedUpdate]bool, len(log))
	for i, u := range log {
		done[i] = make(chan struct{})
		if first[u] {
			// Prechecking it again could race with the reducer using its
			// earlier occurrence; that precheck serves both.
			close(done[i])
			continue
		}
		first[u] = true
	}
	var next atomic.Int64 // the next batch a worker takes
	var quit atomic.Bool
	var wg sync.WaitGroup
	batches := (len(log) + precheckBatchSize - 1) / precheckBatchSize
	for range min(runtime.GOMAXPROCS(0), batches) {
		wg.Go(func() {
			us := make([]*SignedUpdate, 0, precheckBatchSize)
			for !quit.Load() {
				k := int(next.Add(1) - 1)
				if k >= batches {
					return
				}
				lo, hi := k*precheckBatchSize, min((k+1)*precheckBatchSize, len(log))
				us = us[:0]
				for i := lo; i < hi; i++ {
					select {
					case <-done[i]: // a repeated update
					default:
						us = append(us, log[i])
					}
				}
				PrecheckBatch(us)
				for i := lo; i < hi; i++ {
					select {
					case <-done[i]:
					default:
						close(done[i])
					}
				}
			}
		})
	}
	return func(i int) { <-done[i] }, func() { quit.Store(true); wg.Wait() }
}

// precheckBatchSize is how many consecutive log entries precheckAhead
// verifies the signatures of as one batch (precheckBatch): large enough
// that a batch costs well under half of one-at-a-time verification (its
// 192 signatures come from a few keys, whose terms verifyEd25519Batch
// sums), small enough that the reducer soon has work.
const precheckBatchSize = 64
