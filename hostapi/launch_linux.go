package hostapi

import "syscall"

// parentDeathSignal is the signal Linux sends a plugin when the thread that
// launched it dies: SIGKILL, so a plugin never outlives a crashed host.
var parentDeathSignal = syscall.SIGKILL

// sysProcAttr returns the process attributes of a plugin.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: parentDeathSignal}
}
