package conformance

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// The host-death case needs a host it can SIGKILL without killing the
// suite: a copy of the running binary (the conformance CLI, or the test
// binary of a plugin author's tests), re-executed with helperEnv set. This
// package's init runs the helper's part in that copy and exits, before the
// binary's main (or its tests) starts.
const (
	helperEnv       = "RUSTYNET_CONFORMANCE_HELPER"
	helperConfigEnv = "RUSTYNET_CONFORMANCE_HELPER_CONFIG"
	helperHost      = "host-without-parent-death-signal"
)

// helperConfig is what the helper host launches.
type helperConfig struct {
	Path string   `json:"path"`
	Args []string `json:"args"`
	Env  []string `json:"env"`
	Kind Kind     `json:"kind"`
	Dir  string   `json:"dir"` // a store directory to open; "" for none
}

func init() {
	if role, ok := os.LookupEnv(helperEnv); ok {
		os.Exit(runHelper(role))
	}
}

// runHelper plays role and returns the exit status.
func runHelper(role string) int {
	if role != helperHost {
		fmt.Fprintf(os.Stderr, "conformance helper: unknown role %q\n", role)
		return 2
	}
	var cfg helperConfig
	if err := json.Unmarshal([]byte(os.Getenv(helperConfigEnv)), &cfg); err != nil {
		fmt.Fprintf(os.Stderr, "conformance helper: %s: %v\n", helperConfigEnv, err)
		return 2
	}
	// The plugin inherits this environment. When the plugin is this same
	// binary (`rustynet conformance` certifying `rustynet plugin NAME`),
	// these variables would make it a helper host too, launching itself
	// without end.
	_ = os.Unsetenv(helperEnv)
	_ = os.Unsetenv(helperConfigEnv)
	if err := hostWithoutParentDeath(cfg); err != nil {
		fmt.Fprintf(os.Stderr, "conformance helper: %v\n", err)
		return 1
	}
	return 0
}

// hostWithoutParentDeath launches the plugin as a host that the kernel
// does not help: no parent-death signal, only a stdin pipe whose write end
// this process alone holds (as hostapi's launcher does). It prints
// "pid N", then waits on its own stdin until it is killed.
func hostWithoutParentDeath(cfg helperConfig) error {
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	// go-plugin hands the plugin this process's stdin; give it the pipe.
	own := os.Stdin
	os.Stdin = r
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, _, err := rawLaunch(ctx, rawConfig{
		launch:        hostapi.LaunchConfig{Path: cfg.Path, Args: cfg.Args, Env: cfg.Env},
		kind:          cfg.Kind,
		versions:      []int{hostapi.ProtocolVersion},
		env:           []string{envWatchStdin + "=1"},
		noParentDeath: true,
		log:           os.Stderr,
	})
	os.Stdin = own
	_ = r.Close()
	if err != nil {
		return err
	}
	if cfg.Dir != "" {
		if _, err := rawCall(ctx, p.conn, KindStore, "Open", setStoreDir(cfg.Dir)); err != nil {
			return fmt.Errorf("Open: %w", err)
		}
	}
	fmt.Printf("pid %d\n", p.cmd.Process.Pid)
	_, _ = io.Copy(io.Discard, own) // until this process is killed
	_ = w.Close()
	p.kill()
	return nil
}

// startHelperHost starts the helper host for the target and returns its
// command and the plugin's pid. The helper is killed at cleanup.
func startHelperHost(ctx context.Context, env *Env, cfg helperConfig) (*exec.Cmd, int, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, 0, Skipf("cannot find this binary to re-execute as a host: %v", err)
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		return nil, 0, err
	}
	// The helper's temporary files (its plugin's socket directory) go
	// into a directory removed with the case: the helper is SIGKILLed.
	tmp, err := socketDir(env)
	if err != nil {
		return nil, 0, err
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), helperEnv+"="+helperHost, helperConfigEnv+"="+string(js), "TMPDIR="+tmp)
	cmd.Stderr = env.rec
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, 0, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, 0, err
	}
	if err := cmd.Start(); err != nil {
		return nil, 0, err
	}
	env.Cleanup(func() {
		_ = stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	lines := make(chan string, 1)
	go func() {
		line, _ := bufio.NewReader(stdout).ReadString('\n')
		lines <- line
		_, _ = io.Copy(io.Discard, stdout)
	}()
	var line string
	select {
	case line = <-lines:
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
	pid, err := strconv.Atoi(strings.TrimPrefix(strings.TrimSpace(line), "pid "))
	if err != nil {
		return nil, 0, fmt.Errorf("the helper host could not launch the plugin (it printed %q; see the log)", line)
	}
	return cmd, pid, nil
}

func processHostDeath(ctx context.Context, env *Env, k Kind) error {
	if !procInspection {
		return Skip("watching another process's exit needs /proc")
	}
	b := env.binary()
	cfg := helperConfig{Path: lookPath(b.Path), Args: b.Args, Env: b.Env, Kind: k}
	if k == KindStore {
		dir, err := storeDir(env)
		if err != nil {
			return err
		}
		cfg.Dir = dir
	}
	host, pid, err := startHelperHost(ctx, env, cfg)
	if err != nil {
		return err
	}
	env.Cleanup(func() { _ = sigkill(pid) })
	if !processAlive(pid) {
		return fmt.Errorf("plugin %d is not running before its host is killed", pid)
	}
	if err := sigkill(host.Process.Pid); err != nil {
		return err
	}
	_ = host.Wait()
	if err := waitExit(ctx, hostDeathDeadline, pid, nil); err != nil {
		return fmt.Errorf("after its host was SIGKILLed: %w", err)
	}
	return reopenable(ctx, env, cfg.Dir)
}
