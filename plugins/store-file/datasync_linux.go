package storefile

import (
	"os"

	"golang.org/x/sys/unix"
)

// datasync makes f's data durable with fdatasync(2): an append overwrites
// bytes already allocated, so the file's size and extents do not change
// and its metadata need not be written.
func datasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}
