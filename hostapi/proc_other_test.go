//go:build !linux

package hostapi_test

import (
	"os"
	"syscall"
)

// processAlive reports whether pid exists (signal 0 succeeds).
func processAlive(pid int) bool {
	p, err := os.FindProcess(pid)
	if err != nil {
		return false
	}
	return p.Signal(syscall.Signal(0)) == nil
}
