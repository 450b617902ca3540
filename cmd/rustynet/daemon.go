package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"time"

	"github.com/rustynet/rustynet/core/config"
	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/daemon"
	"github.com/rustynet/rustynet/core/feed"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/pluginhost"
	"github.com/rustynet/rustynet/core/reconcile"
	"github.com/rustynet/rustynet/hostapi"
)

// autoOrder is the order `backend = "auto"` probes backends in: the
// fastest data plane first, the one that needs nothing last.
var autoOrder = []config.BackendKind{config.BackendWGKernel, config.BackendWGTun, config.BackendNetstack}

func daemonCommand() *command {
	return &command{
		name:    "daemon",
		args:    "--config FILE",
		summary: "run the node agent",
		help: "Runs the node: verifies its membership log, starts its store and\n" +
			"backend plugins, keeps the data plane equal to trusted membership and\n" +
			"serves the local control API until interrupted (then exits 0).\n" +
			"A plugin that keeps crashing is retried for ever, ever more slowly,\n" +
			"while `rustynet status` reports the node degraded; with\n" +
			"[daemon] exit_on_broken_plugin = true the daemon exits 3 (UNAVAILABLE)\n" +
			"instead, for a service manager to restart it.",
		run: runDaemon,
	}
}

func runDaemon(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	path := fs.String("config", "", "the node's TOML configuration")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if err := e.require(fs, "config"); err != nil {
		return err
	}
	cfg, err := loadConfig(*path)
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: cfg.Log.Level}))
	opts, err := daemonOptions(cfg, logger)
	if err != nil {
		return err
	}
	ln, err := controlapi.ListenConfig{Group: cfg.Control.Group}.Listen(cfg.Control.Socket)
	if err != nil {
		return ioErrorf("control socket %s: %v", cfg.Control.Socket, err)
	}
	defer ln.Close()
	auth, err := controlapi.NewAuthorizer(cfg.Control.Group)
	if err != nil {
		return usageErrorf("control.group: %v", err)
	}
	d, err := daemon.Start(ctx, opts)
	if err != nil {
		if membership.CodeOf(err) != "" {
			return rejected("starting the node", err)
		}
		return internalErrorf("starting the node: %v", err)
	}
	defer d.Close()
	srv := controlapi.NewServer(d, auth, logger, controlapi.Limits{})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	logger.Info("node running", "node", cfg.Node.ID, "control", cfg.Control.Socket)
	var failed error
	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err := <-served:
		if !errors.Is(err, http.ErrServerClosed) {
			return internalErrorf("control API: %v", err)
		}
	case err := <-d.Failed():
		logger.Error("shutting down: [daemon] exit_on_broken_plugin is set", "err", err)
		failed = &cliError{code: codeUnavailable, exit: exitIO,
			msg:  fmt.Sprintf("%v; exiting since [daemon] exit_on_broken_plugin is set", err),
			hint: "hint: the service manager is to restart the node; `rustynet daemon` logged the plugin's failures"}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	return failed
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
	data, err := readInput(cfg.Membership.GenesisFile)
	if err != nil {
		return daemon.Options{}, err
	}
	genesis, err := membership.ParseSignedUpdate(data, nil)
	if err != nil {
		return daemon.Options{}, rejected("genesis "+cfg.Membership.GenesisFile, err)
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
			Proxy:      cfg.ProxyConfig(),
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
		ExitOnBrokenPlugin: cfg.Daemon.ExitOnBrokenPlugin,
		Limits:             &limits,
		Logger:             logger,
	}
	if !cfg.Membership.Feed.IsZero() {
		src, err := feed.New(cfg.Membership.Feed.String(), feed.Options{})
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
// --socket, else from --config, else the default configuration's.
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
		socket = config.Default().Control.Socket
	}
	return controlapi.Dial(socket), nil
}
