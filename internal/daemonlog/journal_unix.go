//go:build unix

package daemonlog

import (
	"fmt"
	"os"
	"syscall"
)

// ToJournal reports whether f (the daemon's stderr) is the stream systemd
// connected to the journal: $JOURNAL_STREAM names its device and inode
// ("DEV:INODE"), and a process that merely inherited the variable (a
// child whose stderr was redirected) does not match it.
func ToJournal(f *os.File) bool {
	want := os.Getenv("JOURNAL_STREAM")
	if want == "" {
		return false
	}
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fmt.Sprintf("%d:%d", st.Dev, st.Ino) == want
}
