package demo

import "syscall"

// sysProcAttr makes a demo daemon die with the demo.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
