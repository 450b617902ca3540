package ledger

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

// readBatchSizes are the read sizes the re-verification tests run at: one
// entry per read, a batch boundary inside the 8-entry test logs, and the
// production size.
var readBatchSizes = []int{1, 3, 512}

// withReadBatch sets readBatch for the rest of the test.
func withReadBatch(t *testing.T, n int) {
	t.Helper()
	old := readBatch
	readBatch = n
	t.Cleanup(func() { readBatch = old })
}

// failingReads is a store whose ReadLog fails for every entry from index
// failFrom on, after calling onRead (if set) for each read.
type failingReads struct {
	hostapi.Store
	failFrom uint64
	err      error
	onRead   func()
}

func (s *failingReads) ReadLog(ctx context.Context, from uint64, max int) ([]hostapi.LogEntry, error) {
	if s.onRead != nil {
		s.onRead()
	}
	if from+uint64(max) > s.failFrom {
		return nil, s.err
	}
	return s.Store.ReadLog(ctx, from, max)
}

func TestReadAheadDeliversEveryEntryInOrder(t *testing.T) {
	for _, size := range readBatchSizes {
		f, _, _ := populated(t, "file")
		s := openStore(t, "file", f.dir)
		withReadBatch(t, size)
		batches, stop := readAhead(context.Background(), s, 8, nil)
		next := uint64(1)
		for b := range batches {
			if b.err != nil {
				t.Fatalf("batch %d: %v", size, b.err)
			}
			if len(b.entries) > size {
				t.Errorf("batch of %d entries, want at most %d", len(b.entries), size)
			}
			<-b.ready
			for i, se := range b.entries {
				if se.Index != next || b.decoded[i].err != nil || b.decoded[i].e.Update.Body.Epoch != next {
					t.Fatalf("read batches of %d: got entry %d (decode error %v), want %d", size, se.Index, b.decoded[i].err, next)
				}
				next++
			}
		}
		stop()
		if next != 9 {
			t.Errorf("read batches of %d: got entries up to %d, want 8", size, next-1)
		}
	}
}

// blockingReads is a store whose ReadLog serves the first read and then
// blocks until its context ends, recording when a blocked read returns.
type blockingReads struct {
	hostapi.Store
	reads    atomic.Int32
	returned atomic.Bool
}

func (s *blockingReads) ReadLog(ctx context.Context, from uint64, max int) ([]hostapi.LogEntry, error) {
	if s.reads.Add(1) == 1 {
		return s.Store.ReadLog(ctx, from, max)
	}
	<-ctx.Done()
	s.returned.Store(true)
	return nil, ctx.Err()
}

func TestReadAheadStopWaitsForItsReads(t *testing.T) {
	f, _, _ := populated(t, "file")
	s := &blockingReads{Store: openStore(t, "file", f.dir)}
	withReadBatch(t, 1)
	batches, stop := readAhead(context.Background(), s, 8, nil)
	b := <-batches
	<-b.ready
	for s.reads.Load() < 2 {
		runtime.Gosched() // until the read-ahead blocks in its second read
	}
	stop()
	if !s.returned.Load() {
		t.Error("stop returned while the read-ahead was still inside the store")
	}
}

func TestOpenReportsStoreReadFailures(t *testing.T) {
	transport := errors.New("plugin connection lost")
	f, _, _ := populated(t, "file")
	withReadBatch(t, 2)

	// A transport failure past the first batches is an error of Open, not
	// an integrity verdict: nothing says the log is damaged.
	s := &failingReads{Store: openStore(t, "file", f.dir), failFrom: 5, err: transport}
	if _, err := Open(context.Background(), f.config(s)); !errors.Is(err, transport) || !strings.Contains(err.Error(), "at 5") {
		t.Errorf("Open with reads failing from entry 5: %v, want %v at entry 5", err, transport)
	}

	// Open gives up when its context ends mid-way.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reads := 0
	s = &failingReads{Store: s.Store, failFrom: 100, onRead: func() {
		if reads++; reads == 2 {
			cancel()
		}
	}}
	// The store may see the cancellation first and say so in its own
	// words; either way Open fails rather than trusting a partial log.
	if l, err := Open(ctx, f.config(s)); err == nil || l != nil {
		t.Errorf("Open with its context cancelled mid-way: ledger %v, error %v; want an error", l, err)
	}
}
