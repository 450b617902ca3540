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
	// Kill ends the process and releases the client; idempotent.
	Kill()
}

// LaunchFunc starts one plugin process. An error that wraps ErrPermanent
// (a pinned hash mismatch, a missing binary) is not retried.
type LaunchFunc[T any] func(ctx context.Context) (Instance[T], error)

// ErrPermanent marks launch errors that a retry cannot fix.
var ErrPermanent = errors.New("permanent plugin failure")

// ErrBroken is returned by Get once the crash-loop breaker has tripped.
var ErrBroken = hostapi.Errorf(hostapi.CodeUnavailable, "plugin crash-looped; the breaker is open")

// Config configures a Supervisor.
type Config[T any] struct {
	// Name is the plugin's name in logs and status.
	Name string
	// Launch starts the plugin process.
	Launch LaunchFunc[T]
	// Setup prepares a freshly launched plugin before anyone else may use
	// it: open the store, configure the backend, re-apply desired state. It
	// runs after the first launch and after every restart. An error counts
	// as a crash of that instance.
	Setup func(ctx context.Context, plugin T) error
	// HealthInterval between pings; 0 means 1s. A ping that fails or takes
	// longer than the interval counts as a crash.
	HealthInterval time.Duration
	// BackoffInitial and BackoffMax bound the exponential delay between
	// relaunches; 0 means 20ms and 5s. A plugin that stays healthy for
	// BreakerWindow resets the backoff.
	BackoffInitial, BackoffMax time.Duration
	// BreakerRestarts restarts within BreakerWindow trip the breaker;
	// 0 means 5 within 1 minute.
	BreakerRestarts int
	BreakerWindow   time.Duration
	// Logger; nil discards.
	Logger *slog.Logger
}

// State is a supervisor's phase.
type State string

// Supervisor states.
const (
	StateRunning    State = "running"
	StateRestarting State = "restarting"
	StateBroken     State = "broken"
	StateClosed     State = "closed"
)

// Status is a snapshot of a supervisor for reporting.
type Status struct {
	Name      string
	State     State
	Restarts  int    // relaunches since Start
	LastError string // why the last instance ended, if it did
}

// Supervisor keeps one plugin process running. It is safe for concurrent use.
type Supervisor[T any] struct {
	cfg    Config[T]
	log    *slog.Logger
	cancel context.CancelFunc
	done   chan struct{}

	mu       sync.Mutex
	cond     chan struct{} // closed and replaced whenever inst or state changes
	inst     Instance[T]   // nil while restarting, broken or closed
	state    State
	restarts int
	lastErr  string
	recent   []time.Time // restart times within the breaker window
}

