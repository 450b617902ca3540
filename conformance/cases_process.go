package conformance

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strings"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"

	goplugin "github.com/hashicorp/go-plugin"

	"github.com/rustynet/rustynet/hostapi"
)

// Bounds of the process cases. A plugin that needs longer is broken for a
// supervisor that relaunches it.
const (
	// exitDeadline bounds the exit of a plugin told to go.
	exitDeadline = 10 * time.Second
	// hostDeathDeadline bounds the exit of a plugin whose host died: it
	// closes its implementation first (hostapi.DefaultCloseTimeout).
	hostDeathDeadline = hostapi.DefaultCloseTimeout + 5*time.Second
	// stdoutGrace is how long the stdout case waits, after the plugin's
	// last call, for stray output still on its way.
	stdoutGrace = 300 * time.Millisecond
	// leakCycles is how many launch and kill cycles the leak case runs.
	leakCycles = 6
	// Tolerances of the leak case over its baseline.
	leakGoroutines = 5
	leakFDs        = 3
)

// unknownVersion is a protocol version no plugin speaks.
const unknownVersion = 9999

func processCases(k Kind) []Case {
	proc := Capability{Harness: HarnessProcess}
	return []Case{
		{
			ID: "process.handshake", Level: Must,
			Rule: "the plugin completes the go-plugin handshake (magic cookie, gRPC, mutual TLS), negotiates protocol version 1 with a version-1 host and answers the health check and Info",
			Run:  processHandshake,
		},
		{
			ID: "process.stdout.clean", Level: Must, Needs: proc,
			Rule: "the plugin writes nothing to stdout but the handshake, at start or while serving",
			Run:  processStdoutClean,
		},
		{
			ID: "process.version.unknown-only", Level: Must, Needs: proc,
			Rule: "a host offering only a protocol version the plugin does not speak fails the handshake cleanly and promptly, and the plugin exits",
			Run:  processVersionUnknownOnly,
		},
		{
			ID: "process.version.newer-host", Level: Must, Needs: proc,
			Rule: "a host offering a newer protocol version besides 1 negotiates version 1 with the plugin and is served",
			Run:  func(ctx context.Context, env *Env) error { return processVersionNewerHost(ctx, env, k) },
		},
		{
			ID: "process.unknown-method", Level: Must, Needs: proc,
			Rule: "a call of a method or service the plugin does not have answers gRPC UNIMPLEMENTED and the plugin keeps serving",
			Run:  func(ctx context.Context, env *Env) error { return processUnknownMethod(ctx, env, k) },
		},
		{
			ID: "process.shutdown.graceful", Level: Must, Needs: proc,
			Rule: "told to exit by its host, the plugin closes its implementation and exits with status 0 before the host's grace period ends",
			Run:  func(ctx context.Context, env *Env) error { return processGracefulShutdown(ctx, env, k) },
		},
		{
			ID: "process.shutdown.sigterm", Level: Should, Needs: Capability{Harness: HarnessProcess | HarnessKill},
			Rule: "on SIGTERM the plugin closes its implementation and exits with status 0",
			Run:  func(ctx context.Context, env *Env) error { return processSigterm(ctx, env, k) },
		},
		{
			ID: "process.close-then-kill", Level: Must,
			Rule: "after Close the plugin still answers, a second Close succeeds, and Kill ends the plugin and every process it started",
			Run:  processCloseThenKill,
		},
		{
			ID: "process.host-death", Level: Must, Needs: Capability{Harness: HarnessProcess | HarnessKill},
			Rule: "a plugin whose host is SIGKILLed (without a parent-death signal) notices, closes its implementation and exits on its own",
			Run:  func(ctx context.Context, env *Env) error { return processHostDeath(ctx, env, k) },
		},
		{
			ID: "process.host-leaks", Level: Must,
			Rule: "launching and killing the plugin repeatedly leaves no goroutines or file descriptors behind in the host",
			Run:  processHostLeaks,
		},
	}
}

