package conformance

import "syscall"

// parentDeathAttr makes a plugin the suite launches die with the suite.
func parentDeathAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
