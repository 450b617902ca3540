package daemon

import (
	"context"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/internal/poll/polltest"
)

// TestStatusSharedWithCallerGone checks that concurrent Status calls share
// one gathering, and that a caller whose context has ended, if its
// gathering is the shared one, does not cost the others their peers.
func TestStatusSharedWithCallerGone(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.wantPeers("b", "c", "d")
	gone, cancel := context.WithCancel(context.Background())
	cancel()
	if st, err := h.d.Status(gone); err == nil && len(st.Peers) != 0 {
		t.Fatalf("a status gathered under an ended context has %d peers; the test needs it to have none", len(st.Peers))
	}

	type result struct {
		st  controlapi.Status
		err error
	}
	// Which of two waiting callers runs the shared gathering is up to the
	// scheduler: enough rounds make the ended one run it.
	for round := range 20 {
		release := h.d.statusReads.Hold()
		ended, alive := make(chan result, 1), make(chan result, 1)
		go func() {
			st, err := h.d.Status(gone)
			ended <- result{st, err}
		}()
		polltest.Until(t, "the first caller waiting", 10*time.Second, time.Millisecond, func() bool { return h.d.statusReads.Waiting() == 1 })
		go func() {
			st, err := h.d.Status(context.Background())
			alive <- result{st, err}
		}()
		polltest.Until(t, "both callers waiting", 10*time.Second, time.Millisecond, func() bool { return h.d.statusReads.Waiting() == 2 })
		release()
		r := <-alive
		if r.err != nil || len(r.st.Peers) != 3 {
			t.Fatalf("round %d: the caller whose context lives got %d peers, error %v; want 3, nil", round, len(r.st.Peers), r.err)
		}
		<-ended
	}
}
