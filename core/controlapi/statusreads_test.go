//go:build unix

package controlapi

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"sync"
	"testing"
	"time"
)

// startServerOf is startServer returning the server, for tests that look
// inside it.
func startServerOf(t *testing.T, h Handler) (*Server, string) {
	t.Helper()
	path := testSocketPath(t)
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	return serveWith(t, l, h, allowAll, nil, Limits{}), path
}

// waitingFor waits until n status requests of detail wait for the next
// gathering.
func waitingFor(t *testing.T, srv *Server, detail PeerDetail, n int) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for srv.s.statusReads[detail].Waiting() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d status requests wait, want %d", srv.s.statusReads[detail].Waiting(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestStatusRequestsShareAGathering: status requests that arrive while a
// gathering runs share the next one (each gets a status gathered after it
// asked), so the daemon gathers and encodes twice for six requests.
func TestStatusRequestsShareAGathering(t *testing.T) {
	g := newGate()
	g.blockStatuses = true
	srv, path := startServerOf(t, g)
	t.Cleanup(g.open)
	const later = 5
	errs := make(chan error, 1+later)
	status := func() {
		_, err := dialClient(t, path).Status(ctxT(t))
		errs <- err
	}
	go status()
	<-g.entered // the first gathering runs
	for range later {
		go status()
	}
	waitingFor(t, srv, PeersAll, later)
	g.open()
	for range 1 + later {
		if err := <-errs; err != nil {
			t.Fatalf("status: %v", err)
		}
	}
	if n := len(g.entered); n != 1 {
		t.Errorf("the daemon gathered %d times for the %d later requests, want once", 1+n, later)
	}
	if peak := g.peak.Load(); peak != 1 {
		t.Errorf("%d gatherings ran at once, want 1", peak)
	}
}

// TestStatusGatheringCutShortIsRepeated: the request whose gathering the
// others wait for goes away part-way; the waiting request gets a status of
// a gathering of its own, not the cut one's error.
func TestStatusGatheringCutShortIsRepeated(t *testing.T) {
	g := newGate()
	g.blockStatuses = true
	srv, path := startServerOf(t, g)
	t.Cleanup(g.open)
	ctx, cancel := context.WithCancel(ctxT(t))
	var wg sync.WaitGroup
	wg.Go(func() {
		if _, err := dialClient(t, path).Status(ctx); err == nil {
			t.Error("the request that went away got a status")
		}
	})
	<-g.entered
	errs := make(chan error, 1)
	go func() {
		_, err := dialClient(t, path).Status(ctxT(t))
		errs <- err
	}()
	waitingFor(t, srv, PeersAll, 1)
	cancel() // the first request goes away: its gathering ends with its context
	wg.Wait()
	<-g.entered // the waiting request gathers again
	g.open()
	if err := <-errs; err != nil {
		t.Errorf("the waiting request: %v, want its own status", err)
	}
}

// TestStatusDocumentRefusesInvalidJSON: the status document is passed on
// undecoded, as it came or indented, but only if it is JSON: otherwise
// nothing is written.
func TestStatusDocumentRefusesInvalidJSON(t *testing.T) {
	for _, tc := range []struct {
		body, indent, want string
		ok                 bool
	}{
		{`{"node":{"id":"n1"}}` + "\n", "", `{"node":{"id":"n1"}}` + "\n", true},
		{`{"node":{"id":"n1"}}` + "\n", "  ", "{\n  \"node\": {\n    \"id\": \"n1\"\n  }\n}", true},
		{`{"node":{"id":"n1"}` + "\n", "", "", false},
		{`{"node":{"id":"n1"}` + "\n", "  ", "", false},
		{`{"node":{"id":"n1"}} x`, "  ", "", false},
		{"", "", "", false},
		{"", "  ", "", false},
	} {
		path := testSocketPath(t)
		l, err := Listen(path)
		if err != nil {
			t.Fatal(err)
		}
		hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, tc.body) })}
		go hs.Serve(l)
		var doc bytes.Buffer
		err = dialClient(t, path).WriteStatusDocument(ctxT(t), &doc, PeersAll, tc.indent)
		hs.Close()
		if tc.ok != (err == nil) || doc.String() != tc.want {
			t.Errorf("body %q, indent %q: wrote %q, %v", tc.body, tc.indent, doc.String(), err)
		}
	}
}
