package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/poll"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fake is an in-process Instance whose death the test controls.
type fake struct {
	id      int
	done    chan struct{}
	once    sync.Once
	pingErr atomic.Pointer[error]
	killed  atomic.Bool
	pings   atomic.Int32 // pings answered
	// killGate, if set, holds Kill until it is closed; killReturned is
	// set when Kill returns.
	killGate     atomic.Pointer[chan struct{}]
	killReturned atomic.Bool
}

func (f *fake) Plugin() int { return f.id }
func (f *fake) Ping(context.Context) error {
	select {
	case <-f.done:
		return errors.New("the process has exited")
	default:
	}
	if p := f.pingErr.Load(); p != nil {
		return *p
	}
	f.pings.Add(1)
	return nil
}
func (f *fake) Done() <-chan struct{} { return f.done }
func (f *fake) Kill() {
	f.killed.Store(true)
	if g := f.killGate.Load(); g != nil {
		<-*g
	}
	f.die()
	f.killReturned.Store(true)
}
func (f *fake) die() { f.once.Do(func() { close(f.done) }) }

// launcher hands out fakes and reports every launch and setup on channels.
type launcher struct {
	mu        sync.Mutex
	fakes     []*fake
	launched  chan int
	setups    chan int
	failAfter int   // launches after this many fail (0: never)
	failErr   error // the error they fail with
	dieAtOnce bool  // every instance exits right after launch
}

func newLauncher() *launcher {
	return &launcher{launched: make(chan int, 100), setups: make(chan int, 100)}
}

func (l *launcher) launch(context.Context) (Instance[int], error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.fakes) + 1
	if l.failAfter > 0 && n > l.failAfter {
		l.launched <- -n
		return nil, l.failErr
	}
	f := &fake{id: n, done: make(chan struct{})}
	if l.dieAtOnce {
		f.die()
	}
	l.fakes = append(l.fakes, f)
	l.launched <- n
	return f, nil
}

func (l *launcher) fake(n int) *fake {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.fakes[n-1]
}

func (l *launcher) config() Config[int] {
	return Config[int]{
		Name:            "test",
		Launch:          l.launch,
		Setup:           func(_ context.Context, id int) error { l.setups <- id; return nil },
		HealthInterval:  10 * time.Millisecond,
		BackoffInitial:  time.Millisecond,
		BackoffMax:      4 * time.Millisecond,
		BreakerRestarts: 3,
		BreakerWindow:   time.Minute,
	}
}

func recv(t *testing.T, ch <-chan int, what string) int {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		return 0
	}
}

