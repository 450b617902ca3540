//go:build !linux

package e2e

import (
	"errors"
	"os"
	"syscall"
)

var errNoProc = errors.New("e2e: finding and watching plugin processes needs Linux's /proc")

// sysProcAttr returns a daemon's process attributes; running as another
// user or in a network namespace of its own is supported on Linux only.
func sysProcAttr(cfg NodeConfig) (*syscall.SysProcAttr, error) {
	if cfg.RunAs != nil || cfg.PrivateNetwork {
		return nil, errors.New("e2e: RunAs and PrivateNetwork are supported on Linux only")
	}
	return nil, nil
}

func children(int) ([]int, error)   { return nil, errNoProc }
func cmdline(int) ([]string, error) { return nil, errNoProc }
func alive(int) bool                { return false }

// killPID ends process pid.
func killPID(pid int) {
	if p, err := os.FindProcess(pid); err == nil {
		p.Kill()
	}
}
