package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/rustynet/rustynet/internal/testbin"
	"github.com/rustynet/rustynet/internal/vmtest/vmtesting"
)

// guestBinEnv names the rustynet binary inside a VM guest (see
// TestWgkernelRoutedMesh).
const guestBinEnv = "RUSTYNET_E2E_BIN"

// bin is the rustynet binary TestMain built for this run.
var bin string

// TestMain builds the rustynet binary once, runs the tests, and checks
// that no daemon or plugin process they started is still alive.
func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	flag.Parse()
	if testing.Short() {
		return m.Run() // every test skips (see New): nothing to build
	}
	if vmtesting.InGuest() {
		// Inside a VM (see TestWgkernelRoutedMesh) there is no go tool: the
		// host built the binary and shipped it.
		bin = os.Getenv(guestBinEnv)
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "rustynet-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if bin, err = testbin.Build(ctx, dir); err != nil {
		fmt.Fprintln(os.Stderr, "building rustynet:", err)
		return 1
	}
	code := m.Run()
	if pids := Leaked(); len(pids) > 0 {
		fmt.Fprintf(os.Stderr, "processes outlived their tests: %v\n", pids)
		return 1
	}
	return code
}

// newCluster is New with the binary of this run.
func newCluster(t *testing.T, opts Options) *Cluster {
	t.Helper()
	opts.Bin = bin
	return New(t, opts)
}
