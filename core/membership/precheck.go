package membership

import (
	"runtime"
	"sync"
	"sync/atomic"
)

// precheckAhead prechecks the signatures of log's updates on every core, in
// log order, so that a caller applying them in order overlaps the reducer
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
	var next atomic.Int64 // the next index a worker takes
	var quit atomic.Bool
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(log)) {
		wg.Go(func() {
			for !quit.Load() {
				i := int(next.Add(1) - 1)
				if i >= len(log) {
					return
				}
				select {
				case <-done[i]: // a repeated update
				default:
					log[i].PrecheckSignatures()
					close(done[i])
				}
			}
		})
	}
	return func(i int) { <-done[i] }, func() { quit.Store(true); wg.Wait() }
}
