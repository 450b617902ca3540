package daemonbench

import (
	"os"
	"testing"

	"github.com/rustynet/rustynet/e2e"
)

// bin is the rustynet binary TestMain built for this run.
var bin string

// TestMain builds the rustynet binary once for the benchmarks and fails
// the run if a process they started outlives them.
// (Started with plainPeersEnv set, the binary is a plain wireguard-go
// process for BenchmarkMemory instead; with statusReaderEnv, a status
// reader for BenchmarkStatus.)
func TestMain(m *testing.M) {
	if p := os.Getenv(plainPeersEnv); p != "" {
		os.Exit(plainMain(p))
	}
	if v := os.Getenv(statusReaderEnv); v != "" {
		os.Exit(statusReaderMain(v))
	}
	os.Exit(e2e.RunWithBinary(m, &bin))
}
