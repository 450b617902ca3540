package hostapi

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
)

// DefaultCloseTimeout bounds the Close call serving makes on a plugin's
// implementation when the plugin is told to exit or its host goes away.
const DefaultCloseTimeout = 10 * time.Second

// ServeOption configures ServeStore, ServeBackend, ServeStoreTest and
// ServeBackendTest.
type ServeOption func(*serveOptions)

type serveOptions struct {
	logger       *slog.Logger
	closeTimeout time.Duration
	// sets, if not nil, replaces the versioned plugin sets served; tests of
	// version negotiation use it.
	sets func(pluginSets) pluginSets
	// goPluginTLS leaves TLS to go-plugin's AutoMTLS, as a plugin built
	// on an older hostapi does; tests of interoperability set it.
	goPluginTLS bool
}

// WithLogger sets the logger of the serving machinery itself (go-plugin's
// messages). The default is PluginLogger(); in-process tests may pass their
// own.
func WithLogger(l *slog.Logger) ServeOption {
	return func(o *serveOptions) { o.logger = l }
}

// WithCloseTimeout bounds the Close call serving makes on the implementation
// when it stops; the default is DefaultCloseTimeout.
func WithCloseTimeout(d time.Duration) ServeOption {
	return func(o *serveOptions) { o.closeTimeout = d }
}

func buildServeOptions(opts []ServeOption) serveOptions {
	o := serveOptions{closeTimeout: DefaultCloseTimeout}
	for _, opt := range opts {
		opt(&o)
	}
	if o.logger == nil {
		o.logger = PluginLogger()
	}
	if o.sets == nil {
		o.sets = func(s pluginSets) pluginSets { return s }
	}
	return o
}

// ServeStore serves impl as a Rustynet store plugin. A plugin's main calls
// it and nothing else that touches stdout; it blocks until the host tells
// the plugin to exit, closes impl, and returns.
//
// hostapi sets stdout aside as soon as the process starts as a plugin: only
// the go-plugin handshake line reaches the host on it, and whatever plugin
// code writes to os.Stdout goes to stderr or to the host's log, never into
// the protocol. Plugin code logs with PluginLogger.
//
// The plugin's stdin belongs to hostapi: the host holds it open, and its end
// means the host died. If the host dies (or the plugin receives SIGTERM),
// ServeStore closes impl (bounded by WithCloseTimeout) and exits the process
// with status 0; on Linux a host's death may also kill the plugin outright.
// Run outside a Rustynet host and not in reattach mode, ServeStore prints
// an explanation and exits with status 1.
//
// In reattach mode (EnvReattach) every host that reattaches shares impl,
// which is closed when serving ends; ServeStoreFunc gives each its own.
func ServeStore(impl Store, opts ...ServeOption) {
	o := buildServeOptions(opts)
	if ReattachMode() {
		ss := sharedSessions(impl, Store.Close, o)
		serveReattach(StorePluginName, storePluginSets(storeRouter{ss}), ss, o)
		return
	}
	serve(storePluginSets(impl), impl.Close, o)
}

// ServeBackend serves impl as a Rustynet backend plugin, exactly as
// ServeStore serves a store.
func ServeBackend(impl Backend, opts ...ServeOption) {
	o := buildServeOptions(opts)
	if ReattachMode() {
		ss := sharedSessions(impl, Backend.Close, o)
		serveReattach(BackendPluginName, backendPluginSets(backendRouter{ss}), ss, o)
		return
	}
	serve(backendPluginSets(impl), impl.Close, o)
}

func serve(sets pluginSets, closeImpl func(context.Context) error, o serveOptions) {
	stop := &stopper{closeImpl: closeImpl, timeout: o.closeTimeout, logger: o.logger}
	watchHost(stop.exit)
	// The plugin's own TLS (mtls.go) needs its certificate in the
	// handshake line, which only a routed handshake can add; otherwise
	// go-plugin's AutoMTLS serves, slower but as safe.
	var tlsProvider func() (*tls.Config, error)
	var cert string
	if handshakeRouted() && !o.goPluginTLS {
		cfg, c, err := pluginTLS()
		if err != nil {
			fmt.Fprintf(pluginStderr, "rustynet plugin: %v\n", err)
			stop.close()
			os.Exit(1)
		}
		tlsProvider = func() (*tls.Config, error) { return cfg, nil }
		cert = c
	}
	restore := routeHandshake(cert)
	defer restore()
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  Handshake,
		VersionedPlugins: o.sets(sets),
		GRPCServer:       newGRPCServer,
		TLSProvider:      tlsProvider,
		Logger:           newHCLogger(o.logger),
	})
	stop.close()
}

// newGRPCServer builds the plugin's gRPC server. Messages may be as large
// as gRPC allows (the host's go-plugin client sets the same limit), so that
// entries and snapshots up to the contract's maxima fit; replies are
// encoded by recyclingCodec.
func newGRPCServer(opts []grpc.ServerOption) *grpc.Server {
	opts = append(opts, grpc.MaxRecvMsgSize(math.MaxInt32), grpc.MaxSendMsgSize(math.MaxInt32),
		grpc.ForceServerCodecV2(newRecyclingCodec()))
	return grpc.NewServer(opts...)
}

// stopper closes a plugin's implementation once, however serving ends.
type stopper struct {
	once      sync.Once
	closeImpl func(context.Context) error
	timeout   time.Duration
	logger    *slog.Logger
}

// close closes the implementation, waiting at most the close timeout. The
// host is gone or has let go, so no caller context exists to derive from.
func (s *stopper) close() {
	s.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), s.timeout)
		defer cancel()
		if err := s.closeImpl(ctx); err != nil {
			s.logger.Error("closing plugin implementation", "error", err)
		}
	})
}

// exit closes the implementation and ends the process: the host is gone.
func (s *stopper) exit(reason string) {
	s.logger.Info("plugin exiting without its host", "reason", reason)
	s.close()
	os.Exit(0)
}

// watchHost calls gone when the host can no longer use this plugin: its
// stdin reaches end of file (when the host said it holds stdin open) or the
// process receives SIGTERM.
func watchHost(gone func(reason string)) {
	if os.Getenv(envWatchStdin) == "1" {
		go func() {
			_, err := io.Copy(io.Discard, os.Stdin)
			reason := "host closed the plugin's stdin"
			if err != nil {
				reason += ": " + err.Error()
			}
			gone(reason)
		}()
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM)
	go func() { gone("received " + (<-sig).String()) }()
}
