//go:build unix

package coldstart

import (
	"syscall"
	"testing"
	"time"
)

// cpuMeasured says whether cpuTime measures anything here.
const cpuMeasured = true

// cpuTime is the CPU time (user and system) this process has used so
// far, in all its threads. Its difference over an op says how much work
// the op took in-process (not in the store plugin's process), which a
// machine loaded by others changes far less than the op's wall time.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
