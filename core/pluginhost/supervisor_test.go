package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rustynet/rustynet/hostapi"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fake is an in-process Instance whose death the test controls.
type fake struct {
	id      int
	done    chan struct{}
	once    sync.Once
	pingErr atomic.Pointer[error]
	killed  atomic.Bool
}

func (f *fake) Plugin() int { return f.id }
func (f *fake) Ping(context.Context) error {
	if p := f.pingErr.Load(); p != nil {
		return *p
	}
	return nil
}
func (f *fake) Done() <-chan struct{} { return f.done }
func (f *fake) Kill()                 { f.killed.Store(true); f.die() }
func (f *fake) die()                  { f.once.Do(func() { close(f.done) }) }

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
}

func TestPermanentRelaunchFailureTrips(t *testing.T) {
	l := newLauncher()
	l.failAfter = 1
	l.failErr = fmt.Errorf("binary hash mismatch: %w", ErrPermanent)
	s, err := Start(context.Background(), l.config())
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
