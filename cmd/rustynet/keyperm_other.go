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
	return checkSecretMode(path, "private key file", info)
}

// checkSecretMode is checkPrivateKeyMode for a secret file of any kind,
// what it is named in the error.
func checkSecretMode(path, what string, info fs.FileInfo) error {
	if err := fileperm.CheckPrivate(path, info); err != nil {
		return usageErrorf("%s %v; refusing to use it", what, err)
	}
	return nil
}
