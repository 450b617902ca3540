package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/rustynet/rustynet/core/config"
	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/daemon"
	"github.com/rustynet/rustynet/core/feed"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/metrics"
	"github.com/rustynet/rustynet/core/paths"
	"github.com/rustynet/rustynet/core/pluginhost"
	"github.com/rustynet/rustynet/core/reconcile"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/daemonlog"
	"github.com/rustynet/rustynet/internal/version"
)

// autoOrder is the order `backend = "auto"` probes backends in: the
// fastest data plane first, the one that needs nothing last.
var autoOrder = []config.BackendKind{config.BackendWGKernel, config.BackendWGTun, config.BackendNetstack}

func daemonCommand() *command {
	return &command{
		name:    "daemon",
		args:    "[--config FILE]",
		summary: "run the node agent",
		help: "Runs the node: verifies its membership log, starts its store and\n" +
			"backend plugins, keeps the data plane equal to trusted membership and\n" +
			"serves the local control API until interrupted (then exits 0).\n" +
			"A plugin that keeps crashing is retried for ever, ever more slowly,\n" +
			"while `rustynet status` reports the node degraded; with\n" +
			"[daemon] exit_on_broken_plugin = true the daemon exits 3 (UNAVAILABLE)\n" +
			"instead, for a service manager to restart it.\n\n" +
			"Without --config it reads the default configuration: as root\n" +
			"/etc/rustynet/rustynet.toml (macOS: /Library/Application Support/rustynet/,\n" +
			"Windows: %ProgramData%\\rustynet\\), else $XDG_CONFIG_HOME/rustynet/rustynet.toml.\n" +
			"Under systemd (Type=notify) it reports readiness once it serves; run by\n" +
			"the Windows Service Control Manager it is that service. SIGTERM or\n" +
			"SIGINT stop it cleanly, its plugins with it.",
		noJSON: "the daemon prints only its log (JSON with [log] format = \"json\")",
		run:    runDaemon,
	}
}

