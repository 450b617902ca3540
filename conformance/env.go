package conformance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"github.com/rustynet/rustynet/hostapi"
)

// Env is what a case runs with: the target's description, fresh plugin
// instances on demand, temporary directories, and a cleanup stack the
// engine unwinds when the case ends. Every instance an Env starts is killed
// at cleanup. An Env belongs to one case run; its methods are safe for
// concurrent use by the goroutines of that case.
type Env struct {
	// Kind is the kind of plugin under test.
	Kind Kind
	// StoreInfo and BackendInfo are what the plugin's Info returned when
	// the run started (the one matching Kind).
	StoreInfo   hostapi.StoreInfo
	BackendInfo hostapi.BackendInfo
	// Harness is what the way the suite reaches the plugin offers.
	Harness Harness

	s   *session
	rec *recorder

	mu       sync.Mutex // guards the fields below
	cleanups []func()
	logs     []string
}

func newEnv(s *session) *Env {
	return &Env{
		Kind:        s.kind,
		StoreInfo:   s.storeInfo,
		BackendInfo: s.backendInfo,
		Harness:     s.harness,
		s:           s,
		rec:         newRecorder(),
	}
}

// Cleanup registers f to run when the case ends, after the case's own code
// and before the cleanups registered earlier (last in, first out).
func (e *Env) Cleanup(f func()) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.cleanups = append(e.cleanups, f)
}

// Logf records a line in the case's result (shown with failures and in
// JUnit output).
func (e *Env) Logf(format string, args ...any) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.logs = append(e.logs, fmt.Sprintf(format, args...))
}

// unwind runs the cleanups, last registered first.
func (e *Env) unwind() {
	for {
		e.mu.Lock()
		n := len(e.cleanups)
		if n == 0 {
			e.mu.Unlock()
			return
		}
		f := e.cleanups[n-1]
		e.cleanups = e.cleanups[:n-1]
		e.mu.Unlock()
		f()
	}
}

// TempDir returns a new empty directory (mode 0700) that is removed when
// the case ends.
func (e *Env) TempDir() (string, error) {
	dir, err := os.MkdirTemp(e.s.tempRoot, "case-")
	if err != nil {
		return "", err
	}
	e.Cleanup(func() { removeAll(dir) })
	return dir, nil
}

// crashIterations is how many times a kill-during-writes case kills a
// writer (Options.CrashIterations).
func (e *Env) crashIterations() int { return e.s.opts.CrashIterations }

// removeAll removes dir even where a case took away the owner's write or
// search permission on something below it.
func removeAll(dir string) {
	_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			_ = os.Chmod(path, 0o700)
		}
		return nil
	})
	_ = os.RemoveAll(dir)
}

// StartStore starts a fresh instance of the store under test: a new plugin
// process for a binary target, a new Store served in process otherwise. It
// is not opened. It is killed when the case ends.
func (e *Env) StartStore(ctx context.Context) (*StoreInstance, error) {
	if e.Kind != KindStore {
		return nil, fmt.Errorf("conformance: StartStore on a %s target", e.Kind)
	}
	c, err := e.s.target.startStore(ctx, e.rec.logger())
	if err != nil {
		return nil, fmt.Errorf("starting a store instance: %w", err)
	}
	e.Cleanup(c.Kill)
	return &StoreInstance{StoreClient: c, inProcess: !e.s.target.launched()}, nil
}

// OpenStore starts a fresh instance and opens it on dir. It is closed and
// killed when the case ends.
func (e *Env) OpenStore(ctx context.Context, dir string) (*StoreInstance, error) {
	s, err := e.StartStore(ctx)
	if err != nil {
		return nil, err
	}
	if err := s.Open(ctx, hostapi.StoreConfig{Dir: dir}); err != nil {
		return nil, fmt.Errorf("Open(%s): %w", dir, err)
	}
	e.Cleanup(func() { _ = s.Close(context.Background()) })
	return s, nil
}

// Nodes returns n fresh nodes (1 or 2) of the target's topology.
func (e *Env) Nodes(ctx context.Context, n int) ([]*Node, error) {
	return e.s.topology.Nodes(ctx, e, n)
}

// StartBackend starts a fresh, unconfigured instance of the backend under
// test in node (nil: a fresh node of the topology). It is killed when the
// case ends.
func (e *Env) StartBackend(ctx context.Context, node *Node) (*BackendInstance, error) {
	if e.Kind != KindBackend {
		return nil, fmt.Errorf("conformance: StartBackend on a %s target", e.Kind)
	}
	return e.startBackend(ctx, e.s.target, node)
}

// StartReference starts a fresh instance of the reference backend in node;
// it needs HarnessReference.
func (e *Env) StartReference(ctx context.Context, node *Node) (*BackendInstance, error) {
	if e.s.reference == nil {
		return nil, Skip("no reference backend given")
	}
	return e.startBackend(ctx, e.s.reference, node)
}

func (e *Env) startBackend(ctx context.Context, l *launcher, node *Node) (*BackendInstance, error) {
	if node == nil {
		nodes, err := e.Nodes(ctx, 1)
		if err != nil {
			return nil, err
		}
		node = nodes[0]
	}
	c, err := l.startBackend(ctx, node, e.rec.logger())
	if err != nil {
		if IsSkip(err) {
			return nil, err
		}
		return nil, fmt.Errorf("starting a backend instance of %s in node %s: %w", l.name, node.Name, err)
	}
	e.Cleanup(c.Kill)
	info, err := c.Info(ctx)
	if err != nil {
		return nil, fmt.Errorf("Info of %s: %w", l.name, err)
	}
	return &BackendInstance{BackendClient: c, Node: node, info: info, inProcess: !l.launched()}, nil
}

// binary returns the target's launch configuration, for cases that launch
// the plugin themselves (HarnessProcess).
func (e *Env) binary() hostapi.LaunchConfig { return e.s.target.binary }

// StoreInstance is one running instance of the store under test.
type StoreInstance struct {
	*hostapi.StoreClient
	// inProcess: the suite did not launch the plugin's process (it is
	// this one, or reattached), so it may neither kill nor inspect it.
	inProcess bool
}

// Crash SIGKILLs the instance's plugin process and waits until it has
// exited; the client is then released. It needs HarnessKill.
func (s *StoreInstance) Crash(ctx context.Context) error {
	return crash(ctx, s.inProcess, s.Pid(), s.Done(), s.Kill)
}

// BackendInstance is one running instance of a backend, in a node.
type BackendInstance struct {
	*hostapi.BackendClient
	// Node is where the instance runs.
	Node      *Node
	info      hostapi.BackendInfo // what Info returned at start
	inProcess bool                // as in StoreInstance
}

// crash SIGKILLs pid and waits until done is closed, then calls release.
func crash(ctx context.Context, inProcess bool, pid int, done <-chan struct{}, release func()) error {
	if inProcess || !canKill {
		return Skip("SIGKILL needs the plugin as a process of its own on Unix")
	}
	if err := sigkill(pid); err != nil {
		return fmt.Errorf("SIGKILL plugin %d: %w", pid, err)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return fmt.Errorf("plugin %d has not exited after SIGKILL: %w", pid, ctx.Err())
	}
	release()
	return nil
}
