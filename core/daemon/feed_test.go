package daemon

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/feed"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/internal/poll"
)

// stallingFeed serves a feed that promises a log, sends one byte and then
// nothing, until the test ends or the client goes away.
func stallingFeed(t *testing.T) *httptest.Server {
	t.Helper()
	end := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "1000000")
		w.Write([]byte("["))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-end:
		}
	}))
	t.Cleanup(func() { close(end); srv.Close() })
	return srv
}

// TestStalledFeedIsReportedAndHoldsNothing gives the node a feed that
// holds its fetch (the fetch's own bounds are out of reach here): status
// says the feed is stalled and the node degraded while updates still apply
// and status still answers, and Close does not wait for the fetch.
func TestStalledFeedIsReportedAndHoldsNothing(t *testing.T) {
	h := newHarness(t)
	srv := stallingFeed(t)
	src, err := feed.New(srv.URL+"/log.json", feed.Options{Client: srv.Client(), Timeout: time.Hour, StallTimeout: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	h.opts.Feed, h.opts.FeedInterval, h.opts.FeedStallAfter = src, time.Millisecond, 20*time.Millisecond
	d := h.start()
	var st controlapi.Status
	err = poll.Until(30*time.Second, 5*time.Millisecond, func() bool {
		st = h.status()
		return st.Feed.State == controlapi.FeedStalled && !st.Feed.FetchingSince.IsZero()
	})
	if err != nil {
		t.Fatalf("status never showed the feed stalled: %v; feed %+v", err, st.Feed)
	}
	if st.Health.State != controlapi.HealthDegraded || !strings.Contains(strings.Join(st.Health.Reasons, "\n"), "feed") {
		t.Errorf("health = %+v, want degraded because of the feed", st.Health)
	}

	h.applyOK(membership.Operation{Type: membership.OpRevokeNode, NodeID: "c"}, "alice", "bob")
	h.wantPeers("b", "d")

	closed := make(chan struct{})
	go func() { d.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(30 * time.Second):
		t.Fatal("Close waited for the held fetch")
	}
}

// TestFeedStallsAreCutAndCounted lets the feed source cut the stalled
// fetches: each is counted, its error kept, and the feed retried.
func TestFeedStallsAreCutAndCounted(t *testing.T) {
	h := newHarness(t)
	srv := stallingFeed(t)
	src, err := feed.New(srv.URL+"/log.json", feed.Options{Client: srv.Client(), StallTimeout: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	h.opts.Feed, h.opts.FeedInterval, h.opts.FeedStallAfter = src, time.Millisecond, time.Hour
	h.start()
	var st controlapi.Status
	err = poll.Until(30*time.Second, 5*time.Millisecond, func() bool {
		st = h.status()
		return st.Feed.Stalls >= 2
	})
	if err != nil {
		t.Fatalf("stalled fetches not counted: %v; feed %+v", err, st.Feed)
	}
	if f := st.Feed; f.State != controlapi.FeedFailing || !strings.Contains(f.LastError, "stalled") || f.LastFetch.IsZero() || !f.LastSuccess.IsZero() {
		t.Errorf("feed = %+v, want failing after stalls, never a success", f)
	}
}

// withFeed gives the node a feed from a local directory, polled only when
// a test calls pollFeed, and returns what writes the log it serves.
func (h *harness) withFeed() func(log []*membership.SignedUpdate) {
	h.t.Helper()
	dir := h.t.TempDir()
	src, err := feed.New(dir, feed.Options{})
	if err != nil {
		h.t.Fatal(err)
	}
	h.opts.Feed, h.opts.FeedInterval = src, time.Hour
	return func(log []*membership.SignedUpdate) {
		h.t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "log.json"), membership.EncodeLog(log), 0o600); err != nil {
			h.t.Fatal(err)
		}
	}
}
