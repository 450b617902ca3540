package main

import "golang.org/x/sys/windows"

// errAddrInUse is the error of an address already in use (Winsock's).
var errAddrInUse error = windows.WSAEADDRINUSE
