//go:build unix

package main

import "io/fs"

// checkPrivateKeyMode refuses a private key file that group or others may
// read, write or search, as ssh does.
func checkPrivateKeyMode(path string, info fs.FileInfo) error {
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		return usageErrorf("%s: private key file has mode %#o, so others may read it; refusing to use it (run: chmod 600 %s)", path, perm, path)
	}
	return nil
}
