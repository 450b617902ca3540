package hostapi

import (
	"context"
	"fmt"

	plugin "github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	"github.com/rustynet/rustynet/hostapi/internal/pb"
)

// Handshake is the go-plugin handshake every Rustynet host and plugin uses.
// The magic cookie is not a secret: it only tells a binary that a Rustynet
// host launched it as a plugin. The protocol version actually spoken is
// negotiated from the versions each side lists (see ProtocolVersion); the
// ProtocolVersion field here is informational. Treat Handshake as read-only.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "RUSTYNET_PLUGIN_MAGIC_COOKIE",
	MagicCookieValue: "rustynet-plugin-7c2e91d04b6f4a3f9d85e1a0c36b2f47",
}

// Plugin names under which go-plugin dispenses the two plugin kinds.
const (
	StorePluginName   = "store"
	BackendPluginName = "backend"
)

// pluginSets maps each protocol version this package speaks to the
// go-plugin plugin set that carries it. A host offers every version listed;
// a plugin serves the highest version the host offers. Adding version 2
// means adding entry 2 (its own proto package rustynet.plugin.v2 and
// adapters) beside entry 1, which keeps serving older peers.
type pluginSets map[int]plugin.PluginSet

// storePluginSets returns the versioned plugin sets for a Store; impl is nil
// on the host side.
func storePluginSets(impl Store) pluginSets {
	return pluginSets{
		1: {StorePluginName: &storePluginV1{impl: impl}},
	}
}

// backendPluginSets returns the versioned plugin sets for a Backend; impl is
// nil on the host side.
func backendPluginSets(impl Backend) pluginSets {
	return pluginSets{
		1: {BackendPluginName: &backendPluginV1{impl: impl}},
	}
}

// storePluginV1 carries a Store over protocol version 1.
type storePluginV1 struct {
	plugin.NetRPCUnsupportedPlugin
	impl Store
}

func (p *storePluginV1) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.impl == nil {
		return fmt.Errorf("hostapi: no Store implementation to serve")
	}
	pb.RegisterStoreServer(s, &storeServer{impl: p.impl})
	return nil
}

func (p *storePluginV1) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return &storeClient{rpc: pb.NewStoreClient(cc)}, nil
}

// backendPluginV1 carries a Backend over protocol version 1.
type backendPluginV1 struct {
	plugin.NetRPCUnsupportedPlugin
	impl Backend
}

func (p *backendPluginV1) GRPCServer(_ *plugin.GRPCBroker, s *grpc.Server) error {
	if p.impl == nil {
		return fmt.Errorf("hostapi: no Backend implementation to serve")
	}
	pb.RegisterBackendServer(s, &backendServer{impl: p.impl})
	return nil
}

func (p *backendPluginV1) GRPCClient(_ context.Context, _ *plugin.GRPCBroker, cc *grpc.ClientConn) (any, error) {
	return &backendClient{rpc: pb.NewBackendClient(cc)}, nil
}

// Environment variables a host sets for the plugins it launches, beside
// go-plugin's own.
const (
	// envWatchStdin = "1" tells the plugin that its stdin is a pipe the host
	// holds open for the plugin's lifetime: end of file means the host died.
	envWatchStdin = "RUSTYNET_PLUGIN_WATCH_STDIN"
	// envLogLevel is the lowest level the host records (see PluginLogger).
	envLogLevel = "RUSTYNET_PLUGIN_LOG_LEVEL"
)