func runDaemon(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	path := fs.String("config", "", "the node's TOML configuration (default: the system's or the user's, see above)")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if *path == "" {
		l, err := paths.Current()
		if l.ConfigFile == "" {
			return e.usagef("--config is required: there is no default configuration file (%v)", err)
		}
		*path = l.ConfigFile
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	return underServiceManager(ctx, e, func(ctx context.Context, lc lifecycle) error { return serveNode(ctx, e, cfg, lc) })
}

// lifecycle tells a service manager how the node is doing.
type lifecycle struct {
	// ready reports that the node serves (systemd READY=1, the Windows
	// service Running), with a one-line status.
	ready func(status string) error
	// stopping reports that it is shutting down.
	stopping func() error
}

// daemonLogger is the daemon's logger: [log] level and format on e's
// stderr, with syslog priority prefixes when that is systemd's journal.
func daemonLogger(e *env, cfg *config.Config) *slog.Logger {
	journal := false
	if f, ok := e.stderr.(*os.File); ok {
		journal = daemonlog.ToJournal(f)
	}
	return daemonlog.New(e.stderr, daemonlog.Options{Level: cfg.Log.Level, JSON: cfg.Log.Format == config.LogJSON, Priority: journal})
}

// serveNode runs the node of cfg until ctx ends or the daemon fails: the
// control API, the metrics endpoint if configured, readiness once both
// serve.
func serveNode(ctx context.Context, e *env, cfg *config.Config, lc lifecycle) error {
	logger := daemonLogger(e, cfg)
	opts, err := daemonOptions(cfg, logger)
	if err != nil {
		return err
	}
	ln, err := controlapi.ListenConfig{Group: cfg.Control.Group}.Listen(cfg.Control.Socket)
	if err != nil && addrInUse(err) {
		return listenError(cfg, "control.socket", cfg.Control.Socket, err)
	}
	if err != nil {
		return ioErrorf("control socket %s: %v", cfg.Control.Socket, err)
	}
	defer ln.Close()
	auth, err := controlapi.NewAuthorizer(cfg.Control.Group)
	if err != nil {
		return usageErrorf("control.group: %v", err)
	}
	var (
		mln net.Listener
		m   *metrics.Metrics
		src = &startedDaemon{}
	)
	if a := cfg.Metrics.Listen; a.IsValid() {
		if mln, err = net.Listen("tcp", a.String()); err != nil {
			return listenError(cfg, "metrics.listen", a.String(), err)
		}
		defer mln.Close()
		m = metrics.New(src, nil)
		opts.Observer = m.Recorder()
	}
	d, err := daemon.Start(ctx, opts)
	if err != nil {
		if membership.CodeOf(err) != "" {
			return rejected("starting the node", err)
		}
		if busy := busyListeners(cfg, err); busy != nil {
			return busy
		}
		return internalErrorf("starting the node: %v", err)
	}
	defer d.Close()
	src.set(d)
	srv := controlapi.NewServer(d, auth, logger, controlapi.Limits{})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	var msrv *metrics.Server
	if m != nil {
		msrv = m.Serve(mln)
		logger.Info("metrics serving", "listen", msrv.Addr().String())
	}
	logger.Info("node running", "node", cfg.Node.ID, "control", cfg.Control.Socket, "version", version.Get().String())
	if err := lc.ready(fmt.Sprintf("node %s serving on %s", cfg.Node.ID, cfg.Control.Socket)); err != nil {
		logger.Warn("could not tell the service manager the node is ready", "err", err)
	}
	var failed error
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err := <-served:
		if !errors.Is(err, http.ErrServerClosed) {
			failed = internalErrorf("control API: %v", err)
		}
	case err := <-d.Failed():
		logger.Error("shutting down: [daemon] exit_on_broken_plugin is set", "err", err)
		failed = &cliError{code: codeUnavailable, exit: exitIO,
			msg:  fmt.Sprintf("%v; exiting since [daemon] exit_on_broken_plugin is set", err),
			hint: "hint: the service manager is to restart the node; `rustynet daemon` logged the plugin's failures"}
	}
	if err := lc.stopping(); err != nil {
		logger.Debug("could not tell the service manager the node is stopping", "err", err)
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if msrv != nil {
		_ = msrv.Shutdown(sctx)
	}
	srv.Shutdown(sctx)
	return failed
}

// startedDaemon is the metrics' status source: the daemon once it has
// started (metrics.New comes first, to give the daemon its recorder).
type startedDaemon struct {
	mu sync.Mutex
	d  *daemon.Daemon
}

func (s *startedDaemon) set(d *daemon.Daemon) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.d = d
}

// Status is the daemon's status, or an error before it has started.
func (s *startedDaemon) Status(ctx context.Context) (controlapi.Status, error) {
	s.mu.Lock()
	d := s.d
	s.mu.Unlock()
	if d == nil {
		return controlapi.Status{}, errors.New("the node is starting")
	}
	return d.Status(ctx)
}

