package storetest

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// envCrashIterations sets how many times each crash test kills a writer.
const envCrashIterations = "RUSTYNET_CRASH_ITERATIONS"

const defaultCrashIterations = 20

// maxKillDelay bounds the random time a writer runs after opening the store
// before it is killed. maxEarlyKillDelay bounds the time from its start in
// the runs that may kill it while it starts or opens the store.
const (
	maxAppendKillDelay   = 40 * time.Millisecond
	maxSnapshotKillDelay = 150 * time.Millisecond
	maxEarlyKillDelay    = 300 * time.Millisecond
)

func crashIterations(t *testing.T) int {
	s := os.Getenv(envCrashIterations)
	if s == "" && testing.Short() {
		return 3
	}
	if s == "" {
		return defaultCrashIterations
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		t.Fatalf("%s=%q: want a positive integer", envCrashIterations, s)
	}
	return n
}

// crashRun is one writer child killed at a random moment.
type crashRun struct {
	lastAck uint64 // the highest index the child acknowledged, 0 if none
	ready   bool   // the child had opened the store
}

// killWriter starts a writer child in mode and SIGKILLs it at a random
// moment: usually a random delay after it opened the store, sometimes while
// it may still be opening it.
func (h *harness) killWriter(t *testing.T, mode, dir string, maxDelay time.Duration) crashRun {
	t.Helper()
	c := h.startChild(t, mode, dir)
	var run crashRun
	record := func(line string) {
		if n, ok := strings.CutPrefix(line, "ack "); ok {
			v, err := strconv.ParseUint(n, 10, 64)
			if err != nil {
				t.Fatalf("child printed %q", line)
			}
			run.lastAck = v
		}
		if strings.HasPrefix(line, "ready ") {
			run.ready = true
		}
	}
	var kill <-chan time.Time // nil until armed: a nil channel never fires
	if rand.IntN(5) == 0 {
		kill = time.After(rand.N(maxEarlyKillDelay))
	}
wait:
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				c.cmd.Wait()
				t.Fatalf("child exited before it was killed; stderr:\n%s", c.stderr.Bytes())
			}
			record(line)
			if run.ready && kill == nil {
				kill = time.After(rand.N(maxDelay))
			}
		case <-kill:
			break wait
		}
	}
	for _, line := range c.killAndDrain() {
		record(line)
	}
	return run
}

// testCrashAppend kills an appending writer at random moments and checks
// after each kill that every acknowledged entry is intact, that at most the
// one unacknowledged append in flight became visible, that it is whole, and
// that the log is contiguous.
func testCrashAppend(t *testing.T, h *harness) {
	dir := newDir(t)
	h.populate(t, dir) // entries 1..3 are small(i), not crashEntry(i)
	const base = 3
	var prev uint64 = base
	inFlight := 0 // kills after which the unacknowledged append was visible
	n := crashIterations(t)
	for iter := range n {
		run := h.killWriter(t, childAppend, dir, maxAppendKillDelay)
		s := h.open(t, dir)
		got := head(t, s)
		low := max(prev, run.lastAck)
		if got < low || got > low+1 {
			t.Fatalf("iteration %d: Head after kill: got %d, want %d or %d (acknowledged %d)", iter, got, low, low+1, run.lastAck)
		}
		if got == low+1 {
			inFlight++
		}
		checkLog(t, s, max(prev, base+1), got, crashEntry)
		closeStore(t, s)
		prev = got
	}
	s := h.open(t, dir)
	checkLog(t, s, 1, base, small)
	checkLog(t, s, base+1, head(t, s), crashEntry)
	t.Logf("%d kills, %d entries, the unacknowledged append visible after %d kills", n, head(t, s), inFlight)
}

// testCrashSnapshot kills a snapshot writer at random moments and checks
// after each kill that the snapshot is exactly the last acknowledged one or
// the one in flight.
func testCrashSnapshot(t *testing.T, h *harness) {
	dir := newDir(t)
	var prev uint64
	inFlight := 0 // kills after which the unacknowledged snapshot was visible
	n := crashIterations(t)
	for iter := range n {
		run := h.killWriter(t, childSnapshot, dir, maxSnapshotKillDelay)
		s := h.open(t, dir)
		low := max(prev, run.lastAck)
		snap, err := s.GetSnapshot(t.Context())
		switch {
		case hostapi.CodeOf(err) == hostapi.CodeNotFound && low == 0:
			// Killed before the first snapshot became durable.
		case err != nil:
			t.Fatalf("iteration %d: GetSnapshot after kill: got error %v, want snapshot %d or %d", iter, err, low, low+1)
		case snap.Index != low && snap.Index != low+1:
			t.Fatalf("iteration %d: GetSnapshot after kill: got snapshot %d, want %d or %d", iter, snap.Index, low, low+1)
		default:
			checkSnapshot(t, s, hostapi.Snapshot{Index: snap.Index, Data: crashSnapshot(snap.Index)})
			if snap.Index == low+1 {
				inFlight++
			}
			prev = snap.Index
		}
		closeStore(t, s)
	}
	t.Logf("%d kills, last snapshot %d, the unacknowledged snapshot visible after %d kills", n, prev, inFlight)
}
