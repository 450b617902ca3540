package benchmarks

import (
	"context"
	"testing"

	"github.com/rustynet/rustynet/core/pluginhost"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/testbin"
)

// StoreKinds are the built-in stores.
var StoreKinds = []string{"file", "sqlite"}

// LaunchStore starts `bin plugin store-KIND` as a plugin process through
// pluginhost.StoreLauncher (go-plugin handshake, gRPC, mutual TLS: the
// daemon's path) and opens the store at dir in it. The caller must Kill
// the instance; on error nothing is left running.
func LaunchStore(ctx context.Context, bin, kind, dir string) (pluginhost.Instance[hostapi.Store], error) {
	inst, err := pluginhost.StoreLauncher(hostapi.LaunchConfig{Path: bin, Args: []string{"plugin", "store-" + kind}})(ctx)
	if err != nil {
		return nil, err
	}
	if err := inst.Plugin().Open(ctx, hostapi.StoreConfig{Dir: dir}); err != nil {
		inst.Kill()
		return nil, err
	}
	return inst, nil
}

// OpenStore is LaunchStore for a store that lives until tb ends: its
// plugin process is killed at cleanup.
func OpenStore(tb testing.TB, kind, dir string) hostapi.Store {
	tb.Helper()
	inst, err := LaunchStore(context.Background(), testbin.Rustynet(tb), kind, dir)
	if err != nil {
		tb.Fatalf("launching the %s store plugin: %v", kind, err)
	}
	tb.Cleanup(inst.Kill)
	return inst.Plugin()
}
