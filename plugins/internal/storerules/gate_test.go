package storerules

import (
	"context"
	"errors"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/storelayout"
	"github.com/rustynet/rustynet/plugins/internal/statedir"
)

// newGate returns a new file store's gate.
func newGate() *Gate { return &Gate{Info: hostapi.StoreInfo{Name: storelayout.File, Version: "test"}} }

// newConfig returns the configuration of a store in a fresh directory.
func newConfig(t *testing.T) hostapi.StoreConfig {
	return hostapi.StoreConfig{Dir: filepath.Join(t.TempDir(), "store")}
}

func ok(*statedir.Dir) error { return nil }

// wantCode fails t unless err carries code want.
func wantCode(t *testing.T, what string, err error, want hostapi.Code) {
	t.Helper()
	if got := hostapi.CodeOf(err); got != want {
		t.Errorf("%s: got %v (error %v), want %v", what, got, err, want)
	}
}

// calls are the gate's admissions of the methods other than Info, Open and
// Close, each with a body that counts its runs.
func calls(g *Gate, ran *int) map[string]func() error {
	body := func() error { *ran++; return nil }
	return map[string]func() error{
		"Enter": func() error {
			err := g.Enter()
			if err == nil {
				g.Leave()
			}
			return err
		},
		"Append": func() error {
			return g.Append(context.Background(), hostapi.LogEntry{Index: 1, Data: []byte("e")}, body)
		},
		"PutSnapshot": func() error {
			return g.PutSnapshot(context.Background(), hostapi.Snapshot{Index: 1, Data: []byte("s")}, body)
		},
		"Truncate": func() error { return g.Truncate(context.Background(), body) },
	}
}

func TestGateLifecycle(t *testing.T) {
	g := newGate()
	cfg := newConfig(t)
	ran := 0
	if info, err := g.StoreInfo(); err != nil || info != g.Info {
		t.Errorf("StoreInfo before Open: got %+v, %v; want %+v, nil", info, err, g.Info)
	}
	for name, call := range calls(g, &ran) {
		wantCode(t, name+" before Open", call(), hostapi.CodeClosed)
	}
	wantCode(t, "Open whose open fails", g.Open(t.Context(), cfg, func(*statedir.Dir) error { return hostapi.ErrCorrupt }), hostapi.CodeCorrupt)
	// The failed Open released the directory: the store is new, and its
	// Open takes the directory's lock again.
	if err := g.Open(t.Context(), cfg, ok); err != nil {
		t.Fatalf("Open after a failed Open: got %v, want nil (a failed Open leaves the store new)", err)
	}
	opened := false
	wantCode(t, "second Open", g.Open(t.Context(), cfg, func(*statedir.Dir) error { opened = true; return nil }), hostapi.CodeConflict)
	if opened {
		t.Error("second Open ran open")
	}
	for name, call := range calls(g, &ran) {
		if err := call(); err != nil {
			t.Errorf("%s while open: got %v, want nil", name, err)
		}
	}
	if ran != 3 {
		t.Errorf("writes run while open: got %d, want 3", ran)
	}
	releases := 0
	release := func() error { releases++; return nil }
	for range 2 {
		if err := g.Close(release); err != nil {
			t.Errorf("Close: got %v, want nil", err)
		}
	}
	if releases != 1 {
		t.Errorf("releases after two Closes: got %d, want 1", releases)
	}
	_, err := g.StoreInfo()
	wantCode(t, "StoreInfo after Close", err, hostapi.CodeClosed)
	wantCode(t, "Open after Close", g.Open(t.Context(), cfg, ok), hostapi.CodeClosed)
	ran = 0
	for name, call := range calls(g, &ran) {
		wantCode(t, name+" after Close", call(), hostapi.CodeClosed)
	}
	if ran != 0 {
		t.Errorf("writes run after Close: got %d, want 0", ran)
	}
	// Close released the directory's lock.
	other := newGate()
	if err := other.Open(t.Context(), cfg, ok); err != nil {
		t.Errorf("Open by another store after Close: got %v, want nil", err)
	}
	other.Close(func() error { return nil })
}

func TestGateCloseBeforeOpen(t *testing.T) {
	g := newGate()
	if err := g.Close(func() error { return errors.New("released a store never opened") }); err != nil {
		t.Errorf("Close before Open: got %v, want nil", err)
	}
	wantCode(t, "Open after Close", g.Open(t.Context(), newConfig(t), ok), hostapi.CodeClosed)
}

