package netnstest

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

var sweepOnce sync.Once

// sweep deletes the namespaces that test processes no longer alive left
// behind (a binary killed by -timeout runs no cleanups). It runs once per
// process and ignores failures: the next process tries again.
func sweep() { sweepOnce.Do(sweepStale) }

// sweepStale deletes every namespace named by UniqueName(nsPrefix) whose
// process is gone.
func sweepStale() {
	entries, err := os.ReadDir("/run/netns")
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, ok := ownerPid(e.Name())
		if !ok || pid == os.Getpid() || processAlive(pid) {
			continue
		}
		_ = exec.Command("ip", "netns", "del", e.Name()).Run()
	}
}

// ownerPid extracts the pid from a name made by UniqueName(nsPrefix).
func ownerPid(name string) (int, bool) {
	rest, ok := strings.CutPrefix(name, nsPrefix)
	if !ok {
		return 0, false
	}
	digits, _, ok := strings.Cut(rest, "x")
	if !ok {
		return 0, false
	}
	pid, err := strconv.Atoi(digits)
	return pid, err == nil && pid > 0
}

// processAlive reports whether a process with this pid exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
