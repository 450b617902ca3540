package hostapi

import (
	"context"
	"os"
)

// remap serves or offers the version-1 plugin of sets under each version in
// vs, standing for peers that speak other versions.
func remap(sets pluginSets, vs []int) pluginSets {
	out := make(pluginSets, len(vs))
	for _, v := range vs {
		out[v] = sets[1]
	}
	return out
}

// WithVersions makes a plugin serve exactly the protocol versions vs (each
// carried by the version-1 services).
func WithVersions(vs ...int) ServeOption {
	return func(o *serveOptions) {
		o.sets = func(s pluginSets) pluginSets { return remap(s, vs) }
	}
}

// LaunchStoreVersions is LaunchStore for a host that speaks exactly the
// protocol versions vs.
func LaunchStoreVersions(ctx context.Context, cfg LaunchConfig, vs ...int) (*StoreClient, error) {
	conn, raw, err := launch(ctx, cfg, StorePluginName, remap(storePluginSets(nil), vs))
	if err != nil {
		return nil, err
	}
	return newStoreClient(conn, raw)
}

// HandshakeOut returns the stdout set aside for the handshake (nil unless
// this process runs as a plugin), for helpers that misbehave on purpose.
func HandshakeOut() *os.File { return handshakeOut }
