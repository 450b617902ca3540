package storetest

import (
	"context"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

// everyMethod calls each method but Info, Open and Close and reports each
// call's error by name.
func everyMethod(ctx context.Context, s hostapi.Store) map[string]error {
	_, headErr := s.Head(ctx)
	_, readErr := s.ReadLog(ctx, 1, 1)
	_, getErr := s.GetSnapshot(ctx)
	return map[string]error{
		"Append":      s.Append(ctx, hostapi.LogEntry{Index: 1, Data: []byte("x")}),
		"Head":        headErr,
		"ReadLog":     readErr,
		"PutSnapshot": s.PutSnapshot(ctx, hostapi.Snapshot{Index: 1, Data: []byte("x")}),
		"GetSnapshot": getErr,
	}
}

func testInfo(t *testing.T, h *harness) {
	s := h.newStore()
	info, err := s.Info(t.Context())
	if err != nil {
		t.Fatalf("Info before Open: got error %v, want nil", err)
	}
	if info.Name == "" {
		t.Errorf("Info().Name: got empty, want a name")
	}
	if err := s.Open(t.Context(), hostapi.StoreConfig{Dir: newDir(t)}); err != nil {
		t.Fatalf("Open: got error %v, want nil", err)
	}
	t.Cleanup(func() { s.Close(context.Background()) })
	got, err := s.Info(t.Context())
	if err != nil {
		t.Fatalf("Info while open: got error %v, want nil", err)
	}
	if got != info {
		t.Errorf("Info while open: got %+v, want %+v as before Open", got, info)
	}
}

func testClosedBeforeOpen(t *testing.T, h *harness) {
	s := h.newStore()
	for name, err := range everyMethod(t.Context(), s) {
		wantCode(t, name+" before Open", err, hostapi.CodeClosed)
	}
}

func testClosedAfterClose(t *testing.T, h *harness) {
	dir := newDir(t)
	s := h.open(t, dir)
	appendRange(t, s, 1, 1, small)
	closeStore(t, s)
	for name, err := range everyMethod(t.Context(), s) {
		wantCode(t, name+" after Close", err, hostapi.CodeClosed)
	}
	if err := s.Close(t.Context()); err != nil {
		t.Errorf("second Close: got error %v, want nil (Close is idempotent)", err)
	}
	// The failed calls above changed nothing.
	s2 := h.open(t, dir)
	if got := head(t, s2); got != 1 {
		t.Errorf("Head after reopen: got %d, want 1", got)
	}
	_, err := s2.GetSnapshot(t.Context())
	wantCode(t, "GetSnapshot after reopen", err, hostapi.CodeNotFound)
}

func testOpenTwice(t *testing.T, h *harness) {
	s := h.open(t, newDir(t))
	err := s.Open(t.Context(), hostapi.StoreConfig{Dir: newDir(t)})
	wantCode(t, "second Open", err, hostapi.CodeConflict)
	// The store stays usable on its first directory.
	appendRange(t, s, 1, 1, small)
}

func testReopen(t *testing.T, h *harness) {
	dir := newDir(t)
	s := h.open(t, dir)
	appendRange(t, s, 1, 20, small)
	want := hostapi.Snapshot{Index: 20, Data: []byte("state at 20")}
	if err := s.PutSnapshot(t.Context(), want); err != nil {
		t.Fatalf("PutSnapshot: got error %v, want nil", err)
	}
	closeStore(t, s)

	s = h.open(t, dir)
	if got := head(t, s); got != 20 {
		t.Fatalf("Head after reopen: got %d, want 20", got)
	}
	checkLog(t, s, 1, 20, small)
	checkSnapshot(t, s, want)
	// Appending continues where the log ended.
	appendRange(t, s, 21, 21, small)
	closeStore(t, s)
	s = h.open(t, dir)
	checkLog(t, s, 1, 21, small)
}
