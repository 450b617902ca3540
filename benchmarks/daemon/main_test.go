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
func TestMain(m *testing.M) { os.Exit(e2e.RunWithBinary(m, &bin)) }