// Start launches the plugin and runs Setup once, synchronously: if either
// fails, Start fails and nothing keeps running. Afterwards the supervisor
// watches the plugin until Close.
func Start[T any](ctx context.Context, cfg Config[T]) (*Supervisor[T], error) {
	if cfg.HealthInterval == 0 {
		cfg.HealthInterval = time.Second
	}
	if cfg.BackoffInitial == 0 {
		cfg.BackoffInitial = 20 * time.Millisecond
	}
	if cfg.BackoffMax == 0 {
		cfg.BackoffMax = 5 * time.Second
	}
	if cfg.BreakerRestarts == 0 {
		cfg.BreakerRestarts = 5
	}
	if cfg.BreakerWindow == 0 {
		cfg.BreakerWindow = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Supervisor[T]{cfg: cfg, log: cfg.Logger.With("plugin", cfg.Name), cond: make(chan struct{}), done: make(chan struct{})}
	inst, err := s.launch(ctx)
	if err != nil {
		return nil, err
	}
	s.inst, s.state = inst, StateRunning
	runCtx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	go s.run(runCtx, inst)
	return s, nil
}

// launch starts an instance and sets it up; on a Setup failure the instance
// is killed.
func (s *Supervisor[T]) launch(ctx context.Context) (Instance[T], error) {
	inst, err := s.cfg.Launch(ctx)
	if err != nil {
		return nil, fmt.Errorf("launching plugin %s: %w", s.cfg.Name, err)
	}
	if s.cfg.Setup != nil {
		if err := s.cfg.Setup(ctx, inst.Plugin()); err != nil {
			inst.Kill()
			return nil, fmt.Errorf("setting up plugin %s: %w", s.cfg.Name, err)
		}
	}
	return inst, nil
}

// run watches inst until it fails, then relaunches until the breaker trips
// or the supervisor closes. The first relaunch after an instance that was
// healthy for a whole breaker window is immediate; each relaunch after a
// short-lived instance or a failed launch waits an exponentially growing
// delay.
func (s *Supervisor[T]) run(ctx context.Context, inst Instance[T]) {
	defer close(s.done)
	backoff := s.cfg.BackoffInitial
	for {
		launched := time.Now()
		why := s.watch(ctx, inst)
		inst.Kill()
		if ctx.Err() != nil {
			return
		}
		delay := time.Duration(0)
		if time.Since(launched) < s.cfg.BreakerWindow {
			delay, backoff = backoff, min(2*backoff, s.cfg.BackoffMax)
		} else {
			backoff = s.cfg.BackoffInitial
		}
		s.log.Warn("plugin failed; relaunching", "reason", why, "delay", delay)
		if !s.noteRestart(why) {
			s.log.Error("plugin crash-looped; giving up", "restarts", s.cfg.BreakerRestarts, "window", s.cfg.BreakerWindow)
			return
		}
		for {
			select {
			case <-time.After(delay):
			case <-ctx.Done():
				return
			}
			next, err := s.launch(ctx)
			if err == nil {
				inst = next
				s.setInstance(inst)
				break
			}
			if ctx.Err() != nil {
				return
			}
			if errors.Is(err, ErrPermanent) || !s.noteRestart(err.Error()) {
				s.trip(err.Error())
				s.log.Error("plugin cannot be relaunched; giving up", "err", err)
				return
			}
			s.log.Warn("relaunch failed", "err", err)
			delay, backoff = backoff, min(2*backoff, s.cfg.BackoffMax)
		}
	}
}

// watch returns why inst stopped being healthy.
func (s *Supervisor[T]) watch(ctx context.Context, inst Instance[T]) string {
	tick := time.NewTicker(s.cfg.HealthInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return "supervisor closed"
		case <-inst.Done():
			return "process exited"
		case <-tick.C:
			pctx, cancel := context.WithTimeout(ctx, s.cfg.HealthInterval)
			err := inst.Ping(pctx)
			cancel()
			if err != nil && ctx.Err() == nil {
				return "health check failed: " + err.Error()
			}
		}
	}
}

// noteRestart records a restart; it reports false (and trips the breaker)
// if this restart exceeds the breaker's budget.
func (s *Supervisor[T]) noteRestart(why string) bool {
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
	s.inst = nil
	if len(s.recent) > s.cfg.BreakerRestarts {
		s.state = StateBroken
	} else {
		s.state = StateRestarting
	}
	s.broadcast()
	return s.state != StateBroken
}

func (s *Supervisor[T]) trip(why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.state, s.lastErr, s.inst = StateBroken, why, nil
	s.broadcast()
}

func (s *Supervisor[T]) setInstance(inst Instance[T]) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.state == StateClosed {
		inst.Kill()
		return
	}
	s.inst, s.state = inst, StateRunning
	s.broadcast()
}

// broadcast wakes every Get waiting for a change; s.mu must be held.
func (s *Supervisor[T]) broadcast() {
	close(s.cond)
	s.cond = make(chan struct{})
}

// Get returns the plugin's client, waiting (until ctx is done) while the
// plugin is being relaunched. It fails with ErrBroken once the breaker has
// tripped and with hostapi.ErrClosed after Close.
func (s *Supervisor[T]) Get(ctx context.Context) (T, error) {
	var zero T
	for {
		s.mu.Lock()
		inst, state, wake := s.inst, s.state, s.cond
		s.mu.Unlock()
		switch {
		case state == StateClosed:
			return zero, hostapi.Errorf(hostapi.CodeClosed, "plugin %s is closed", s.cfg.Name)
		case state == StateBroken:
			return zero, fmt.Errorf("plugin %s: %w (last failure: %s)", s.cfg.Name, ErrBroken, s.Status().LastError)
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
	return Status{Name: s.cfg.Name, State: s.state, Restarts: s.restarts, LastError: s.lastErr}
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
