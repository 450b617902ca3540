package controlapi

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
)

// fakeHandler answers with fixed values and records what it was asked.
type fakeHandler struct {
	status    Status
	statusErr error
	result    ApplyResult
	applyErr  error
	// log is the trusted log Log serves, under logHead (whose Head, if
	// 0, is the log's length); logErr fails it instead.
	log     []*membership.SignedUpdate
	logHead LogHead
	logErr  error

	mu        sync.Mutex
	calls     int
	gotUpdate []byte
	gotDryRun bool
	gotFrom   uint64
	gotMax    int
	gotPeer   Peer
	peerOK    bool
}

func (f *fakeHandler) Status(ctx context.Context) (Status, error) {
	f.record(ctx)
	return f.status, f.statusErr
}

func (f *fakeHandler) ApplyUpdate(ctx context.Context, update []byte, dryRun bool) (ApplyResult, error) {
	f.record(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gotUpdate, f.gotDryRun = bytes.Clone(update), dryRun
	return f.result, f.applyErr
}

func (f *fakeHandler) Log(ctx context.Context, from uint64, max int) (LogHead, []*membership.SignedUpdate, error) {
	f.record(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gotFrom, f.gotMax = from, max
	h := f.logHead
	if h.Head == 0 {
		h.Head = uint64(len(f.log))
	}
	if f.logErr != nil || from > uint64(len(f.log)) {
		return h, nil, f.logErr
	}
	return h, f.log[from-1 : min(from-1+uint64(max), uint64(len(f.log)))], nil
}

func (f *fakeHandler) record(ctx context.Context) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	f.gotPeer, f.peerOK = PeerFromContext(ctx)
}

func (f *fakeHandler) callCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// allowAll admits every peer.
var allowAll = AuthorizerFunc(func(Peer) error { return nil })

// serve serves the control API on l until the test ends.
func serve(t *testing.T, l net.Listener, h Handler, auth Authorizer, logger *slog.Logger) {
	t.Helper()
	serveWith(t, l, h, auth, logger, Limits{})
}

// serveWith is serve with limits; it returns the server.
func serveWith(t *testing.T, l net.Listener, h Handler, auth Authorizer, logger *slog.Logger, lim Limits) *Server {
	t.Helper()
	srv := NewServer(h, auth, logger, lim)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve returned %v, want http.ErrServerClosed", err)
		}
	})
	return srv
}

// startServer listens on a new socket in a new directory and serves h on it.
func startServer(t *testing.T, h Handler, auth Authorizer, logger *slog.Logger) string {
	t.Helper()
	path := testSocketPath(t)
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, l, h, auth, logger)
	return path
}

// dialClient returns a Client of path, closed when the test ends.
func dialClient(t *testing.T, path string) *Client {
	t.Helper()
	c := Dial(path)
	t.Cleanup(func() { c.Close() })
	return c
}

// rawClient is a plain HTTP client of the socket at path, for requests
// Client does not make.
func rawClient(t *testing.T, path string) *http.Client {
	t.Helper()
	tr := &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return dial(ctx, path)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// ctxT bounds a test's calls, so that a hang fails instead of stalling.
func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}
