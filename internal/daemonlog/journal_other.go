//go:build !unix

package daemonlog

import "os"

// ToJournal reports false: there is no systemd journal on this platform.
func ToJournal(*os.File) bool { return false }
