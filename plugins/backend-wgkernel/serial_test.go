package wgkernel

import (
	"context"
	"errors"
	"runtime"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// waitQueued waits until s has n waiters, so that tests order their
// goroutines without sleeping.
func waitQueued(t *testing.T, s *serializer, n int) {
	t.Helper()
	for {
		s.mu.Lock()
		queued := len(s.urgent) + len(s.normal)
		s.mu.Unlock()
		if queued == n {
			return
		}
		select {
		case <-t.Context().Done():
			t.Fatal("test ended while waiting for the queue")
		default:
			runtime.Gosched()
		}
	}
}

func TestSerializerUrgentFirst(t *testing.T) {
	var s serializer
	ctx := context.Background()
	if err := s.acquire(ctx, false); err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 3)
	start := func(name string, urgent bool, queued int) {
		go func() {
			if err := s.acquire(ctx, urgent); err != nil {
				order <- "error: " + err.Error()
				return
			}
			order <- name
			s.release()
		}()
		waitQueued(t, &s, queued)
	}
	start("normal 1", false, 1)
	start("normal 2", false, 2)
	start("urgent", true, 3)
	s.release()
	var got []string
	for range 3 {
		got = append(got, <-order)
	}
	if diff := cmp.Diff([]string{"urgent", "normal 1", "normal 2"}, got); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
	// Free again: an acquire does not wait.
	if err := s.acquire(ctx, false); err != nil {
		t.Fatal(err)
	}
	s.release()
}

func TestSerializerCancel(t *testing.T) {
	var s serializer
	if err := s.acquire(context.Background(), false); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error)
	go func() { errc <- s.acquire(ctx, true) }()
	waitQueued(t, &s, 1)
	cancel()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("acquire after cancel: got %v, want context.Canceled", err)
	}
	waitQueued(t, &s, 0)
	s.release()
	if s.busy {
		t.Error("released with no waiters, the serializer is still busy")
	}
}
