//go:build !unix

package hostapi

import "syscall"

// sysProcAttr returns the process attributes of a plugin. Only Linux has a
// parent-death signal; elsewhere the stdin pipe alone tells a plugin that its
// host died.
func sysProcAttr() *syscall.SysProcAttr { return nil }
