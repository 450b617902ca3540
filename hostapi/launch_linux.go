package hostapi

import "syscall"

// parentDeathSignal is the signal Linux sends a plugin when the thread that
// launched it dies: SIGKILL, so a plugin never outlives a crashed host.
var parentDeathSignal = syscall.SIGKILL

// sysProcAttr returns the process attributes of a plugin: the parent-death
// signal, and a process group of its own, so that a signal sent to the
// host's process group (a terminal's ^C, timeout(1), kill -TERM -PGID)
// reaches the host alone, which then stops its plugins in order instead of
// watching them die under it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: parentDeathSignal, Setpgid: true}
}