func processHandshake(ctx context.Context, env *Env) error {
	p, err := startPlugin(ctx, env)
	if err != nil {
		return err
	}
	if v := p.ProtocolVersion(); v != hostapi.ProtocolVersion {
		return fmt.Errorf("negotiated protocol version %d with a host speaking only %d", v, hostapi.ProtocolVersion)
	}
	if err := p.Ping(ctx); err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	var name string
	switch inst := p.(type) {
	case *StoreInstance:
		info, err := inst.Info(ctx)
		if err != nil {
			return fmt.Errorf("Info: %w", err)
		}
		name = info.Name
	case *BackendInstance:
		name = inst.info.Name
	}
	if name == "" {
		return errors.New("Info: got an empty name")
	}
	return nil
}

func processStdoutClean(ctx context.Context, env *Env) error {
	p, err := startPlugin(ctx, env)
	if err != nil {
		return err
	}
	if err := exercise(ctx, env, p); err != nil {
		return fmt.Errorf("exercising the plugin: %w", err)
	}
	// Stray output travels on go-plugin's stdio stream, beside the calls:
	// give what is on its way a moment, then let the plugin exit.
	_ = waitFor(ctx, stdoutGrace, "stdout output", func() bool { return len(env.rec.stdoutLines()) > 0 })
	p.Kill()
	if lines := env.rec.stdoutLines(); len(lines) > 0 {
		const show = 5
		shown := lines[:min(show, len(lines))]
		return fmt.Errorf("the plugin wrote %d lines to stdout while serving, e.g. %q", len(lines), shown)
	}
	return nil
}

// rawBase is the launch of the target for raw launches; the plugin's
// socket goes into a directory removed when the case ends, whatever
// became of the plugin.
func rawBase(env *Env, k Kind, versions ...int) rawConfig {
	dir, _ := socketDir(env) // on failure, "": rawLaunch makes one
	return rawConfig{launch: env.binary(), kind: k, versions: versions, log: env.rec, socketDir: dir}
}

func processVersionUnknownOnly(ctx context.Context, env *Env) error {
	rc := rawBase(env, env.Kind, unknownVersion)
	start := time.Now()
	p, cmd, err := rawLaunch(ctx, rc)
	if err == nil {
		p.kill()
		return fmt.Errorf("a host offering only version %d was served (negotiated %d)", unknownVersion, p.version)
	}
	took := time.Since(start)
	msg := err.Error()
	if strings.Contains(msg, "timeout while waiting for plugin to start") {
		return fmt.Errorf("the plugin did not answer the handshake within %s: %v", rawStartTimeout, err)
	}
	if !strings.Contains(strings.ToLower(msg), "incompatible api version") {
		return fmt.Errorf("the launch failed, but not on the protocol version: %v", err)
	}
	env.Logf("refused in %s: %v", took.Round(time.Millisecond), err)
	if cmd != nil && cmd.Process != nil && procInspection {
		return waitExit(ctx, exitDeadline, cmd.Process.Pid, nil)
	}
	return nil
}

func processVersionNewerHost(ctx context.Context, env *Env, k Kind) error {
	p, _, err := rawLaunch(ctx, rawBase(env, k, hostapi.ProtocolVersion, unknownVersion))
	if err != nil {
		return fmt.Errorf("a host offering versions %d and %d: %w", hostapi.ProtocolVersion, unknownVersion, err)
	}
	defer p.kill()
	if p.version != hostapi.ProtocolVersion {
		return fmt.Errorf("negotiated version %d, want %d", p.version, hostapi.ProtocolVersion)
	}
	if err := health(ctx, p); err != nil {
		return err
	}
	resp, err := rawCall(ctx, p.conn, k, "Info", nil)
	if err != nil {
		return fmt.Errorf("Info over version %d: %w", p.version, err)
	}
	if infoName(resp) == "" {
		return errors.New("Info: got an empty name")
	}
	return nil
}