func TestRestartRunsSetupAgain(t *testing.T) {
	l := newLauncher()
	s, err := Start(context.Background(), l.config())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if got := recv(t, l.setups, "first setup"); got != 1 {
		t.Fatalf("first setup on instance %d, want 1", got)
	}
	l.fake(1).die() // the process exits
	if got := recv(t, l.setups, "setup after restart"); got != 2 {
		t.Fatalf("setup after restart on instance %d, want 2", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		id, err := s.Get(ctx)
		if err != nil {
			t.Fatalf("Get after restart: %v", err)
		}
		if id == 2 {
			break
		}
	}
	if st := s.Status(); st.Restarts != 1 || st.State != StateRunning || st.LastError != "process exited" {
		t.Errorf("status = %+v, want running after 1 restart because the process exited", st)
	}
}

// TestExitedInstanceReleasedDuringRelaunch: the relaunch after a process
// exited does not wait for the dead instance's Kill, and Close waits for
// that Kill to return.
func TestExitedInstanceReleasedDuringRelaunch(t *testing.T) {
	l := newLauncher()
	s, err := Start(context.Background(), l.config())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close() // idempotent: the test closes it itself
	recv(t, l.setups, "first setup")
	gate := make(chan struct{})
	open := sync.OnceFunc(func() { close(gate) })
	defer open() // before Close, should the test fail
	dead := l.fake(1)
	dead.killGate.Store(&gate)
	dead.die() // the process exits
	if got := recv(t, l.setups, "setup after restart"); got != 2 {
		t.Fatalf("setup after restart on instance %d, want 2", got)
	}
	if dead.killReturned.Load() {
		t.Fatal("the dead instance's Kill returned before its gate opened")
	}
	closed := make(chan struct{})
	go func() {
		s.Close()
		close(closed)
	}()
	select {
	case <-closed:
		t.Fatal("Close returned while the dead instance's Kill was still running")
	case <-time.After(10 * time.Millisecond):
	}
	open()
	<-closed
	if !dead.killReturned.Load() {
		t.Error("Close returned before the dead instance's Kill")
	}
}

// TestUnhealthyInstanceKilledBeforeRelaunch: an instance that failed its
// health checks but still runs (it may hold its successor's port) is
// killed, and its Kill has returned, before the next launch.
func TestUnhealthyInstanceKilledBeforeRelaunch(t *testing.T) {
	l := newLauncher()
	s, err := Start(context.Background(), l.config())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recv(t, l.setups, "first setup")
	recv(t, l.launched, "first launch")
	gate := make(chan struct{})
	open := sync.OnceFunc(func() { close(gate) })
	defer open() // before Close, should the test fail
	hung := l.fake(1)
	hung.killGate.Store(&gate)
	bad := errors.New("no answer")
	hung.pingErr.Store(&bad)
	if err := poll.Until(10*time.Second, time.Millisecond, hung.killed.Load); err != nil {
		t.Fatalf("the unhealthy instance was not killed: %v", err)
	}
	// Kill now waits at the gate: no launch may happen meanwhile. A wrong
	// supervisor relaunches within a millisecond; 50 ms shows it.
	select {
	case n := <-l.launched:
		t.Fatalf("launch %d while the unhealthy instance's Kill had not returned", n)
	case <-time.After(50 * time.Millisecond):
	}
	open()
	if got := recv(t, l.launched, "relaunch"); got != 2 {
		t.Fatalf("launch %d, want 2", got)
	}
}

func TestFailedHealthCheckRestarts(t *testing.T) {
	l := newLauncher()
	s, err := Start(context.Background(), l.config())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	recv(t, l.setups, "first setup")
	bad := errors.New("no answer")
	l.fake(1).pingErr.Store(&bad)
	if got := recv(t, l.setups, "setup after restart"); got != 2 {
		t.Fatalf("restarted instance %d, want 2", got)
	}
	if !l.fake(1).killed.Load() {
		t.Error("the unhealthy instance was not killed")
	}
}

func TestCrashLoopTripsBreaker(t *testing.T) {
	l := newLauncher()
	cfg := l.config()
	cfg.BreakerCooldown = time.Hour // no half-open attempt during the test
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l.mu.Lock()
	l.dieAtOnce = true // every relaunched instance dies at once
	l.mu.Unlock()
	l.fake(1).die()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		_, err := s.Get(ctx)
		if errors.Is(err, ErrBroken) {
			break
		}
		if err != nil {
			t.Fatalf("Get: %v, want eventually ErrBroken", err)
		}
	}
	st := s.Status()
	if st.State != StateBroken || st.Restarts != cfg.BreakerRestarts+1 {
		t.Errorf("status = %+v, want broken after %d restarts", st, cfg.BreakerRestarts+1)
	}
	l.mu.Lock()
	launches := len(l.fakes)
	l.mu.Unlock()
	if launches != cfg.BreakerRestarts+1 {
		t.Errorf("%d launches, want %d (1 + restarts within the budget)", launches, cfg.BreakerRestarts+1)
	}
	if st.NextAttempt.IsZero() {
		t.Errorf("status = %+v, want the time of the next attempt", st)
	}
}

// TestPermanentRelaunchFailureTrips: a failure no immediate retry can fix
// opens the breaker at once (the next attempt waits for the cooldown).
func TestPermanentRelaunchFailureTrips(t *testing.T) {
	l := newLauncher()
	l.failAfter = 1
	l.failErr = fmt.Errorf("binary hash mismatch: %w", ErrPermanent)
	cfg := l.config()
	cfg.BreakerCooldown = time.Hour
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l.fake(1).die()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if _, err := s.Get(ctx); errors.Is(err, ErrBroken) {
			break
		} else if err != nil {
			t.Fatalf("Get: %v", err)
		}
	}
	if n := recv(t, l.launched, "first launch"); n != 1 {
		t.Fatalf("launch %d", n)
	}
	if n := recv(t, l.launched, "failed relaunch"); n != -2 {
		t.Fatalf("second launch = %d, want the failing one", n)
	}
	select {
	case n := <-l.launched:
		t.Errorf("launch %d after a permanent failure", n)
	default:
	}
}

func TestStartFailureLeavesNothingRunning(t *testing.T) {
	l := newLauncher()
	cfg := l.config()
	cfg.Setup = func(context.Context, int) error { return errors.New("cannot open store") }
	if _, err := Start(context.Background(), cfg); err == nil {
		t.Fatal("Start succeeded although Setup failed")
	}
	if !l.fake(1).killed.Load() {
		t.Error("the instance whose setup failed was not killed")
	}
}

func TestCloseKillsAndRefuses(t *testing.T) {
	l := newLauncher()
	s, err := Start(context.Background(), l.config())
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s.Close() // idempotent
	if !l.fake(1).killed.Load() {
		t.Error("Close did not kill the plugin")
	}
	if _, err := s.Get(context.Background()); !errors.Is(err, hostapi.ErrClosed) {
		t.Errorf("Get after Close: %v, want CLOSED", err)
	}
}

