package conformance

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// DefaultCaseTimeout bounds one case when Options.CaseTimeout is zero.
const DefaultCaseTimeout = 3 * time.Minute

// DefaultCrashIterations is how many times each kill-during-writes case
// kills a writer when Options.CrashIterations is zero.
const DefaultCrashIterations = 6

// abandonGrace is how long the engine waits for a case that ignores its
// done context before it reports the case as hung and moves on.
const abandonGrace = 15 * time.Second

// Options adjust a run of the suite.
type Options struct {
	// Match selects cases by ID; nil selects every case.
	Match func(id string) bool
	// MustOnly runs only MUST cases.
	MustOnly bool
	// CaseTimeout bounds each case; zero means DefaultCaseTimeout, and a
	// second more for every CrashIterations beyond the default.
	CaseTimeout time.Duration
	// Cases replaces the built-in cases of the target's kind; nil means
	// StoreCases() or BackendCases().
	Cases []Case
	// TempDir is where the run makes its directories; empty means
	// os.TempDir().
	TempDir string
	// Started, if not nil, receives a copy of the report before the first
	// case runs: the plugin as the run found it (Plugin, SHA256, Args,
	// Kind, ProtocolVersion, Info, Started) and no results yet.
	Started func(*Report)
	// Progress, if not nil, receives each result as soon as its case ends.
	Progress func(Result)
	// Logger receives the engine's own messages; nil discards them.
	Logger *slog.Logger
	// CrashIterations is how many times each kill-during-writes case
	// (store.durable.kill-during-appends, store.snapshot.atomic-kill,
	// store.truncate.kill) kills a writer; zero means DefaultCrashIterations. More kills land
	// in more places of a write.
	CrashIterations int
	// Strict holds the plugin to the SHOULD cases as well: in RunStore
	// and RunBackend a failing SHOULD case fails its subtest as a MUST
	// case does. It is for plugins that promise the recommended behaviour
	// too, as the built-in ones do. Reports keep each case's level and
	// ignore it.
	Strict bool
}

// LaunchError is returned when the plugin cannot be started and asked for
// its Info at all, so that no case can run.
type LaunchError struct{ Err error }

// Error says that the plugin cannot be launched, and why.
func (e *LaunchError) Error() string { return "cannot launch the plugin: " + e.Err.Error() }

// Unwrap returns the launch's error, with its hostapi code.
func (e *LaunchError) Unwrap() error { return e.Err }

// session is one run against one target: what every case shares.
type session struct {
	kind            Kind
	target          *launcher
	reference       *launcher
	topology        Topology
	storeInfo       hostapi.StoreInfo
	backendInfo     hostapi.BackendInfo
	protocolVersion int
	harness         Harness
	tempRoot        string
	opts            Options
}