// health runs the gRPC health check go-plugin registers.
func health(ctx context.Context, p *rawPlugin) error {
	resp, err := grpc_health_v1.NewHealthClient(p.conn).Check(ctx, &grpc_health_v1.HealthCheckRequest{Service: goplugin.GRPCServiceName})
	if err != nil {
		return fmt.Errorf("health check: %w", err)
	}
	if resp.GetStatus() != grpc_health_v1.HealthCheckResponse_SERVING {
		return fmt.Errorf("health check: got %v, want SERVING", resp.GetStatus())
	}
	return nil
}

func processUnknownMethod(ctx context.Context, env *Env, k Kind) error {
	p, _, err := rawLaunch(ctx, rawBase(env, k, hostapi.ProtocolVersion))
	if err != nil {
		return err
	}
	defer p.kill()
	var fails []error
	for _, method := range []string{
		"/" + string(serviceName(k)) + "/NoSuchMethod",
		"/rustynet.plugin.v1.NoSuchService/Info",
		"/rustynet.plugin.v99." + string(serviceName(k).Name()) + "/Info",
	} {
		err := p.conn.Invoke(ctx, method, &grpc_health_v1.HealthCheckRequest{}, &grpc_health_v1.HealthCheckResponse{})
		if got := status.Code(err); got != codes.Unimplemented {
			fails = append(fails, fmt.Errorf("calling %s: got %v (%v), want %v", method, got, err, codes.Unimplemented))
		}
	}
	if err := health(ctx, p); err != nil {
		fails = append(fails, fmt.Errorf("after the unknown calls: %w", err))
	}
	return errs(fails...)
}

// exitStatus describes how cmd ended, and whether it exited with status 0.
func exitStatus(cmd *exec.Cmd) (string, bool) {
	st := cmd.ProcessState
	if st == nil {
		return "not reaped", false
	}
	return st.String(), st.Exited() && st.ExitCode() == 0
}

// rawOpened launches the target raw and, for a store, opens it on a fresh
// directory, which it returns.
func rawOpened(ctx context.Context, env *Env, rc rawConfig) (*rawPlugin, string, error) {
	p, _, err := rawLaunch(ctx, rc)
	if err != nil {
		return nil, "", err
	}
	if rc.kind != KindStore {
		return p, "", nil
	}
	dir, err := storeDir(env)
	if err != nil {
		p.kill()
		return nil, "", err
	}
	if _, err := rawCall(ctx, p.conn, KindStore, "Open", setStoreDir(dir)); err != nil {
		p.kill()
		return nil, "", fmt.Errorf("Open: %w", err)
	}
	return p, dir, nil
}

// reopenable checks that a store directory left by a plugin that has exited
// can be opened again (its lock is gone).
func reopenable(ctx context.Context, env *Env, dir string) error {
	if dir == "" || !env.StoreInfo.Capabilities.Has(hostapi.StoreCapLock) {
		return nil
	}
	s, err := env.OpenStore(ctx, dir)
	if err != nil {
		return fmt.Errorf("Open by a new instance after the plugin exited: %w", err)
	}
	s.Kill()
	return nil
}

func processGracefulShutdown(ctx context.Context, env *Env, k Kind) error {
	p, dir, err := rawOpened(ctx, env, rawBase(env, k, hostapi.ProtocolVersion))
	if err != nil {
		return err
	}
	killed := make(chan struct{})
	go func() {
		p.kill()
		close(killed)
	}()
	deadline := time.NewTimer(exitDeadline)
	defer deadline.Stop()
	select {
	case <-killed:
	case <-deadline.C:
		return fmt.Errorf("the plugin has not exited %s after its host told it to", exitDeadline)
	}
	desc, ok := exitStatus(p.cmd)
	if !ok {
		return fmt.Errorf("told to exit, the plugin did not exit cleanly within the host's grace period: %s", desc)
	}
	return reopenable(ctx, env, dir)
}