// records is a slog.Handler that keeps every record, so a test can read
// what the supervisor decided (relaunch delays, breaker cooldowns) from
// what it logged.
type records struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (r *records) Enabled(context.Context, slog.Level) bool { return true }
func (r *records) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *records) WithGroup(string) slog.Handler            { return r }
func (r *records) Handle(_ context.Context, rec slog.Record) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.recs = append(r.recs, rec.Clone())
	return nil
}

// durations returns the duration attribute key of every record logged
// with message msg, in order.
func (r *records) durations(msg, key string) []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []time.Duration
	for _, rec := range r.recs {
		if rec.Message != msg {
			continue
		}
		rec.Attrs(func(a slog.Attr) bool {
			if a.Key == key {
				out = append(out, a.Value.Duration())
			}
			return true
		})
	}
	return out
}

func (l *launcher) setDieAtOnce(v bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.dieAtOnce = v
}

func (l *launcher) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.fakes)
}

// TestBackoffResetsBySuccessNotAge kills instances that came up healthy
// (set up, first ping answered) moments after they did: each is relaunched
// at once, however short its life. Instances that die before answering a
// ping get an ever longer delay, from the initial one.
func TestBackoffResetsBySuccessNotAge(t *testing.T) {
	l := newLauncher()
	logs := &records{}
	cfg := l.config()
	cfg.BackoffInitial, cfg.BackoffMax = time.Millisecond, time.Second
	cfg.BreakerRestarts = 100
	cfg.Logger = slog.New(logs)
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for i := 1; i <= 4; i++ {
		if got := recv(t, l.setups, "setup"); got != i {
			t.Fatalf("setup of instance %d, want %d", got, i)
		}
		f := l.fake(i)
		if err := poll.Until(10*time.Second, time.Millisecond, func() bool { return f.pings.Load() > 0 }); err != nil {
			t.Fatalf("instance %d was never pinged: %v", i, err)
		}
		if i == 4 {
			l.setDieAtOnce(true) // from now on no instance proves healthy
		}
		f.die()
	}
	if err := poll.Until(10*time.Second, time.Millisecond, func() bool { return len(logs.durations(msgRelaunching, "delay")) >= 7 }); err != nil {
		t.Fatalf("relaunches: %v", err)
	}
	ms := time.Millisecond
	want := []time.Duration{0, 0, 0, 0, ms, 2 * ms, 4 * ms}
	if diff := cmp.Diff(want, logs.durations(msgRelaunching, "delay")[:7]); diff != "" {
		t.Errorf("relaunch delays (-want +got):\n%s", diff)
	}
}

// TestBreakerHalfOpensAndRetriesForEver crash-loops a plugin until the
// breaker opens: the supervisor then tries it again after a cooldown that
// doubles up to a cap, reports it broken (and calls OnBroken) each time
// the breaker opens, and brings it back once it stops crashing.
func TestBreakerHalfOpensAndRetriesForEver(t *testing.T) {
	l := newLauncher()
	logs := &records{}
	cfg := l.config()
	cfg.BreakerRestarts = 2
	cfg.BreakerCooldown, cfg.BreakerCooldownMax = 2*time.Millisecond, 8*time.Millisecond
	var opened atomic.Int32
	cfg.OnBroken = func(st Status) {
		if st.State == StateBroken {
			opened.Add(1)
		}
	}
	cfg.Logger = slog.New(logs)
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	l.setDieAtOnce(true)
	l.fake(1).die()
	if err := poll.Until(10*time.Second, time.Millisecond, func() bool { return len(logs.durations(msgBreakerOpen, "retry_in")) >= 5 }); err != nil {
		t.Fatalf("the breaker did not open (and half-open) 5 times: %v; %d launches, status %+v", err, l.count(), s.Status())
	}
	ms := time.Millisecond
	if diff := cmp.Diff([]time.Duration{2 * ms, 4 * ms, 8 * ms, 8 * ms, 8 * ms}, logs.durations(msgBreakerOpen, "retry_in")[:5]); diff != "" {
		t.Errorf("breaker cooldowns (-want +got):\n%s", diff)
	}
	if n := opened.Load(); n < 5 {
		t.Errorf("OnBroken called %d times, want at least 5", n)
	}

	l.setDieAtOnce(false) // the fault is gone: the next half-open attempt succeeds
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = poll.Until(10*time.Second, time.Millisecond, func() bool {
		id, err := s.Get(ctx)
		if err != nil {
			if !errors.Is(err, ErrBroken) {
				t.Fatalf("Get: %v, want ErrBroken or the plugin", err)
			}
			return false
		}
		return !l.fake(id).killed.Load() && s.Status().State == StateRunning
	})
	if err != nil {
		t.Fatalf("the plugin did not come back after the fault was gone: %v; status %+v", err, s.Status())
	}
}
