//go:build !linux

package demo

import "syscall"

// sysProcAttr: without a parent-death signal, daemons are stopped by the
// demo's own cleanup.
func sysProcAttr() *syscall.SysProcAttr { return nil }