// TestGateWritePreamble checks that a write whose arguments or context the
// contract refuses never reaches the store.
func TestGateWritePreamble(t *testing.T) {
	g := newGate()
	if err := g.Open(t.Context(), newConfig(t), ok); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close(func() error { return nil }) })
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	write := func() error { t.Error("the write ran"); return nil }
	for _, tc := range []struct {
		name string
		err  error
		want hostapi.Code
	}{
		{"empty entry", g.Append(t.Context(), hostapi.LogEntry{Index: 1}, write), hostapi.CodeInvalidArgument},
		{"entry over the limit", g.Append(t.Context(), hostapi.LogEntry{Index: 1, Data: make([]byte, hostapi.MaxEntryBytes+1)}, write), hostapi.CodeInvalidArgument},
		{"empty snapshot", g.PutSnapshot(t.Context(), hostapi.Snapshot{Index: 1, Data: []byte{}}, write), hostapi.CodeInvalidArgument},
		{"snapshot over the limit", g.PutSnapshot(t.Context(), hostapi.Snapshot{Index: 1, Data: make([]byte, hostapi.MaxSnapshotBytes+1)}, write), hostapi.CodeInvalidArgument},
		{"Append with a canceled context", g.Append(canceled, hostapi.LogEntry{Index: 1, Data: []byte("e")}, write), hostapi.CodeUnavailable},
		{"PutSnapshot with a canceled context", g.PutSnapshot(canceled, hostapi.Snapshot{Index: 1, Data: []byte("s")}, write), hostapi.CodeUnavailable},
		{"Truncate with a canceled context", g.Truncate(canceled, write), hostapi.CodeUnavailable},
		{"Open with a canceled context", newGate().Open(canceled, newConfig(t), func(*statedir.Dir) error { return write() }), hostapi.CodeUnavailable},
	} {
		wantCode(t, tc.name, tc.err, tc.want)
	}
	sentinel := hostapi.Errorf(hostapi.CodeCorrupt, "from the store")
	if err := g.Append(t.Context(), hostapi.LogEntry{Index: 1, Data: []byte("e")}, func() error { return sentinel }); !errors.Is(err, sentinel) {
		t.Errorf("Append: got %v, want the write's error", err)
	}
}

// TestGateSerialisesWrites runs Appends and PutSnapshots from many
// goroutines: no two writes of a kind overlap.
func TestGateSerialisesWrites(t *testing.T) {
	g := newGate()
	if err := g.Open(t.Context(), newConfig(t), ok); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close(func() error { return nil }) })
	var appends, snapshots, overlaps atomic.Int32
	alone := func(running *atomic.Int32) func() error {
		return func() error {
			if running.Add(1) != 1 {
				overlaps.Add(1)
			}
			runtime.Gosched()
			running.Add(-1)
			return nil
		}
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				_ = g.Append(context.Background(), hostapi.LogEntry{Index: 1, Data: []byte("e")}, alone(&appends))
				_ = g.PutSnapshot(context.Background(), hostapi.Snapshot{Index: 1, Data: []byte("s")}, alone(&snapshots))
			}
		})
	}
	wg.Wait()
	if n := overlaps.Load(); n != 0 {
		t.Errorf("overlapping writes of a kind: got %d, want 0", n)
	}
}

// TestGateTruncateRunsAlone runs Truncates beside Appends, PutSnapshots
// and reads from many goroutines: no other call overlaps a Truncate.
func TestGateTruncateRunsAlone(t *testing.T) {
	g := newGate()
	if err := g.Open(t.Context(), newConfig(t), ok); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Close(func() error { return nil }) })
	var running, truncating, overlaps atomic.Int32
	other := func() error {
		running.Add(1)
		if truncating.Load() != 0 {
			overlaps.Add(1)
		}
		runtime.Gosched()
		running.Add(-1)
		return nil
	}
	truncate := func() error {
		if truncating.Add(1) != 1 || running.Load() != 0 {
			overlaps.Add(1)
		}
		runtime.Gosched()
		truncating.Add(-1)
		return nil
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100 {
				_ = g.Append(context.Background(), hostapi.LogEntry{Index: 1, Data: []byte("e")}, other)
				_ = g.PutSnapshot(context.Background(), hostapi.Snapshot{Index: 1, Data: []byte("s")}, other)
				if g.Enter() == nil {
					_ = other()
					g.Leave()
				}
			}
		})
		wg.Go(func() {
			for range 100 {
				_ = g.Truncate(context.Background(), truncate)
			}
		})
	}
	wg.Wait()
	if n := overlaps.Load(); n != 0 {
		t.Errorf("calls overlapping a Truncate: got %d, want 0", n)
	}
}

// TestGateCloseWaitsForCalls closes the gate while a write runs: the
// store's release runs only once the write has returned.
func TestGateCloseWaitsForCalls(t *testing.T) {
	g := newGate()
	if err := g.Open(t.Context(), newConfig(t), ok); err != nil {
		t.Fatal(err)
	}
	started, proceed := make(chan struct{}), make(chan struct{})
	var writing atomic.Bool
	wrote := make(chan error, 1)
	go func() {
		wrote <- g.Append(context.Background(), hostapi.LogEntry{Index: 1, Data: []byte("e")}, func() error {
			writing.Store(true)
			close(started)
			<-proceed
			writing.Store(false)
			return nil
		})
	}()
	<-started
	closed := make(chan bool, 1)
	released := make(chan error, 1)
	go func() {
		released <- g.Close(func() error { closed <- writing.Load(); return nil })
	}()
	close(proceed)
	if <-closed {
		t.Error("the store was released while a write ran")
	}
	if err := <-wrote; err != nil {
		t.Errorf("Append: got %v, want nil", err)
	}
	if err := <-released; err != nil {
		t.Errorf("Close: got %v, want nil", err)
	}
}
