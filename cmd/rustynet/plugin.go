package main

import (
	"context"
	"os"

	"github.com/rustynet/rustynet/hostapi"
)

// builtinPlugin is one plugin the binary serves in plugin mode.
type builtinPlugin struct {
	name    string // the subcommand: "store-file", "backend-netstack", ...
	summary string
	// serve serves the plugin over hostapi (ServeStore or ServeBackend)
	// until its host lets it go.
	serve func()
}

// pluginCommand is the hidden "plugin" group: one leaf per built-in
// plugin. It is what the daemon and the CLI launch (see storeChoice); an
// operator never runs it.
func pluginCommand(plugins []builtinPlugin) *command {
	subs := make([]*command, len(plugins))
	for i, p := range plugins {
		subs[i] = &command{
			name:    p.name,
			summary: "serve " + p.summary + " to a Rustynet host",
			noJSON:  "standard output carries the plugin handshake",
			run:     p.run,
		}
	}
	return &command{
		name:    "plugin",
		summary: "serve a built-in plugin (internal: launched by the daemon and the CLI)",
		help: "Built-in plugins run as separate processes of this same binary. The\n" +
			"daemon and the CLI start them over the plugin handshake; run by hand,\n" +
			"these commands only explain that, unless RUSTYNET_PLUGIN_REATTACH=1\n" +
			"asks them to serve in reattach mode (see docs/plugin-authors.md).",
		hidden: true,
		subs:   subs,
	}
}

// run serves the plugin. Its lifetime belongs to the host: hostapi ends it
// when the host closes the plugin's stdin, asks it to exit, or sends
// SIGTERM. ctx is not consulted: an interrupt from a terminal reaches the
// host too, which then stops its plugins in order.
func (p builtinPlugin) run(_ context.Context, e *env, args []string) error {
	fs := e.flagSet()
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	if os.Getenv(hostapi.Handshake.MagicCookieKey) != hostapi.Handshake.MagicCookieValue && !hostapi.ReattachMode() {
		return e.usagef("this command serves %s to a Rustynet host over the plugin "+
			"handshake; the daemon and the CLI launch it, it is not run by hand", p.summary)
	}
	p.serve()
	return nil
}
