package main

import (
	"github.com/rustynet/rustynet/hostapi"
	netstack "github.com/rustynet/rustynet/plugins/backend-netstack"
	wgkernel "github.com/rustynet/rustynet/plugins/backend-wgkernel"
	wgtun "github.com/rustynet/rustynet/plugins/backend-wgtun"
	storefile "github.com/rustynet/rustynet/plugins/store-file"
	storesqlite "github.com/rustynet/rustynet/plugins/store-sqlite"
)

// rootCommand returns the command tree. Add a new command or group by
// adding its constructor here; see the package documentation.
func rootCommand() *command {
	return &command{
		name: "rustynet",
		help: "Rustynet operator CLI. Exit status: 0 ok, 1 rejected by verification\n" +
			"or policy (also FORBIDDEN: the daemon does not admit this user), 2 usage\n" +
			"or input error, 3 I/O or internal error (UNAVAILABLE: the daemon or a\n" +
			"plugin cannot serve the request now — retry); on failure stderr starts\n" +
			"with `error: CODE: message`.",
		subs: []*command{
			keyCommand(),
			membershipCommand(),
			policyCommand(),
			daemonCommand(),
			configCommand(),
			nodeStatusCommand(),
			auditCommand(),
			serviceCommand(),
			versionCommand(),
			completionCommand(),
			demoCommand(),
			feedCommand(),
			conformanceCommand(),
			pluginCommand(builtinPlugins),
		},
	}
}

// builtinPlugins are the plugins this binary serves in plugin mode,
// `rustynet plugin NAME`: the daemon and the CLI launch the binary itself
// that way, as a separate process, whenever a built-in plugin is chosen.
// Adding a built-in plugin is adding its line here; serve never returns
// until the plugin's host lets it go.
var builtinPlugins = []builtinPlugin{
	{name: "store-file", summary: "the file store (plugins/store-file)",
		serve: func() { hostapi.ServeStoreFunc(func() hostapi.Store { return storefile.New(hostapi.PluginLogger()) }) }},
	{name: "store-sqlite", summary: "the SQLite store (plugins/store-sqlite)",
		serve: func() {
			hostapi.ServeStoreFunc(func() hostapi.Store { return storesqlite.New(hostapi.PluginLogger()) })
		}},
	{name: "backend-netstack", summary: "the rootless netstack backend (plugins/backend-netstack)",
		serve: func() {
			hostapi.ServeBackendFunc(func() hostapi.Backend { return netstack.New(hostapi.PluginLogger()) })
		}},
	{name: "backend-wgtun", summary: "the TUN backend (plugins/backend-wgtun)",
		serve: func() { hostapi.ServeBackendFunc(func() hostapi.Backend { return wgtun.New(hostapi.PluginLogger()) }) }},
	{name: "backend-wgkernel", summary: "the kernel WireGuard backend (plugins/backend-wgkernel)",
		serve: func() {
			hostapi.ServeBackendFunc(func() hostapi.Backend { return wgkernel.New(hostapi.PluginLogger()) })
		}},
}
