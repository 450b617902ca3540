//go:build !unix

package main

import (
	"io/fs"

	"github.com/rustynet/rustynet/internal/fileperm"
)

// checkPrivateKeyMode refuses a private key file that others may access:
// on Windows, an access control list open to anyone but its owner,
// SYSTEM and Administrators (fileperm.CheckPrivate).
func checkPrivateKeyMode(path string, info fs.FileInfo) error {
	if err := fileperm.CheckPrivate(path, info); err != nil {
		return usageErrorf("private key file %v; refusing to use it", err)
	}
	return nil
}
