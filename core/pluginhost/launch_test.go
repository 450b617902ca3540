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
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
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

func selfLaunch(t *testing.T, mode string) hostapi.LaunchConfig {
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

func TestRealCrashLoopingPluginTripsBreaker(t *testing.T) {
	root := t.TempDir()
	var crash atomic.Bool
	pids := make(chan int, 10)
	launch := StoreLauncher(selfLaunch(t, "store"))
	s, err := Start(context.Background(), Config[hostapi.Store]{
		Name: "crasher",
		Launch: func(ctx context.Context) (Instance[hostapi.Store], error) {
			inst, err := launch(ctx)
			if err == nil {
				pids <- inst.(storeInstance).Pid()
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
		HealthInterval:  20 * time.Millisecond,
		BackoffInitial:  time.Millisecond,
		BackoffMax:      5 * time.Millisecond,
		BreakerRestarts: 3,
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
	if st := s.Status(); st.State != StateBroken || st.Restarts != 4 {
		t.Errorf("status = %+v, want broken after 4 restarts", st)
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
