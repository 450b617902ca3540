//go:build !unix

package main

import "io/fs"

// checkPrivateKeyMode accepts every file: on this platform access control
// lives in ACLs, which permission bits do not reflect.
func checkPrivateKeyMode(string, fs.FileInfo) error { return nil }
