//go:build unix

package conformance

import "syscall"

// canKill reports whether the suite can SIGKILL a plugin process here.
const canKill = true

// sigkill sends SIGKILL to pid.
func sigkill(pid int) error { return syscall.Kill(pid, syscall.SIGKILL) }

// sigterm sends SIGTERM to pid.
func sigterm(pid int) error { return syscall.Kill(pid, syscall.SIGTERM) }
