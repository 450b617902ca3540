package atomicfile

import (
	"os"

	"golang.org/x/sys/unix"
)

// Datasync makes f's data durable with fdatasync(2), which writes the
// file's metadata only where reading the data back needs it (its size):
// for writes over bytes already allocated — a file that never grows, or
// a preallocated one overwritten in place — it is one flush of the data.
func Datasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}
