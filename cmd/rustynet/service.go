package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/rustynet/rustynet/core/paths"
	"github.com/rustynet/rustynet/internal/service"
)

// serviceNoJSON is why the service commands have no --json.
const serviceNoJSON = "the service commands pass on what the service manager reports, which is text"

func serviceCommand() *command {
	leaf := func(name, summary string, act func(service.Manager) (string, error)) *command {
		return &command{name: name, args: "", summary: summary, noJSON: serviceNoJSON, run: func(ctx context.Context, e *env, args []string) error {
			return e.runService(args, act)
		}}
	}
	return &command{
		name:    "service",
		summary: "install and control the node as a system service (systemd, launchd, Windows)",
		help: "Runs `rustynet daemon --config FILE` as the machine's node: a hardened\n" +
			"systemd unit (Type=notify, capabilities limited to what the backend\n" +
			"needs) on Linux, a launchd daemon on macOS, a Service Control Manager\n" +
			"service on Windows — restarted after a failure, not after a clean stop.\n" +
			"The same unit and property list are shipped under packaging/. Run as\n" +
			"root (Administrator).",
		subs: []*command{
			{name: "install", args: "[--config FILE] [--binary PATH]", summary: "install the service and enable it at boot", noJSON: serviceNoJSON,
				help: "The configuration (default: the system's, /etc/rustynet/rustynet.toml on\n" +
					"Linux) must exist and be valid: the unit's capabilities and writable\n" +
					"paths are derived from it. Reinstall after changing the backend.",
				run: runServiceInstall},
			leaf("uninstall", "stop the service and remove it (the configuration and state stay)", service.Manager.Uninstall),
			leaf("start", "start the service", service.Manager.Start),
			leaf("stop", "stop the service (the daemon stops its plugins cleanly)", service.Manager.Stop),
			leaf("status", "show the service manager's view of the service", service.Manager.Status),
		},
	}
}

// runService runs one manager action and prints its report.
func (e *env) runService(args []string, act func(service.Manager) (string, error)) error {
	fs := e.flagSet()
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	m, err := service.Native()
	if err != nil {
		return usageErrorf("%v", err)
	}
	out, err := act(m)
	if out != "" {
		fmt.Fprintln(e.stdout, out)
	}
	if err != nil {
		return ioErrorf("%s: %v", e.path, err)
	}
	return nil
}

func runServiceInstall(_ context.Context, e *env, args []string) error {
	sys, _ := paths.Default(paths.System, os.Getenv)
	fs := e.flagSet()
	cfgPath := fs.String("config", sys.ConfigFile, "the node's configuration, which the service passes to the daemon")
	bin := fs.String("binary", "", "the rustynet executable the service runs (default: this one)")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if *bin == "" {
		self, err := os.Executable()
		if err != nil {
			return internalErrorf("locating this executable: %v", err)
		}
		*bin = self
	}
	abs, err := filepath.Abs(*bin)
	if err != nil {
		return usageErrorf("--binary: %v", err)
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		abs = real
	}
	cfg, err := loadConfig(*cfgPath)
	if err != nil {
		return withHint(err, e.path)
	}
	m, err := service.Native()
	if err != nil {
		return usageErrorf("%v", err)
	}
	out, err := m.Install(service.SpecFor(cfg, abs, sys))
	if out != "" {
		fmt.Fprintln(e.stdout, out)
	}
	if err != nil {
		return ioErrorf("%s: %v", e.path, err)
	}
	return nil
}
