package hostapi

import (
	"context"
	"encoding/json"
	"math"
	"net"
	"net/netip"
	"strings"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// ReattachConfig is how a host reaches a plugin already serving in reattach
// mode (see EnvReattach): the plugin prints it, JSON-encoded, after
// "RUSTYNET_PLUGIN_REATTACH=".
type ReattachConfig struct {
	// Kind is StorePluginName or BackendPluginName.
	Kind string `json:"kind"`
	// ProtocolVersion is the version the plugin serves.
	ProtocolVersion int `json:"protocol_version"`
	// Network and Address are the plugin's listener: "unix" and a socket
	// path, or "tcp" and a loopback host:port.
	Network string `json:"network"`
	Address string `json:"address"`
	// Pid is the plugin's process id.
	Pid int `json:"pid"`
}

// ParseReattachConfig parses the line a plugin in reattach mode prints, or
// the JSON object alone. Errors have CodeInvalidArgument.
func ParseReattachConfig(s string) (ReattachConfig, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, reattachLinePrefix)
	s = strings.Trim(s, "'")
	var cfg ReattachConfig
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&cfg); err != nil {
		return ReattachConfig{}, Errorf(CodeInvalidArgument, "reattach configuration: %v", err)
	}
	return cfg, nil
}

// ReattachStore connects to the store plugin cfg describes, which a person
// started in reattach mode, and returns a client for it. Each client is a
// connection of its own; with ServeStoreFunc it gets a fresh store, closed
// when the client's Kill closes the connection. Kill does not stop the
// plugin process, which belongs to whoever started it.
//
// Errors: a cfg of another kind, an unknown network or a TCP address off
// loopback gives CodeInvalidArgument; a protocol version this host does not
// speak CodeUnsupported; a plugin that does not answer the health check
// CodeUnavailable; ctx ending first, ctx's error.
func ReattachStore(ctx context.Context, cfg ReattachConfig) (*StoreClient, error) {
	conn, raw, err := reattach(ctx, cfg, StorePluginName, storePluginSets(nil))
	if err != nil {
		return nil, err
	}
	return newStoreClient(conn, raw)
}

// ReattachBackend connects to a backend plugin in reattach mode, as
// ReattachStore does to a store.
func ReattachBackend(ctx context.Context, cfg ReattachConfig) (*BackendClient, error) {
	conn, raw, err := reattach(ctx, cfg, BackendPluginName, backendPluginSets(nil))
	if err != nil {
		return nil, err
	}
	return newBackendClient(conn, raw)
}

func reattach(ctx context.Context, cfg ReattachConfig, kind string, sets pluginSets) (*pluginConn, any, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	if cfg.Kind != kind {
		return nil, nil, Errorf(CodeInvalidArgument, "reattach: the plugin serves a %q, not a %s", cfg.Kind, kind)
	}
	p, ok := sets[cfg.ProtocolVersion][kind].(plugin.GRPCPlugin)
	if !ok {
		return nil, nil, Errorf(CodeUnsupported, "reattach: the %s plugin serves protocol version %d, which this host does not speak", kind, cfg.ProtocolVersion)
	}
	if err := checkReattachAddress(cfg.Network, cfg.Address); err != nil {
		return nil, nil, err
	}
	network, address := cfg.Network, cfg.Address
	cc, err := grpc.NewClient("passthrough:///reattach",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, network, address)
		}),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(math.MaxInt32), grpc.MaxCallSendMsgSize(math.MaxInt32)),
	)
	if err != nil {
		return nil, nil, Errorf(CodeInvalidArgument, "reattach to %s plugin at %s %s: %v", kind, network, address, err)
	}
	raw, err := p.GRPCClient(ctx, nil, cc)
	if err != nil {
		_ = cc.Close()
		return nil, nil, Errorf(CodeInternal, "reattach to %s plugin: %v", kind, err)
	}
	done := make(chan struct{})
	conn := &pluginConn{
		kind:    kind,
		conn:    cc,
		version: cfg.ProtocolVersion,
		pid:     cfg.Pid,
		done:    done,
		kill: func() {
			_ = cc.Close()
			close(done)
		},
	}
	if err := conn.ping(ctx); err != nil {
		conn.stop()
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, Errorf(CodeUnavailable, "reattach to %s plugin at %s %s: health check: %v", kind, network, address, err)
	}
	return conn, raw, nil
}

// checkReattachAddress accepts a Unix socket path or a loopback TCP
// address: a reattach connection carries no TLS, so it must not leave the
// machine.
func checkReattachAddress(network, address string) error {
	switch network {
	case "unix":
		if address == "" {
			return Errorf(CodeInvalidArgument, "reattach: no socket path")
		}
		return nil
	case "tcp":
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return Errorf(CodeInvalidArgument, "reattach: TCP address %q: %v", address, err)
		}
		if !ap.Addr().IsLoopback() {
			return Errorf(CodeInvalidArgument, "reattach: TCP address %s is not on loopback", address)
		}
		return nil
	}
	return Errorf(CodeInvalidArgument, "reattach: network %q is neither unix nor tcp", network)
}
