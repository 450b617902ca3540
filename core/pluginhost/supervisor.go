package pluginhost

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// Instance is one running plugin process.
type Instance[T any] interface {
	// Plugin returns the client for what the plugin serves.
	Plugin() T
	// Ping checks the plugin answers (go-plugin's health service).
	Ping(ctx context.Context) error
	// Done is closed when the process has exited.
	Done() <-chan struct{}
	// Kill ends the process and releases the client; idempotent. It
	// returns once the process has exited, also for a process that no
	// longer answers anything.
	Kill()
}

// LaunchFunc starts one plugin process. An error that wraps ErrPermanent
// (a pinned hash mismatch, a missing binary) opens the breaker at once
// instead of being retried with the ordinary backoff.
type LaunchFunc[T any] func(ctx context.Context) (Instance[T], error)

// ErrPermanent marks launch errors that an immediate retry cannot fix.
var ErrPermanent = errors.New("permanent plugin failure")

// ErrBroken is returned by Get while the crash-loop breaker is open. It is
// UNAVAILABLE: the supervisor tries the plugin again after a cooldown, so
// a caller may retry later.
var ErrBroken = hostapi.Errorf(hostapi.CodeUnavailable, "plugin crash-looped; the breaker is open")

// Config configures a Supervisor.
type Config[T any] struct {
	// Name is the plugin's name in logs and status.
	Name string
	// Launch starts the plugin process.
	Launch LaunchFunc[T]
	// Setup prepares a freshly launched plugin before anyone else may use
	// it: open the store, configure the backend, re-apply desired state. It
	// runs after the first launch and after every restart, within
	// SetupTimeout (0 means 1 minute) on a restart. An error counts as a
	// crash of that instance.
	Setup        func(ctx context.Context, plugin T) error
	SetupTimeout time.Duration

	// HealthInterval is the pause between health pings; 0 means 1s. The
	// first ping follows Setup at once.
	HealthInterval time.Duration
	// HealthTimeout is the least time a ping is given; 0 means
	// HealthInterval. A ping is given the larger of HealthTimeout and ten
	// times the plugin's smoothed answer time, doubled after each miss in
	// a row, and at most HealthTimeoutMax (0 means 8 × HealthTimeout).
	HealthTimeout, HealthTimeoutMax time.Duration
	// HealthMisses pings in a row that fail or outlive their timeout count
	// as a crash; 0 means 3. A single miss does not: a plugin starved of
	// CPU answers late but is alive. With the defaults a plugin that
	// answers nothing at all is relaunched within about 11 s.
	HealthMisses int

	// BackoffInitial and BackoffMax bound the exponential delay between
	// relaunches; 0 means 20ms and 5s. An instance that proved healthy —
	// Setup succeeded and it answered a ping — is relaunched at once when
	// it ends, however short its life; if that relaunch fails, or the new
	// instance ends before proving healthy, the next waits BackoffInitial,
	// and each further one twice the one before.
	BackoffInitial, BackoffMax time.Duration

	// More than BreakerRestarts restarts within BreakerWindow open the
	// crash-loop breaker (0 means 5 within 1 minute), and so does a launch
	// error wrapping ErrPermanent. While it is open the state is broken and
	// Get fails at once with ErrBroken. After BreakerCooldown the breaker
	// half-opens: one launch is tried; if it fails, or the instance fails
	// before it proves healthy, the breaker opens again for twice as long,
	// up to BreakerCooldownMax. 0 means 10s and 5 minutes. A plugin is
	// thus retried for ever, at most once per BreakerCooldownMax once it
	// has failed long enough; the cooldown starts over once an instance
	// proves healthy.
	BreakerRestarts                     int
	BreakerWindow                       time.Duration
	BreakerCooldown, BreakerCooldownMax time.Duration
	// OnBroken, if set, is called each time the breaker opens, with the
	// supervisor's status then. It runs on the supervisor's goroutine,
	// holding no lock: it must return promptly and must not call Close.
	OnBroken func(Status)
	// OnFailure, if set, is called each time an instance ends (it exited,
	// or failed its health checks) and each time a relaunch fails, with
	// the supervisor's status then (LastError says why). OnRelaunch, if
	// set, is called each time a relaunched instance has been set up and
	// serves. Both run on the supervisor's goroutine, holding no lock:
	// they must return promptly and must not call Close.
	OnFailure, OnRelaunch func(Status)

	// Logger; nil discards.
	Logger *slog.Logger
}

// latencyFactor is how many times its smoothed answer time a ping is given
// before it counts as missed.
const latencyFactor = 10

// Log messages a caller (or a test) may look for.
const (
	msgRelaunching = "plugin failed; relaunching"
	msgBreakerOpen = "plugin crash-looped; the breaker is open"
)

