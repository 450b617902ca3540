package hostapi

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// EnvReattach, set to "1" in a plugin's environment, makes ServeStore,
// ServeStoreFunc, ServeBackend and ServeBackendFunc serve in reattach mode
// instead of waiting for a host to launch the plugin: the plugin listens on
// a socket of its own, prints one line
//
//	RUSTYNET_PLUGIN_REATTACH={"kind":"store","protocol_version":1,...}
//
// on stdout (see ReattachConfig), and serves every host that reattaches with
// that configuration (ReattachStore, ReattachBackend, `rustynet conformance
// --reattach`) until it receives SIGINT or SIGTERM. This is how a plugin
// author runs a plugin under a debugger and points the conformance suite at
// it.
//
// Reattach mode is for development. There is no magic cookie, no mutual TLS
// and no host to watch: on Unix the socket sits in a fresh directory only
// the plugin's user can enter; on Windows it is a loopback TCP port that
// every local user can reach.
const EnvReattach = "RUSTYNET_PLUGIN_REATTACH"

// reattachLinePrefix starts the line a plugin in reattach mode prints.
const reattachLinePrefix = EnvReattach + "="

// ReattachMode reports whether this process was started to serve in
// reattach mode (EnvReattach is "1").
func ReattachMode() bool { return os.Getenv(EnvReattach) == "1" }

// ServeStoreFunc serves the stores newStore makes. Launched by a host, the
// plugin serves one store, exactly as ServeStore does. In reattach mode
// (EnvReattach) every host connection gets a fresh store from newStore,
// which is closed when that connection ends, as a launched plugin's store
// is closed when its process ends; ServeStore instead shares its one store
// among all connections and closes it when serving ends.
func ServeStoreFunc(newStore func() Store, opts ...ServeOption) {
	o := buildServeOptions(opts)
	if !ReattachMode() {
		impl := newStore()
		serve(storePluginSets(impl), impl.Close, o)
		return
	}
	ss := newSessions(newStore, Store.Close, true, o)
	serveReattach(StorePluginName, storePluginSets(storeRouter{ss}), ss, o)
}

// ServeBackendFunc serves the backends newBackend makes, as ServeStoreFunc
// serves stores.
func ServeBackendFunc(newBackend func() Backend, opts ...ServeOption) {
	o := buildServeOptions(opts)
	if !ReattachMode() {
		impl := newBackend()
		serve(backendPluginSets(impl), impl.Close, o)
		return
	}
	ss := newSessions(newBackend, Backend.Close, true, o)
	serveReattach(BackendPluginName, backendPluginSets(backendRouter{ss}), ss, o)
}

// closer is what serveReattach needs of a session table.
type closer interface {
	grpcStats() grpc.ServerOption
	closeAll()
}

// serveReattach serves sets in go-plugin's test mode, which skips the magic
// cookie and reports the listener instead of printing a handshake, until
// SIGINT or SIGTERM; then it closes every session's implementation.
func serveReattach(kind string, sets pluginSets, ss closer, o serveOptions) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cleanup, err := privateSocketDir()
	if err != nil {
		fmt.Fprintf(pluginStderr, "rustynet plugin: reattach mode: %v\n", err)
		os.Exit(1)
	}
	defer cleanup()

	configs := make(chan *plugin.ReattachConfig, 1)
	closed := make(chan struct{})
	go func() {
		select {
		case rc := <-configs:
			printReattachLine(kind, rc)
		case <-closed:
		}
	}()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: o.sets(sets),
		GRPCServer: func(opts []grpc.ServerOption) *grpc.Server {
			return newGRPCServer(append(opts, ss.grpcStats()))
		},
		Logger: newHCLogger(o.logger),
		Test:   &plugin.ServeTestConfig{Context: ctx, ReattachConfigCh: configs, CloseCh: closed},
	})
	ss.closeAll()
}

// printReattachLine prints the line a host reattaches with.
func printReattachLine(kind string, rc *plugin.ReattachConfig) {
	cfg := ReattachConfig{
		Kind:            kind,
		ProtocolVersion: rc.ProtocolVersion,
		Network:         rc.Addr.Network(),
		Address:         rc.Addr.String(),
		Pid:             rc.Pid,
	}
	js, err := json.Marshal(cfg)
	if err != nil {
		fmt.Fprintf(pluginStderr, "rustynet plugin: reattach mode: %v\n", err)
		return
	}
	fmt.Fprintf(os.Stdout, "%s%s\n", reattachLinePrefix, js)
}
