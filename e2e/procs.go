package e2e

import (
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"

	"github.com/rustynet/rustynet/internal/testbin"
)

// tracked holds every process id the harness started or found among a
// daemon's children, so Leaked can tell whether any outlived its test.
var tracked struct {
	sync.Mutex
	pids []int
}

func track(pid int) {
	tracked.Lock()
	defer tracked.Unlock()
	if !slices.Contains(tracked.pids, pid) {
		tracked.pids = append(tracked.pids, pid)
	}
}

// Leaked returns the daemons and plugin processes the harness started or
// found that are still alive. Call it from TestMain after the tests: every
// test stops its daemons at cleanup, and plugins exit with their daemon.
func Leaked() []int {
	tracked.Lock()
	defer tracked.Unlock()
	var out []int
	for _, pid := range tracked.pids {
		if alive(pid) {
			out = append(out, pid)
		}
	}
	return out
}

// RunWithBinary is the TestMain of a package that runs daemons (this one,
// benchmarks/daemon): it builds the rustynet binary (testbin.TempRustynet)
// and sets *bin to its path, runs m, removes the binary, and fails the run
// if a daemon or plugin process outlived it (Leaked). It returns the exit
// code.
func RunWithBinary(m *testing.M, bin *string) int {
	path, remove, err := testbin.TempRustynet()
	if err != nil {
		fmt.Fprintln(os.Stderr, "building rustynet:", err)
		return 1
	}
	defer remove()
	*bin = path
	code := m.Run()
	if pids := Leaked(); len(pids) > 0 {
		fmt.Fprintf(os.Stderr, "processes outlived their tests: %v\n", pids)
		return 1
	}
	return code
}
