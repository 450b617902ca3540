//go:build !unix && !windows

package hostapi

import (
	"errors"
	"os"
)

// redirectStdout is unavailable here; plugins then print their handshake
// on stdout unprotected.
func redirectStdout() (*os.File, error) {
	return nil, errors.New("stdout redirection is not supported on this platform")
}
