//go:build !linux

package conformance

import "syscall"

// parentDeathAttr: only Linux has a parent-death signal.
func parentDeathAttr() *syscall.SysProcAttr { return nil }
