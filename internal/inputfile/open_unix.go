//go:build unix

package inputfile

import (
	"os"
	"syscall"
)

// open opens path for reading without blocking on a FIFO (O_NONBLOCK has
// no effect on regular files) and without acquiring a controlling
// terminal.
func open(path string) (*os.File, error) {
	return os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
}