// State is a supervisor's phase.
type State string

// Supervisor states.
const (
	StateRunning    State = "running"
	StateRestarting State = "restarting" // relaunching, or trying once with the breaker half-open
	StateBroken     State = "broken"     // the breaker is open until NextAttempt
	StateClosed     State = "closed"
)

// Status is a snapshot of a supervisor for reporting.
type Status struct {
	Name      string
	State     State
	Restarts  int    // relaunches since Start
	LastError string // why the last instance ended, if it did
	// NextAttempt is when an open breaker half-opens; zero unless broken.
	NextAttempt time.Time
	// MissedPings counts the running instance's health checks missed in a
	// row; PingLatency is its smoothed answer time.
	MissedPings int
	PingLatency time.Duration
}

// Supervisor keeps one plugin process running. It is safe for concurrent use.
type Supervisor[T any] struct {
	cfg    Config[T]
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}
	// releasing counts the Kills of reaped instances still running in the
	// background (see release); done is closed only after they return.
	releasing sync.WaitGroup

	// mu guards the fields below. Nothing is called while it is held
	// (OnBroken and Kill run after it is released).
	mu       sync.Mutex
	cond     chan struct{} // closed and replaced whenever inst or state changes
	inst     Instance[T]   // nil while restarting, broken or closed
	state    State
	restarts int
	lastErr  string
	recent   []time.Time   // restart times within the breaker window
	trips    int           // breaker openings since an instance last proved healthy
	next     time.Time     // when the open breaker half-opens
	cool     time.Duration // the cooldown of the breaker's last opening
	missed   int
	latency  time.Duration
}

