//go:build !windows

package main

import "syscall"

// errAddrInUse is the errno of an address already in use.
var errAddrInUse error = syscall.EADDRINUSE