func processSigterm(ctx context.Context, env *Env, k Kind) error {
	p, dir, err := rawOpened(ctx, env, rawBase(env, k, hostapi.ProtocolVersion))
	if err != nil {
		return err
	}
	defer p.kill()
	if err := sigterm(p.cmd.Process.Pid); err != nil {
		return err
	}
	if err := waitFor(ctx, exitDeadline, "exit after SIGTERM", p.exited); err != nil {
		return err
	}
	if desc, ok := exitStatus(p.cmd); !ok {
		return fmt.Errorf("after SIGTERM: %s, want exit status 0", desc)
	}
	return reopenable(ctx, env, dir)
}

func processCloseThenKill(ctx context.Context, env *Env) error {
	p, err := startPlugin(ctx, env)
	if err != nil {
		return err
	}
	var closer interface{ Close(context.Context) error }
	switch inst := p.(type) {
	case *StoreInstance:
		if _, _, err := openedOn(ctx, env, inst); err != nil {
			return err
		}
		closer = inst
	case *BackendInstance:
		if _, err := configureIfSafe(ctx, inst); err != nil {
			return err
		}
		closer = inst
	}
	if err := closer.Close(ctx); err != nil {
		return fmt.Errorf("Close: %w", err)
	}
	if err := p.Ping(ctx); err != nil {
		return fmt.Errorf("health check after Close (the process lives until Kill): %w", err)
	}
	if err := closer.Close(ctx); err != nil {
		return fmt.Errorf("second Close: %w", err)
	}
	inProcess := env.Harness&HarnessProcess == 0
	var children []int
	if !inProcess && procInspection {
		children = descendants(p.Pid())
	}
	p.Kill()
	if !p.Exited() {
		return errors.New("Kill returned but the plugin has not exited")
	}
	select {
	case <-p.Done():
	default:
		return errors.New("Kill returned but Done is not closed")
	}
	if inProcess || !procInspection {
		return nil
	}
	return waitExit(ctx, exitDeadline, p.Pid(), children)
}

// openedOn opens s on a fresh directory and writes an entry.
func openedOn(ctx context.Context, env *Env, s *StoreInstance) (*StoreInstance, string, error) {
	dir, err := storeDir(env)
	if err != nil {
		return nil, "", err
	}
	if err := s.Open(ctx, hostapi.StoreConfig{Dir: dir}); err != nil {
		return nil, "", fmt.Errorf("Open: %w", err)
	}
	return s, dir, appendRange(ctx, s, 1, 1, small)
}

func processHostLeaks(ctx context.Context, env *Env) error {
	// Backends start in one node made before the baseline: a node may hold
	// file descriptors of its own until the case ends.
	var node *Node
	if env.Kind == KindBackend {
		nodes, err := env.Nodes(ctx, 1)
		if err != nil {
			return err
		}
		node = nodes[0]
	}
	cycle := func() error {
		var p instance
		var err error
		if env.Kind == KindStore {
			p, err = env.StartStore(ctx)
		} else {
			p, err = env.StartBackend(ctx, node)
		}
		if err != nil {
			return err
		}
		if err := exercise(ctx, env, p); err != nil {
			return err
		}
		p.Kill()
		return nil
	}
	// One cycle first: it starts what lives for the whole process (gRPC's
	// and go-plugin's shared goroutines).
	if err := cycle(); err != nil {
		return err
	}
	baseG := runtime.NumGoroutine()
	baseFD, fdErr := openFDs()
	for range leakCycles {
		if err := cycle(); err != nil {
			return err
		}
	}
	var g, fd int
	err := waitFor(ctx, exitDeadline, "host resources back to their baseline", func() bool {
		g = runtime.NumGoroutine()
		if fdErr == nil {
			fd, _ = openFDs()
		}
		return g <= baseG+leakGoroutines && (fdErr != nil || fd <= baseFD+leakFDs)
	})
	env.Logf("after %d cycles: %d goroutines (baseline %d), %d file descriptors (baseline %d)", leakCycles, g, baseG, fd, baseFD)
	if err != nil {
		return fmt.Errorf("after %d launch and kill cycles: %d goroutines (baseline %d, tolerance %d), %d file descriptors (baseline %d, tolerance %d): %w",
			leakCycles, g, baseG, leakGoroutines, fd, baseFD, leakFDs, err)
	}
	return nil
}
