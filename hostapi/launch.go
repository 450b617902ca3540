package hostapi

import (
	"context"
	"crypto/x509"
	"errors"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	plugin "github.com/hashicorp/go-plugin"
	"github.com/hashicorp/go-plugin/runner"
)

// DefaultStartTimeout is how long a launch waits for a plugin's handshake
// when LaunchConfig.StartTimeout is zero.
const DefaultStartTimeout = 10 * time.Second

// LaunchConfig says how to launch a plugin binary. The core's supervisor and
// the conformance CLI launch plugins through it, so that both launch them
// identically.
type LaunchConfig struct {
	// Path is the plugin executable; a name without a path separator is
	// looked up in PATH. Required.
	Path string
	// Args are the plugin's arguments, after the program name.
	Args []string
	// SHA256, if not empty, pins the executable: the hex SHA-256 of the file
	// must equal it, or the launch fails with CodePermission naming the
	// expected and actual hashes and nothing is started. Keep pinned
	// binaries where only their owner can write, since the file is hashed
	// just before it is executed.
	SHA256 string
	// Logger receives the plugin's log lines at the plugin's levels, what it
	// writes to stdout or stderr (Warn and Debug), and go-plugin's launch
	// messages. The plugin logs at and above the lowest level Logger
	// records. Nil discards everything.
	Logger *slog.Logger
	// Env holds "KEY=value" entries added to the host's environment for the
	// plugin (later entries win).
	Env []string
	// StartTimeout bounds the wait for the plugin's handshake; zero means
	// DefaultStartTimeout.
	StartTimeout time.Duration

	// trace, if set, is called as a launch passes each of its steps (the
	// launchStep constants); the launch benchmark times them.
	trace func(step string)
}

// Steps of a launch that LaunchConfig.trace reports, in order.
const (
	stepSpawned   = "spawned"   // the process exists (fork and exec returned)
	stepHandshake = "handshake" // its handshake line has been read and checked
	stepTLS       = "tls"       // the mutual-TLS handshake has completed
	stepReady     = "ready"     // it answered the first health check
)

// LaunchStore starts the store plugin cfg describes and connects to it:
// go-plugin handshake with the magic cookie, negotiation of the highest
// protocol version both sides speak, gRPC only, mutual TLS (each side pins
// the other's certificate; see mtls.go), and a first health check. The plugin's stdin is a pipe the returned client holds,
// so the plugin exits when the host dies; on Linux the kernel also kills it
// (parent-death signal) when the launching thread's process dies. On Unix
// the plugin leads a process group of its own, so a signal sent to the
// host's group (a terminal's ^C, timeout(1)) reaches the host alone, which
// then stops its plugins in order.
//
// Errors: an invalid cfg gives CodeInvalidArgument; a missing executable
// CodeNotFound; a pin mismatch CodePermission; no common protocol version
// CodeUnsupported; a plugin that crashes, times out or prints anything but
// the handshake on stdout CodeUnavailable; ctx ending first, ctx's error. On
// error nothing is left running. ctx bounds only the launch; the plugin runs
// until the client's Kill.
//
// LaunchStore must not be called from a goroutine that has locked its OS
// thread and exits without unlocking it: Linux delivers the parent-death
// signal when the launching thread ends.
func LaunchStore(ctx context.Context, cfg LaunchConfig) (*StoreClient, error) {
	conn, raw, err := launch(ctx, cfg, StorePluginName, storePluginSets(nil))
	if err != nil {
		return nil, err
	}
	return newStoreClient(conn, raw)
}

// LaunchBackend starts the backend plugin cfg describes and connects to it,
// exactly as LaunchStore does for a store plugin.
func LaunchBackend(ctx context.Context, cfg LaunchConfig) (*BackendClient, error) {
	conn, raw, err := launch(ctx, cfg, BackendPluginName, backendPluginSets(nil))
	if err != nil {
		return nil, err
	}
	return newBackendClient(conn, raw)
}

