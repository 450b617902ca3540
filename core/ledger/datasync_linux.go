package ledger

import (
	"os"

	"golang.org/x/sys/unix"
)

// datasync makes f's data durable (fdatasync: the mark's size never
// changes, so its metadata need not be written).
func datasync(f *os.File) error {
	for {
		err := unix.Fdatasync(int(f.Fd()))
		if err != unix.EINTR {
			return err
		}
	}
}
