package main

import "syscall"

// demoSysProcAttr makes a demo daemon die with the demo.
func demoSysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