func launch(ctx context.Context, cfg LaunchConfig, kind string, sets pluginSets) (*pluginConn, any, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if cfg.Path == "" {
		return nil, nil, Errorf(CodeInvalidArgument, "launch %s plugin: no path", kind)
	}
	path, err := exec.LookPath(cfg.Path)
	if err != nil {
		code := CodeNotFound
		if errors.Is(err, fs.ErrPermission) {
			code = CodePermission
		}
		return nil, nil, Errorf(code, "launch %s plugin: %v", kind, err)
	}
	if cfg.SHA256 != "" {
		if err := verifySHA256(path, cfg.SHA256); err != nil {
			return nil, nil, err
		}
	}
	trace := cfg.trace
	if trace == nil {
		trace = func(string) {}
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	timeout := cfg.StartTimeout
	if timeout <= 0 {
		timeout = DefaultStartTimeout
	}

	hostCert, err := hostIdentity()
	if err != nil {
		return nil, nil, Errorf(CodeInternal, "launch %s plugin: host TLS certificate: %v", kind, err)
	}
	noPluginCert := x509.NewCertPool()
	tlsConfig := hostTLSConfig(hostCert, noPluginCert, func() { trace(stepTLS) })

	stdinR, stdinW, err := os.Pipe()
	if err != nil {
		return nil, nil, Errorf(CodeInternal, "launch %s plugin: stdin pipe: %v", kind, err)
	}
	env := append(os.Environ(), cfg.Env...)
	env = append(env, envWatchStdin+"=1", envLogLevel+"="+lowestEnabledLevel(logger), envClientCert+"="+hostCertPEM(hostCert))
	run := newProcessRunner(path, cfg.Args, env, stdinR)
	run.started = func() { trace(stepSpawned) }
	client := plugin.NewClient(&plugin.ClientConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: sets,
		RunnerFunc: func(_ hclog.Logger, cmd *exec.Cmd, _ string) (runner.Runner, error) {
			return run, run.prepare(cmd.Env)
		},
		SkipHostEnv:      true, // env above already holds it, before cfg.Env
		AllowedProtocols: []plugin.Protocol{plugin.ProtocolGRPC},
		TLSConfig:        tlsConfig, // see mtls.go: AutoMTLS's protocol with P-256 keys
		StartTimeout:     timeout,
		Logger:           newHCLogger(logger),
		SyncStdout:       newLineLogger(logger, slog.LevelWarn, "plugin wrote to stdout", path),
		SyncStderr:       newLineLogger(logger, slog.LevelDebug, "plugin wrote to stderr", path),
	})
	kill := func() {
		client.Kill()
		run.closeStdin()
		_ = stdinW.Close()
	}

	// go-plugin's start takes no context: a done ctx kills the process,
	// which ends the wait for the handshake.
	stopWatch := context.AfterFunc(ctx, func() { _ = run.Kill(context.Background()) })
	var rpc plugin.ClientProtocol
	_, err = client.Start()
	// Without a certificate in the handshake line (which go-plugin moves
	// into tlsConfig) the TLS handshake could only fail; say why instead.
	noCert := err == nil && tlsConfig.RootCAs == noPluginCert
	if err == nil && !noCert {
		trace(stepHandshake)
		rpc, err = client.Client()
	}
	if !stopWatch() {
		kill()
		return nil, nil, ctx.Err()
	}
	if err != nil {
		kill() // also waits until the plugin's stderr is read to the end
		return nil, nil, startError(kind, path, sets, timeout, err, run)
	}
	if noCert {
		_ = run.Kill(context.Background()) // it cannot be asked to exit: no TLS
		kill()
		return nil, nil, Errorf(CodeUnavailable, "%s plugin %s: its handshake line carries no TLS certificate; a plugin must serve with mutual TLS (hostapi.ServeStore and hostapi.ServeBackend do)", kind, path)
	}
	grpcClient, ok := rpc.(*plugin.GRPCClient)
	if !ok {
		kill()
		return nil, nil, Errorf(CodeUnsupported, "%s plugin %s: not a gRPC plugin", kind, path)
	}
	raw, err := rpc.Dispense(kind)
	if err != nil {
		kill()
		return nil, nil, Errorf(CodeUnsupported, "%s plugin %s: %v", kind, path, err)
	}
	conn := &pluginConn{
		kind:    kind,
		conn:    grpcClient.Conn,
		version: client.NegotiatedVersion(),
		pid:     run.pid,
		done:    run.done,
		kill:    kill,
	}
	if err := conn.ping(ctx); err != nil {
		conn.stop()
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, Errorf(CodeUnavailable, "%s plugin %s: health check after handshake: %v", kind, path, err)
	}
	trace(stepReady)
	return conn, raw, nil
}

// startError classifies go-plugin's start failures of the plugin run ran,
// quoting the end of its stderr to explain a crash or a hang.
func startError(kind, path string, sets pluginSets, timeout time.Duration, err error, run *processRunner) error {
	stderr := strings.TrimSpace(run.tail.String())
	if stderr != "" {
		stderr = "\nplugin stderr (end):\n" + stderr
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "incompatible API version"),
		strings.Contains(msg, "incompatible core API version"),
		strings.Contains(msg, "unsupported plugin protocol"):
		versions := make([]int, 0, len(sets))
		for v := range sets {
			versions = append(versions, v)
		}
		slices.Sort(versions)
		return Errorf(CodeUnsupported, "%s plugin %s: no common protocol version (host speaks %v): %v", kind, path, versions, err)
	case strings.Contains(msg, "Failed to read any lines from plugin's stdout"),
		strings.Contains(msg, "plugin exited before we could connect"):
		return Errorf(CodeUnavailable, "%s plugin %s exited before its handshake (%s)%s", kind, path, run.exitStatus(), stderr)
	case strings.Contains(msg, "timeout while waiting for plugin to start"):
		return Errorf(CodeUnavailable, "%s plugin %s: no handshake within %s%s", kind, path, timeout, stderr)
	default:
		return Errorf(CodeUnavailable, "%s plugin %s failed to start: %v%s", kind, path, err, stderr)
	}
}

// newLineLogger returns a writer that logs each line written to it.
func newLineLogger(l *slog.Logger, level slog.Level, msg, path string) *lineLogger {
	return &lineLogger{log: l.With("plugin", path), level: level, msg: msg}
}