// Start launches the plugin and runs Setup once, synchronously: if either
// fails, Start fails and nothing keeps running. Afterwards the supervisor
// watches the plugin until Close.
func Start[T any](ctx context.Context, cfg Config[T]) (*Supervisor[T], error) {
	if cfg.HealthInterval <= 0 {
		cfg.HealthInterval = time.Second
	}
	if cfg.HealthTimeout <= 0 {
		cfg.HealthTimeout = cfg.HealthInterval
	}
	if cfg.HealthTimeoutMax <= 0 {
		cfg.HealthTimeoutMax = 8 * cfg.HealthTimeout
	}
	if cfg.HealthMisses <= 0 {
		cfg.HealthMisses = 3
	}
	if cfg.SetupTimeout <= 0 {
		cfg.SetupTimeout = time.Minute
	}
	if cfg.BackoffInitial <= 0 {
		cfg.BackoffInitial = 20 * time.Millisecond
	}
	if cfg.BackoffMax <= 0 {
		cfg.BackoffMax = 5 * time.Second
	}
	if cfg.BreakerRestarts <= 0 {
		cfg.BreakerRestarts = 5
	}
	if cfg.BreakerWindow <= 0 {
		cfg.BreakerWindow = time.Minute
	}
	if cfg.BreakerCooldown <= 0 {
		cfg.BreakerCooldown = 10 * time.Second
	}
	if cfg.BreakerCooldownMax <= 0 {
		cfg.BreakerCooldownMax = 5 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Supervisor[T]{cfg: cfg, log: cfg.Logger.With("plugin", cfg.Name), cond: make(chan struct{}), done: make(chan struct{})}
	inst, err := s.launch(ctx, 0)
	if err != nil {
		return nil, err
	}
	s.inst, s.state = inst, StateRunning
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.run(runCtx, inst)
	return s, nil
}

// launch starts an instance and sets it up, Setup within setupTimeout if
// it is positive (so that a plugin hanging in Setup cannot wedge a
// relaunch); on a Setup failure the instance is killed.
func (s *Supervisor[T]) launch(ctx context.Context, setupTimeout time.Duration) (Instance[T], error) {
	inst, err := s.cfg.Launch(ctx)
	if err != nil {
		return nil, fmt.Errorf("launching plugin %s: %w", s.cfg.Name, err)
	}
	if s.cfg.Setup != nil {
		sctx, cancel := ctx, context.CancelFunc(func() {})
		if setupTimeout > 0 {
			sctx, cancel = context.WithTimeout(ctx, setupTimeout)
		}
		err := s.cfg.Setup(sctx, inst.Plugin())
		cancel()
		if err != nil {
			inst.Kill()
			return nil, fmt.Errorf("setting up plugin %s: %w", s.cfg.Name, err)
		}
	}
	return inst, nil
}

// run watches inst until it fails, then relaunches it, until the
// supervisor closes. The relaunch after an instance that proved healthy is
// immediate; others wait an exponentially growing delay, reset when an
// instance proves healthy; a crash loop opens the breaker, which
// half-opens after a cooldown that grows the same way (see Config).
func (s *Supervisor[T]) run(ctx context.Context, inst Instance[T]) {
	defer close(s.done)
	defer s.releasing.Wait()
	backoff := s.cfg.BackoffInitial
	for {
		why, proven := s.watch(ctx, inst)
		if ctx.Err() != nil {
			inst.Kill()
			return
		}
		delay := backoff
		backoff = min(2*backoff, s.cfg.BackoffMax)
		if proven {
			// A healthy instance's death is news, not a loop: relaunch
			// at once. The breaker still bounds how often this happens.
			delay, backoff = 0, s.cfg.BackoffInitial
		}
		open := s.noteRestart(why, false) // no caller gets inst from here on
		s.notify(s.cfg.OnFailure)
		s.release(inst)
		if !open {
			s.log.Warn(msgRelaunching, "reason", why, "delay", delay)
		}
		for {
			if open {
				delay = s.openBreaker()
			}
			if !sleep(ctx, delay) {
				return
			}
			if open {
				s.halfOpen()
			}
			next, err := s.launch(ctx, s.cfg.SetupTimeout)
			if ctx.Err() != nil {
				if err == nil {
					next.Kill()
				}
				return
			}
			if err == nil {
				inst = next
				s.setInstance(inst)
				s.notify(s.cfg.OnRelaunch)
				break
			}
			delay = backoff
			backoff = min(2*backoff, s.cfg.BackoffMax)
			open = s.noteRestart(err.Error(), errors.Is(err, ErrPermanent))
			s.notify(s.cfg.OnFailure)
			if !open {
				s.log.Warn("relaunch failed", "err", err, "delay", delay)
			}
		}
	}
}

// release kills inst, which no caller gets any longer. An instance whose
// process has been reaped holds nothing its successor needs (its sockets,
// ports and devices went with the process), and Kill only releases the
// host's side of it (connection, pipes), which takes a few milliseconds
// that the relaunch need not wait: it runs in the background. An instance
// still running (it failed its health checks) may hold the port or device
// its successor needs, so it is killed before anything is relaunched.
func (s *Supervisor[T]) release(inst Instance[T]) {
	select {
	case <-inst.Done():
		s.releasing.Go(inst.Kill)
	default:
		inst.Kill()
	}
}

// notify calls hook, if set, with the status; s.mu must not be held.
func (s *Supervisor[T]) notify(hook func(Status)) {
	if hook != nil {
		hook(s.Status())
	}
}

// sleep waits d, or until ctx is done; it reports whether ctx is still live.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// watch pings inst until it stops being healthy and returns why, and
// whether it proved healthy (answered a ping) first.
func (s *Supervisor[T]) watch(ctx context.Context, inst Instance[T]) (why string, proven bool) {
	var srtt time.Duration // smoothed answer time
	misses := 0
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return "supervisor closed", proven
		case <-inst.Done():
			return "process exited", proven
		case <-t.C:
		}
		select { // a dead process is not pinged: it cannot prove anything
		case <-inst.Done():
			return "process exited", proven
		default:
		}
		timeout := s.pingTimeout(srtt, misses)
		start := time.Now()
		pctx, cancel := context.WithTimeout(ctx, timeout)
		err := inst.Ping(pctx)
		cancel()
		if ctx.Err() != nil {
			return "supervisor closed", proven
		}
		if err == nil {
			rtt := time.Since(start)
			if srtt == 0 {
				srtt = rtt
			} else {
				srtt += (rtt - srtt) / 8
			}
			misses = 0
			if !proven {
				proven = true
				s.markHealthy()
			}
		} else {
			misses++
			select {
			case <-inst.Done():
				return "process exited", proven
			default:
			}
			if misses >= s.cfg.HealthMisses {
				return fmt.Sprintf("health check failed %d times in a row (the last within %s): %v", misses, timeout, err), proven
			}
			s.log.Warn("health check missed; the plugin may only be slow", "missed", misses, "of", s.cfg.HealthMisses, "timeout", timeout, "err", err)
		}
		s.notePing(misses, srtt)
		t.Reset(s.cfg.HealthInterval)
	}
}

// pingTimeout is the time the next ping is given (see Config.HealthTimeout).
func (s *Supervisor[T]) pingTimeout(srtt time.Duration, misses int) time.Duration {
	d := max(s.cfg.HealthTimeout, latencyFactor*srtt)
	for i := 0; i < misses && d < s.cfg.HealthTimeoutMax; i++ {
		d *= 2
	}
	return min(d, s.cfg.HealthTimeoutMax)
}

func (s *Supervisor[T]) notePing(misses int, srtt time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.missed, s.latency = misses, srtt
}

// markHealthy records that the running instance proved healthy: the
// breaker's cooldown starts over.
func (s *Supervisor[T]) markHealthy() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.trips = 0
}

