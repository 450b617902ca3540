package readgroup

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/rustynet/rustynet/internal/poll/polltest"
)

// TestCoalesce checks that calls made during a read share one read that
// began after each of them called, and get its result.
func TestCoalesce(t *testing.T) {
	var g Group[int]
	var mu sync.Mutex
	reads, version := 0, 0
	started := make(chan struct{}, 10)
	release := make(chan struct{})
	read := func() (int, error) {
		mu.Lock()
		reads++
		v := version
		mu.Unlock()
		started <- struct{}{}
		<-release
		return v, nil
	}

	first := make(chan int)
	go func() {
		v, _ := g.Do(read)
		first <- v
	}()
	<-started // the first read runs and blocks

	// A change, then five calls while the first read still runs.
	mu.Lock()
	version = 1
	mu.Unlock()
	const callers = 5
	results := make(chan int, callers)
	for range callers {
		go func() {
			v, _ := g.Do(read)
			results <- v
		}()
	}
	polltest.Until(t, "five calls waiting for the next read", 10*time.Second, time.Millisecond,
		func() bool { return g.Waiting() == callers })
	close(release)

	if v := <-first; v != 0 {
		t.Errorf("first read: got version %d, want 0", v)
	}
	for range callers {
		if v := <-results; v != 1 {
			t.Errorf("a call made after the change got version %d, want 1", v)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if reads != 2 {
		t.Errorf("got %d reads for 1 + %d calls, want 2", reads, callers)
	}
}

// TestSequential checks that calls that do not overlap each read anew and
// get their own read's error.
func TestSequential(t *testing.T) {
	var g Group[string]
	errBroken := errors.New("broken")
	for i, want := range []error{nil, errBroken, nil} {
		v, err := g.Do(func() (string, error) { return "read", want })
		if err != want || v != "read" {
			t.Errorf("call %d: got %q, %v; want %q, %v", i, v, err, "read", want)
		}
	}
	if n := g.Waiting(); n != 0 {
		t.Errorf("got %d calls waiting after all returned, want 0", n)
	}
}

// TestHold checks that Hold keeps reads from starting until released.
func TestHold(t *testing.T) {
	var g Group[int]
	release := g.Hold()
	done := make(chan int)
	go func() {
		v, _ := g.Do(func() (int, error) { return 7, nil })
		done <- v
	}()
	polltest.Until(t, "the call waiting", 10*time.Second, time.Millisecond, func() bool { return g.Waiting() == 1 })
	select {
	case <-done:
		t.Fatal("a read ran while held")
	default:
	}
	release()
	if v := <-done; v != 7 {
		t.Errorf("got %d, want 7", v)
	}
}

// TestDoContextRereadsWhatAnotherContextCut: two callers share one read,
// which runs under the context of whichever of them runs it. When that
// context ends part-way, its caller gets the cut result, while the other,
// whose context is live, reads again under its own context rather than
// take a result cut for a reason not its own.
func TestDoContextRereadsWhatAnotherContextCut(t *testing.T) {
	var g Group[string]
	type caller struct {
		ctx    context.Context
		cancel context.CancelFunc
		done   chan error
	}
	started := make(chan context.Context, 2)
	read := func(ctx context.Context) (string, error) {
		started <- ctx
		<-ctx.Done() // a slow read: it ends with its context
		return "", ctx.Err()
	}
	release := g.Hold() // both join the same read before it starts
	callers := make([]*caller, 2)
	for i := range callers {
		ctx, cancel := context.WithCancel(t.Context())
		c := &caller{ctx, cancel, make(chan error, 1)}
		callers[i] = c
		defer cancel()
		go func() {
			_, err := g.DoContext(c.ctx, read)
			c.done <- err
		}()
	}
	polltest.Until(t, "both callers waiting for one read", 10*time.Second, time.Millisecond, func() bool { return g.Waiting() == 2 })
	release()
	runner, other := callers[0], callers[1]
	if <-started != runner.ctx {
		runner, other = other, runner
	}
	runner.cancel()
	if err := <-runner.done; !errors.Is(err, context.Canceled) {
		t.Errorf("the caller whose context ended: got %v, want context.Canceled", err)
	}
	select {
	case ctx := <-started:
		if ctx != other.ctx {
			t.Fatal("the live caller's second read ran under another context")
		}
	case err := <-other.done:
		t.Fatalf("the live caller returned %v, a result cut by another caller's context", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the live caller did not read again")
	}
	other.cancel()
	if err := <-other.done; !errors.Is(err, context.Canceled) {
		t.Errorf("the live caller, once its own context ended: got %v, want context.Canceled", err)
	}
}