// loadConfig reads and checks a configuration; its errors are usage
// errors naming file:line.
func loadConfig(path string) (*config.Config, error) {
	cfg, err := config.Load(path)
	if err != nil {
		return nil, usageErrorf("%v", err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, usageErrorf("%v", err)
	}
	return cfg, nil
}

// daemonOptions turns a configuration into the daemon's options: plugins
// to launch (built-in ones are this binary in plugin mode), the pinned
// genesis, the node key, the interface and the feed.
func daemonOptions(cfg *config.Config, logger *slog.Logger) (daemon.Options, error) {
	priv, err := cfg.ReadPrivateKey()
	if err != nil {
		return daemon.Options{}, usageErrorf("%v", err)
	}
	proxy, err := cfg.ProxyConfig() // reads the proxies' password, if any
	if err != nil {
		return daemon.Options{}, usageErrorf("%v", err)
	}
	// Without a genesis file the genesis comes from the feed (pinned by
	// genesis_root, which the ledger checks): the node starts empty.
	var genesis *membership.SignedUpdate
	if cfg.Membership.GenesisFile != "" {
		data, err := readInput(cfg.Membership.GenesisFile)
		if err != nil {
			return daemon.Options{}, err
		}
		genesis, err = membership.ParseSignedUpdate(data, nil)
		if err != nil {
			return daemon.Options{}, rejected("genesis "+cfg.Membership.GenesisFile, err)
		}
	}
	limits := membership.DefaultLimits()
	limits.MaxClockSkew = cfg.Membership.MaxClockSkew
	store := storeChoice{builtin: string(cfg.Store.Kind)}
	if cfg.Store.Plugin != "" {
		store = storeChoice{path: cfg.Store.Plugin, sha256: cfg.Store.PluginSHA256}
	}
	storeLaunch, err := store.launchConfig(logger)
	if err != nil {
		return daemon.Options{}, err
	}
	backends, err := backendChoices(cfg, logger)
	if err != nil {
		return daemon.Options{}, err
	}
	opts := daemon.Options{
		NodeID:        cfg.Node.ID,
		PrivateKey:    priv,
		Genesis:       genesis,
		GenesisRoot:   cfg.Membership.GenesisRoot,
		StateDir:      cfg.Node.StateDir,
		HighWaterPath: cfg.Node.HighWaterFile,
		Store:         pluginhost.StoreLauncher(storeLaunch),
		StoreName:     store.name(),
		Backends:      backends,
		Interface: hostapi.InterfaceConfig{
			Name:       cfg.Backend.Interface,
			ListenPort: cfg.Backend.ListenPort,
			MTU:        cfg.Backend.MTU,
			Proxy:      proxy,
			UAPI:       cfg.Backend.UAPI,
		},
		PersistentKeepalive: cfg.Backend.PersistentKeepalive,
		Routing: reconcile.Options{
			AcceptRoutes: cfg.Routing.AcceptRoutes,
			ExitNode:     cfg.Routing.ExitNode,
			Serve:        cfg.Routing.Serve,
			Masquerade:   cfg.Routing.Masquerade,
		},
		FeedInterval:       cfg.Membership.FeedInterval,
		MaxUpdateAge:       cfg.Membership.MaxUpdateAge,
		Sync:               daemon.SyncOptions{Port: cfg.Membership.SyncPort, Interval: cfg.Membership.SyncInterval},
		ExitOnBrokenPlugin: cfg.Daemon.ExitOnBrokenPlugin,
		Limits:             &limits,
		Logger:             logger,
	}
	if !cfg.Membership.Feed.IsZero() {
		var mirrors []string
		for _, m := range cfg.Membership.FeedMirrors {
			mirrors = append(mirrors, m.String())
		}
		src, err := feed.New(cfg.Membership.Feed.String(), feed.Options{Mirrors: mirrors, Limits: &limits})
		if err != nil {
			return daemon.Options{}, usageErrorf("membership.feed: %v", err)
		}
		opts.Feed = src
	}
	return opts, nil
}

// backendChoices lists the backends the daemon tries, in order: the one
// configured, or for "auto" every built-in one in autoOrder.
func backendChoices(cfg *config.Config, logger *slog.Logger) ([]daemon.BackendChoice, error) {
	if cfg.Backend.Plugin != "" {
		lc := hostapi.LaunchConfig{Path: cfg.Backend.Plugin, SHA256: cfg.Backend.PluginSHA256, Logger: logger}
		return []daemon.BackendChoice{{Name: string(cfg.Backend.Kind), Launch: pluginhost.BackendLauncher(lc)}}, nil
	}
	kinds := []config.BackendKind{cfg.Backend.Kind}
	if cfg.Backend.Kind == config.BackendAuto {
		kinds = autoOrder
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, internalErrorf("locating this executable to serve built-in plugins: %v", err)
	}
	var out []daemon.BackendChoice
	for _, k := range kinds {
		name := "backend-" + string(k)
		if !isBuiltinPlugin(name) {
			return nil, usageErrorf("backend %q is not built into this binary", k)
		}
		lc := hostapi.LaunchConfig{Path: exe, Args: []string{"plugin", name}, Logger: logger}
		out = append(out, daemon.BackendChoice{Name: string(k), Launch: pluginhost.BackendLauncher(lc)})
	}
	return out, nil
}

// controlClient returns a client for the local daemon: the socket from
// --socket, else from --config, else the one defaultSocket finds.
func controlClient(socket, configPath string) (*controlapi.Client, error) {
	switch {
	case socket != "":
	case configPath != "":
		cfg, err := config.Load(configPath)
		if err != nil {
			return nil, usageErrorf("%v", err)
		}
		socket = cfg.Control.Socket
	default:
		var err error
		if socket, err = defaultSocket(); err != nil {
			return nil, err
		}
	}
	return controlapi.Dial(socket), nil
}