// newSession prepares a run: a temporary root and a first instance of the
// plugin, asked for its Info and killed again.
func newSession(ctx context.Context, kind Kind, target, reference *launcher, topo Topology, opts Options) (*session, error) {
	if opts.CrashIterations <= 0 {
		opts.CrashIterations = DefaultCrashIterations
	}
	if opts.CaseTimeout <= 0 {
		opts.CaseTimeout = DefaultCaseTimeout + time.Duration(max(opts.CrashIterations-DefaultCrashIterations, 0))*time.Second
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if topo == nil {
		topo = Loopback
	}
	root, err := os.MkdirTemp(opts.TempDir, "rustynet-conformance-")
	if err != nil {
		return nil, err
	}
	s := &session{kind: kind, target: target, reference: reference, topology: topo, tempRoot: root, opts: opts}
	s.harness = target.harness()
	if reference != nil {
		s.harness |= HarnessReference
	}
	rec := newRecorder()
	if err := s.probe(ctx, rec); err != nil {
		removeAll(root)
		for _, line := range rec.tail() {
			opts.Logger.Info("plugin log", "line", line)
		}
		return nil, &LaunchError{Err: err}
	}
	return s, nil
}

// probe starts one instance to learn the plugin's Info and protocol
// version. Backends run in the host's network here: Info needs nothing
// else.
func (s *session) probe(ctx context.Context, rec *recorder) error {
	switch s.kind {
	case KindStore:
		c, err := s.target.startStore(ctx, rec.logger())
		if err != nil {
			return err
		}
		defer c.Kill()
		s.protocolVersion = c.ProtocolVersion()
		if s.storeInfo, err = c.Info(ctx); err != nil {
			return fmt.Errorf("Info: %w", err)
		}
	case KindBackend:
		c, err := s.target.startBackend(ctx, &Node{Name: "host"}, rec.logger())
		if err != nil {
			return err
		}
		defer c.Kill()
		s.protocolVersion = c.ProtocolVersion()
		if s.backendInfo, err = c.Info(ctx); err != nil {
			return fmt.Errorf("Info: %w", err)
		}
	default:
		return fmt.Errorf("unknown plugin kind %q", s.kind)
	}
	return nil
}

func (s *session) close() { removeAll(s.tempRoot) }

// cases returns the cases the options select, in suite order.
func (s *session) cases() []Case {
	all := s.opts.Cases
	if all == nil {
		all = casesFor(s.kind)
	}
	var out []Case
	for _, c := range all {
		if s.opts.MustOnly && c.Level != Must {
			continue
		}
		if s.opts.Match != nil && !s.opts.Match(c.ID) {
			continue
		}
		out = append(out, c)
	}
	return out
}

// runCase runs one case with a fresh Env and returns its result.
func (s *session) runCase(ctx context.Context, c Case) (res Result) {
	start := time.Now()
	res = Result{ID: c.ID, Level: c.Level, Rule: c.Rule}
	defer func() { res.Duration = time.Since(start) }()
	if why := c.missing(s.storeInfo.Capabilities, s.backendInfo.Capabilities, s.harness); why != "" {
		res.Status, res.Message = StatusSkip, why
		return res
	}

	env := newEnv(s)
	cctx, cancel := context.WithTimeout(ctx, s.opts.CaseTimeout)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runGuarded(cctx, c, env) }()
	var err error
	select {
	case err = <-done:
	case <-cctx.Done():
		grace := time.NewTimer(abandonGrace)
		select {
		case err = <-done:
		case <-grace.C:
			err = fmt.Errorf("the case did not return within %s of its deadline (%v); abandoned", abandonGrace, cctx.Err())
		}
		grace.Stop()
	}
	env.unwind()

	env.mu.Lock()
	res.Log = append(res.Log, env.logs...)
	env.mu.Unlock()
	switch {
	case err == nil:
		res.Status = StatusPass
	case IsSkip(err):
		res.Status, res.Message = StatusSkip, skipReason(err)
	default:
		res.Status, res.Message = StatusFail, err.Error()
		if errors.Is(err, context.DeadlineExceeded) && cctx.Err() != nil {
			res.Message = fmt.Sprintf("timed out after %s: %v", s.opts.CaseTimeout, err)
		}
		res.Log = append(res.Log, env.rec.tail()...)
	}
	return res
}

// runGuarded runs c, turning a panic into an error.
func runGuarded(ctx context.Context, c Case, env *Env) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("case panicked: %v\n%s", p, debug.Stack())
		}
	}()
	return c.Run(ctx, env)
}

// run runs every selected case in order and builds the report.
func (s *session) run(ctx context.Context) *Report {
	rep := s.newReport()
	if s.opts.Started != nil {
		header := *rep
		s.opts.Started(&header)
	}
	for _, c := range s.cases() {
		if ctx.Err() != nil {
			break
		}
		r := s.runCase(ctx, c)
		if s.opts.Progress != nil {
			s.opts.Progress(r)
		}
		rep.add(r)
	}
	rep.finish()
	return rep
}

// RunStoreSuite runs the store suite against target and returns the report.
// It returns a *LaunchError if the plugin cannot be launched and asked for
// its Info, and an error for an invalid target.
func RunStoreSuite(ctx context.Context, target StoreTarget, opts Options) (*Report, error) {
	l, err := storeLauncher(target)
	if err != nil {
		return nil, err
	}
	s, err := newSession(ctx, KindStore, l, nil, nil, opts)
	if err != nil {
		return nil, err
	}
	defer s.close()
	return s.run(ctx), nil
}

// RunBackendSuite runs the backend suite against target and returns the
// report, as RunStoreSuite does.
func RunBackendSuite(ctx context.Context, target BackendTarget, opts Options) (*Report, error) {
	s, err := backendSession(ctx, target, opts)
	if err != nil {
		return nil, err
	}
	defer s.close()
	return s.run(ctx), nil
}

func backendSession(ctx context.Context, target BackendTarget, opts Options) (*session, error) {
	l, err := backendLauncher(target)
	if err != nil {
		return nil, err
	}
	var ref *launcher
	if target.Reference != nil {
		if ref, err = backendLauncher(*target.Reference); err != nil {
			return nil, fmt.Errorf("reference: %w", err)
		}
	}
	return newSession(ctx, KindBackend, l, ref, target.Topology, opts)
}

// casesFor returns the built-in cases of a kind.
func casesFor(k Kind) []Case {
	if k == KindStore {
		return StoreCases()
	}
	return BackendCases()
}
