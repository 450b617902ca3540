package e2e

import (
	"flag"
	"os"
	"testing"

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
	return RunWithBinary(m, &bin)
}

// newCluster is New with the binary of this run.
func newCluster(t *testing.T, opts Options) *Cluster {
	t.Helper()
	opts.Bin = bin
	return New(t, opts)
}
