//go:build unix

package main

import "io/fs"

// checkPrivateKeyMode refuses a private key file that group or others may
// read, write or search, as ssh does.
func checkPrivateKeyMode(path string, info fs.FileInfo) error {
	return checkSecretMode(path, "private key file", info)
}

// checkSecretMode is checkPrivateKeyMode for a secret file of any kind,
// what it is named in the error.
func checkSecretMode(path, what string, info fs.FileInfo) error {
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return usageErrorf("%s: %s has mode %#o, so others may read it; refusing to use it (run: chmod 600 %s)", path, what, perm, path)
	}
	return nil
}
