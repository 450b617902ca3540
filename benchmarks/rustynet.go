package benchmarks

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/rustynet/rustynet/core/pluginhost"
	"github.com/rustynet/rustynet/hostapi"
)

// built is the rustynet binary, built once per process.
var built struct {
	once sync.Once
	dir  string
	path string
	err  error
	out  []byte
}

// Rustynet returns the path of the rustynet binary built from this module,
// building it on first use. It skips tb if the go tool is missing. Call
// RemoveBuilt from TestMain once the benchmarks are done.
func Rustynet(tb testing.TB) string {
	tb.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		tb.Skip("the go tool is not installed: cannot build the rustynet binary")
	}
	built.once.Do(func() {
		if built.dir, built.err = os.MkdirTemp("", "rustynet-bench-"); built.err != nil {
			return
		}
		built.path = filepath.Join(built.dir, "rustynet")
		built.out, built.err = exec.Command(goTool, "build", "-o", built.path, "github.com/rustynet/rustynet/cmd/rustynet").CombinedOutput()
	})
	if built.err != nil {
		tb.Fatalf("building rustynet: %v\n%s", built.err, built.out)
	}
	return built.path
}

// RemoveBuilt removes the binary Rustynet built, if any.
func RemoveBuilt() {
	if built.dir != "" {
		os.RemoveAll(built.dir)
	}
}

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
	inst, err := LaunchStore(context.Background(), Rustynet(tb), kind, dir)
	if err != nil {
		tb.Fatalf("launching the %s store plugin: %v", kind, err)
	}
	tb.Cleanup(inst.Kill)
	return inst.Plugin()
}
