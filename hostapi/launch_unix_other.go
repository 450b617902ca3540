//go:build unix && !linux

package hostapi

import "syscall"

// sysProcAttr returns the process attributes of a plugin: a process group
// of its own, so that a signal sent to the host's process group reaches
// the host alone, which then stops its plugins in order. Only Linux has a
// parent-death signal; elsewhere the stdin pipe alone tells a plugin that
// its host died.
func sysProcAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