// noteRestart records a restart and why. It reports whether the breaker
// is to open: this restart exceeds the window's budget, the failure is
// permanent, or the breaker was half-open (an attempt after a cooldown
// that failed before proving healthy).
func (s *Supervisor[T]) noteRestart(why string, permanent bool) (open bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	keep := s.recent[:0]
	for _, t := range s.recent {
		if now.Sub(t) < s.cfg.BreakerWindow {
			keep = append(keep, t)
		}
	}
	s.recent = append(keep, now)
	s.restarts++
	s.lastErr = why
	s.inst, s.missed, s.latency = nil, 0, 0
	open = permanent || s.trips > 0 || len(s.recent) > s.cfg.BreakerRestarts
	if open {
		// Opened here, with its next attempt, in the same hold of s.mu as
		// the state that says so: a Get woken by ErrBroken reads both.
		s.trips++
		s.cool = s.cfg.BreakerCooldown
		for i := 1; i < s.trips && s.cool < s.cfg.BreakerCooldownMax; i++ {
			s.cool *= 2
		}
		s.cool = min(s.cool, s.cfg.BreakerCooldownMax)
	}
	if s.state != StateClosed {
		s.state = StateRestarting
		if open {
			s.state, s.next = StateBroken, now.Add(s.cool)
		}
		s.broadcast()
	}
	return open
}

// openBreaker reports the breaker noteRestart opened (log, OnBroken) and
// returns its cooldown, which doubles with each opening since an
// instance last proved healthy.
func (s *Supervisor[T]) openBreaker() time.Duration {
	s.mu.Lock()
	cool := s.cool
	st, recent := s.statusLocked(), len(s.recent)
	s.mu.Unlock()
	s.log.Error(msgBreakerOpen, "restarts_in_window", recent, "window", s.cfg.BreakerWindow, "retry_in", cool, "last_error", st.LastError)
	if s.cfg.OnBroken != nil && st.State == StateBroken {
		s.cfg.OnBroken(st)
	}
	return cool
}

// halfOpen marks the one attempt an open breaker allows: callers of Get
// wait for it instead of failing.
func (s *Supervisor[T]) halfOpen() {
	s.mu.Lock()
	if s.state != StateClosed {
		s.state, s.next = StateRestarting, time.Time{}
		s.broadcast()
	}
	s.mu.Unlock()
	s.log.Info("trying the plugin again (breaker half-open)")
}

func (s *Supervisor[T]) setInstance(inst Instance[T]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == StateClosed {
		inst.Kill()
		return
	}
	s.inst, s.state, s.next = inst, StateRunning, time.Time{}
	s.broadcast()
}

// broadcast wakes every Get waiting for a change; s.mu must be held.
func (s *Supervisor[T]) broadcast() {
	close(s.cond)
	s.cond = make(chan struct{})
}

// Get returns the plugin's client, waiting (until ctx is done) while the
// plugin is being relaunched. It fails at once with ErrBroken while the
// breaker is open, and with hostapi.ErrClosed after Close.
func (s *Supervisor[T]) Get(ctx context.Context) (T, error) {
	var zero T
	for {
		s.mu.Lock()
		inst, state, wake := s.inst, s.state, s.cond
		st := s.statusLocked()
		s.mu.Unlock()
		switch {
		case state == StateClosed:
			return zero, hostapi.Errorf(hostapi.CodeClosed, "plugin %s is closed", s.cfg.Name)
		case state == StateBroken:
			return zero, fmt.Errorf("plugin %s: %w (last failure: %s; next attempt at %s)",
				s.cfg.Name, ErrBroken, st.LastError, st.NextAttempt.Format(time.RFC3339))
		case inst != nil:
			return inst.Plugin(), nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return zero, hostapi.Errorf(hostapi.CodeUnavailable, "plugin %s is restarting: %v", s.cfg.Name, ctx.Err())
		}
	}
}

// Status reports the supervisor's state.
func (s *Supervisor[T]) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.statusLocked()
}

func (s *Supervisor[T]) statusLocked() Status {
	st := Status{Name: s.cfg.Name, State: s.state, Restarts: s.restarts, LastError: s.lastErr,
		MissedPings: s.missed, PingLatency: s.latency}
	if s.state == StateBroken {
		st.NextAttempt = s.next
	}
	return st
}

// Close stops supervising and kills the plugin. It waits until the
// supervisor's goroutine has ended; idempotent.
func (s *Supervisor[T]) Close() {
	s.mu.Lock()
	if s.state == StateClosed {
		s.mu.Unlock()
		<-s.done
		return
	}
	s.state = StateClosed
	inst := s.inst
	s.inst = nil
	s.broadcast()
	s.mu.Unlock()
	s.cancel()
	if inst != nil {
		inst.Kill()
	}
	<-s.done
}
