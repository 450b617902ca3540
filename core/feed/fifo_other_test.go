//go:build !unix

package feed

import "testing"

// mkfifo skips: there are no FIFOs in the file system here.
func mkfifo(t *testing.T, path string) { t.Skip("no FIFOs on this platform") }
