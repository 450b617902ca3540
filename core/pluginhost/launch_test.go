//go:build unix

package pluginhost

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/poll"
	storefile "github.com/rustynet/rustynet/plugins/store-file"
)

// pluginModeEnv makes the test binary serve a store plugin instead of
// running tests: the file store, except that it exits (as a crashing
// plugin would) when asked to open a directory named "crash".
const pluginModeEnv = "RUSTYNET_PLUGINHOST_TEST_PLUGIN"

func init() {
	if os.Getenv(pluginModeEnv) == "store" {
		hostapi.ServeStore(crashOnOpen{storefile.New(nil)})
		os.Exit(0)
	}
}

type crashOnOpen struct{ *storefile.Store }

func (c crashOnOpen) Open(ctx context.Context, cfg hostapi.StoreConfig) error {
	if filepath.Base(cfg.Dir) == "crash" {
		os.Exit(7)
	}
	return c.Store.Open(ctx, cfg)
}

func selfLaunch(t testing.TB, mode string) hostapi.LaunchConfig {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return hostapi.LaunchConfig{Path: exe, Env: []string{pluginModeEnv + "=" + mode}, StartTimeout: 20 * time.Second}
}

func TestRealPluginKilledIsRelaunchedAndReopened(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state")
	setups := make(chan int, 10)
	pids := make(chan int, 10)
	launch := StoreLauncher(selfLaunch(t, "store"))
	launches := 0 // touched only by the supervisor's goroutine
	s, err := Start(context.Background(), Config[hostapi.Store]{
		Name: "store-file",
		Launch: func(ctx context.Context) (Instance[hostapi.Store], error) {
			inst, err := launch(ctx)
			if err == nil {
				launches++
				pids <- inst.(storeInstance).Pid()
			}
			return inst, err
		},
		Setup: func(ctx context.Context, st hostapi.Store) error {
			err := st.Open(ctx, hostapi.StoreConfig{Dir: dir})
			setups <- launches
			return err
		},
		HealthInterval: 50 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer s.Close()
	recv(t, setups, "first setup")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	proxy := Store(s)
	if err := proxy.Append(ctx, hostapi.LogEntry{Index: 1, Data: []byte("one")}); err != nil {
		t.Fatal(err)
	}

	if err := syscall.Kill(recv(t, pids, "first pid"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if n := recv(t, setups, "setup after the kill"); n != 2 {
		t.Fatalf("setup ran on launch %d, want 2", n)
	}
	// The relaunched plugin reopened the same directory: the entry is there.
	for {
		// Calls through the proxy wait out the relaunch; one that was in
		// flight on the dead instance fails UNAVAILABLE and is retried.
		head, err := proxy.Head(ctx)
		if err == nil {
			if head != 1 {
				t.Fatalf("head after relaunch = %d, want 1", head)
			}
			break
		}
		if !errors.Is(err, hostapi.ErrUnavailable) && !errors.Is(err, hostapi.ErrClosed) {
			t.Fatalf("Head after relaunch: %v", err)
		}
	}
	if got := s.Status(); got.Restarts != 1 || got.State != StateRunning {
		t.Errorf("status = %+v, want running after 1 restart", got)
	}
}

// TestRealCrashLoopingPluginTripsBreakerAndRecovers crash-loops a real
// plugin until the breaker opens, then lets it work again: the breaker
// half-opens after its cooldown and the plugin serves again, with no one
// restarting the supervisor.
func TestRealCrashLoopingPluginTripsBreakerAndRecovers(t *testing.T) {
	root := t.TempDir()
	var crash atomic.Bool
	pids := make(chan int, 100)
	launch := StoreLauncher(selfLaunch(t, "store"))
	s, err := Start(context.Background(), Config[hostapi.Store]{
		Name: "crasher",
		Launch: func(ctx context.Context) (Instance[hostapi.Store], error) {
			inst, err := launch(ctx)
			if err == nil {
				select {
				case pids <- inst.(storeInstance).Pid():
				default:
				}
			}
			return inst, err
		},
		Setup: func(ctx context.Context, st hostapi.Store) error {
			dir := "ok"
			if crash.Load() {
				dir = "crash" // from now on every relaunched plugin dies in Setup
			}
			return st.Open(ctx, hostapi.StoreConfig{Dir: filepath.Join(root, dir)})
		},
		HealthInterval:     20 * time.Millisecond,
		BackoffInitial:     time.Millisecond,
		BackoffMax:         5 * time.Millisecond,
		BreakerRestarts:    3,
		BreakerCooldown:    10 * time.Millisecond,
		BreakerCooldownMax: 20 * time.Millisecond,
	})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	defer s.Close()
	crash.Store(true)
	if err := syscall.Kill(recv(t, pids, "first pid"), syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
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
	if st := s.Status(); st.State != StateBroken && st.State != StateRestarting {
		t.Errorf("status = %+v, want broken (or half-open: restarting)", st)
	}
	if !errors.Is(ErrBroken, hostapi.ErrUnavailable) {
		t.Error("ErrBroken is not UNAVAILABLE: callers would not know to retry")
	}

	crash.Store(false) // the fault is gone
	err = poll.Until(60*time.Second, 5*time.Millisecond, func() bool {
		head, err := Store(s).Head(ctx)
		return err == nil && head == 0
	})
	if err != nil {
		t.Fatalf("the plugin did not come back once it stopped crashing: %v; status %+v", err, s.Status())
	}
	if st := s.Status(); st.State != StateRunning {
		t.Errorf("status = %+v, want running", st)
	}
}

// observed wraps a real plugin instance to watch its health checks, and
// to make it slow: stop() freezes the process (SIGSTOP: alive, answering
// nothing); once a ping has gone unanswered the next one thaws it
// (SIGCONT) first, so it answers late but answers — a plugin starved of
// CPU, made deterministic.
type observed struct {
	Instance[hostapi.Store]
	pid     int
	pings   chan error
	stopped atomic.Bool
	missed  atomic.Bool
	thaw    bool // whether a ping after a miss thaws the process
}

func (o *observed) Ping(ctx context.Context) error {
	if o.thaw && o.missed.Load() && o.stopped.CompareAndSwap(true, false) {
		syscall.Kill(o.pid, syscall.SIGCONT)
	}
	err := o.Instance.Ping(ctx)
	if err != nil && o.stopped.Load() {
		o.missed.Store(true)
	}
	select {
	case o.pings <- err:
	default:
	}
	return err
}

func (o *observed) stop(t *testing.T) {
	t.Helper()
	o.stopped.Store(true)
	if err := syscall.Kill(o.pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Kill(o.pid, syscall.SIGCONT) })
}

// startObserved supervises real store plugins, each wrapped in observed;
// the instances come out on the returned channel.
func startObserved(t *testing.T, thaw bool, cfg Config[hostapi.Store]) (*Supervisor[hostapi.Store], chan *observed) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "state")
	launch := StoreLauncher(selfLaunch(t, "store"))
	insts := make(chan *observed, 10)
	cfg.Name = "observed"
	cfg.Launch = func(ctx context.Context) (Instance[hostapi.Store], error) {
		inst, err := launch(ctx)
		if err != nil {
			return nil, err
		}
		o := &observed{Instance: inst, pid: inst.(storeInstance).Pid(), pings: make(chan error, 100), thaw: thaw}
		insts <- o
		return o, nil
	}
	cfg.Setup = func(ctx context.Context, st hostapi.Store) error {
		return st.Open(ctx, hostapi.StoreConfig{Dir: dir})
	}
	s, err := Start(context.Background(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(s.Close)
	return s, insts
}

// TestRealSlowPluginSurvivesAMissedPing freezes a real plugin so that a
// health check goes unanswered, then lets it answer the next one late: a
// plugin that is slow but alive is not a dead one, and keeps running.
func TestRealSlowPluginSurvivesAMissedPing(t *testing.T) {
	s, insts := startObserved(t, true, Config[hostapi.Store]{HealthInterval: 50 * time.Millisecond, HealthTimeout: 200 * time.Millisecond})
	o := <-insts
	waitPing(t, s, o, func(err error) bool { return err == nil }, "a first answered ping")
	o.stop(t)
	waitPing(t, s, o, func(err error) bool { return err != nil }, "a missed ping")
	waitPing(t, s, o, func(err error) bool { return err == nil }, "an answer after the thaw")
	if st := s.Status(); st.Restarts != 0 || st.State != StateRunning {
		t.Errorf("status = %+v, want the first instance still running", st)
	}
}

// TestRealHungPluginIsRelaunched freezes a real plugin for good: it misses
// every ping, and the supervisor relaunches it.
func TestRealHungPluginIsRelaunched(t *testing.T) {
	s, insts := startObserved(t, false, Config[hostapi.Store]{HealthInterval: 20 * time.Millisecond, HealthTimeout: 20 * time.Millisecond})
	o := <-insts
	waitPing(t, s, o, func(err error) bool { return err == nil }, "a first answered ping")
	o.stop(t)
	var next *observed
	select {
	case next = <-insts:
	case <-time.After(60 * time.Second):
		t.Fatalf("the hung plugin was not relaunched; status %+v", s.Status())
	}
	waitPing(t, s, next, func(err error) bool { return err == nil }, "the relaunched plugin's first answer")
	if st := s.Status(); st.Restarts != 1 || !strings.Contains(st.LastError, "health check") {
		t.Errorf("status = %+v, want 1 restart for failed health checks", st)
	}
}

// waitPing waits for a ping of o whose outcome satisfies ok; it fails if
// o is killed meanwhile.
func waitPing(t *testing.T, s *Supervisor[hostapi.Store], o *observed, ok func(error) bool, what string) {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		select {
		case err := <-o.pings:
			if ok(err) {
				return
			}
		case <-o.Done():
			t.Fatalf("waiting for %s: the plugin was killed; status %+v", what, s.Status())
		case <-deadline:
			t.Fatalf("no %s; status %+v", what, s.Status())
		}
	}
}

func TestPinnedHashMismatchRefusesToLaunch(t *testing.T) {
	cfg := selfLaunch(t, "store")
	f, err := os.Open(cfg.Path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	io.Copy(h, f)
	f.Close()
	good := hex.EncodeToString(h.Sum(nil))
	bad := []byte(good)
	bad[0] ^= 1 // still hex: '0'..'9' and 'a'..'f' flip to other hex digits or '1'/'0' pairs
	if bad[0] < '0' || bad[0] > 'f' || (bad[0] > '9' && bad[0] < 'a') {
		bad[0] = '0'
		if good[0] == '0' {
			bad[0] = '1'
		}
	}
	cfg.SHA256 = string(bad)
	_, err = Start(context.Background(), Config[hostapi.Store]{Name: "pinned", Launch: StoreLauncher(cfg)})
	if !errors.Is(err, ErrPermanent) || !errors.Is(err, hostapi.ErrPermission) {
		t.Fatalf("Start with a wrong pin: %v, want a permanent PERMISSION error", err)
	}
	cfg.SHA256 = good
	s, err := Start(context.Background(), Config[hostapi.Store]{Name: "pinned", Launch: StoreLauncher(cfg)})
	if err != nil {
		t.Fatalf("Start with the right pin: %v", err)
	}
	s.Close()
}
