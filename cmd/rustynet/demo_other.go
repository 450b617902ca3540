//go:build !linux

package main

import "syscall"

// demoSysProcAttr: without a parent-death signal, daemons are stopped by
// the demo's own cleanup.
func demoSysProcAttr() *syscall.SysProcAttr { return nil }
