package readgroup

import (
	"context"
	"errors"
	"slices"
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

// TestDoSharedCountsCallers: a read is told how many callers share its
// result — each caller waiting when it starts, not one arriving during it
// (that caller joins the next read, told 1).
func TestDoSharedCountsCallers(t *testing.T) {
	var g Group[int]
	release := g.Hold()
	const callers = 3
	inRead := make(chan struct{})
	finish := make(chan struct{})
	got := make(chan int, callers+1)
	for range callers {
		go func() {
			v, _ := g.DoShared(func(n int) (int, error) {
				close(inRead)
				<-finish
				return n, nil
			})
			got <- v
		}()
	}
	polltest.Until(t, "the callers waiting", 10*time.Second, time.Millisecond, func() bool { return g.Waiting() == callers })
	release()
	<-inRead
	go func() { // arrives while the read runs
		v, _ := g.DoShared(func(n int) (int, error) { return n, nil })
		got <- v
	}()
	polltest.Until(t, "the late caller waiting", 10*time.Second, time.Millisecond, func() bool { return g.Waiting() == 1 })
	close(finish)
	counts := map[int]int{}
	for range callers + 1 {
		counts[<-got]++
	}
	if counts[callers] != callers || counts[1] != 1 {
		t.Errorf("callers were told %v (told n: how many), want %d told %d and one told 1", counts, callers, callers)
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

// fakeClock is a Group's clock in tests: time moves only when told, and
// each rest is recorded, then taken at once or held until released.
type fakeClock struct {
	mu      sync.Mutex
	t       time.Time
	rests   []time.Duration
	resting chan struct{} // if not nil, a rest sends here, then waits for release
	release chan struct{}
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func (c *fakeClock) sleep(ctx context.Context, d time.Duration) {
	c.mu.Lock()
	c.rests = append(c.rests, d)
	resting, release := c.resting, c.release
	c.mu.Unlock()
	if resting != nil {
		resting <- struct{}{}
		select {
		case <-release:
		case <-ctx.Done():
		}
	}
	c.advance(d)
}

func (c *fakeClock) takeRests() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	r := c.rests
	c.rests = nil
	return r
}

// TestRest checks the pacing of a Group with Rest: the next read waits
// out the rest after the last one ended, less the time already gone, and
// not at all after a longer quiet spell.
func TestRest(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0)}
	g := Group[int]{Rest: func(took time.Duration) time.Duration { return 2 * took }, now: clock.now, sleep: clock.sleep}
	read := func(took time.Duration) func() (int, error) {
		return func() (int, error) { clock.advance(took); return 0, nil }
	}
	steps := []struct {
		name  string
		quiet time.Duration // between the last read's end and the call
		took  time.Duration // the read's own time
		want  []time.Duration
	}{
		{"the first read does not rest", 0, 30 * time.Millisecond, nil},
		{"back to back: twice the last read", 0, 10 * time.Millisecond, []time.Duration{60 * time.Millisecond}},
		{"a part of the rest gone already", 5 * time.Millisecond, 40 * time.Millisecond, []time.Duration{15 * time.Millisecond}},
		{"a quiet spell longer than the rest", 80 * time.Millisecond, time.Millisecond, nil},
		{"a quiet spell as long as the rest", 2 * time.Millisecond, time.Millisecond, nil},
	}
	for _, s := range steps {
		clock.advance(s.quiet)
		if _, err := g.Do(read(s.took)); err != nil {
			t.Fatal(err)
		}
		if got := clock.takeRests(); !slices.Equal(got, s.want) {
			t.Errorf("%s: rested %v, want %v", s.name, got, s.want)
		}
	}
}

// TestRestGathersCallers checks that calls arriving while the group rests
// join the read that follows the rest: one read for all of them, begun
// after each called.
func TestRestGathersCallers(t *testing.T) {
	clock := &fakeClock{t: time.Unix(1000, 0), resting: make(chan struct{}), release: make(chan struct{})}
	g := Group[int]{Rest: func(took time.Duration) time.Duration { return took }, now: clock.now, sleep: clock.sleep}
	var mu sync.Mutex
	reads := 0
	read := func() (int, error) {
		clock.advance(time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		reads++
		return reads, nil
	}
	if _, err := g.Do(read); err != nil { // the first read: no rest
		t.Fatal(err)
	}
	const callers = 4
	got := make(chan int, callers)
	go func() {
		v, _ := g.Do(read)
		got <- v
	}()
	select {
	case <-clock.resting:
	case <-time.After(10 * time.Second):
		t.Fatal("the second read did not rest")
	}
	for range callers - 1 {
		go func() {
			v, _ := g.Do(read)
			got <- v
		}()
	}
	polltest.Until(t, "the callers wait for the read after the rest", 10*time.Second, time.Millisecond, func() bool { return g.Waiting() == callers })
	close(clock.release)
	for range callers {
		select {
		case v := <-got:
			if v != 2 {
				t.Errorf("a caller got read %d, want 2 (the one after the rest)", v)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("a caller is still waiting")
		}
	}
	if reads != 2 {
		t.Errorf("%d reads, want 2", reads)
	}
}

// TestRestEndsWithTheContext checks that a DoContext caller whose context
// ends while the group rests stops waiting.
func TestRestEndsWithTheContext(t *testing.T) {
	g := Group[int]{Rest: func(time.Duration) time.Duration { return time.Hour }}
	read := func(ctx context.Context) (int, error) { return 0, ctx.Err() }
	if _, err := g.DoContext(context.Background(), read); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := g.DoContext(ctx, read)
		done <- err
	}()
	polltest.Until(t, "the call rests", 10*time.Second, time.Millisecond, func() bool { return g.Waiting() == 1 })
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("DoContext: %v, want the context's end", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("DoContext still rests after its context ended")
	}
}
