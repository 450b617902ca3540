//go:build unix

package hostapi

import (
	"os"

	"golang.org/x/sys/unix"
)

// redirectStdout duplicates file descriptor 1 (close-on-exec, so children
// never inherit it) and then points descriptor 1 at stderr. It returns the
// duplicate: the original stdout.
func redirectStdout() (*os.File, error) {
	fd, err := unix.FcntlInt(uintptr(unix.Stdout), unix.F_DUPFD_CLOEXEC, 3)
	if err != nil {
		return nil, err
	}
	if err := unix.Dup2(unix.Stderr, unix.Stdout); err != nil {
		_ = unix.Close(fd)
		return nil, err
	}
	return os.NewFile(uintptr(fd), "plugin-handshake-stdout"), nil
}
