package e2e

import (
	"slices"
	"sync"
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
