//go:build unix

package wgdev

import (
	"fmt"
	"runtime"
	"syscall"
	"testing"
)

// BenchmarkGC measures one whole garbage collection (runtime.GC) of a
// process whose heap holds a device of N peers — wireguard-go's queues,
// goroutines and timers per peer, which are nearly all of a backend
// plugin's heap. cpu-ms is the CPU time of a cycle in every thread (the
// collector marks on both cores); ns/op its wall time. It prices garbage:
// a backend that kept its resident set from growing by the garbage its
// reads leave would pay a cycle per MB of it.
func BenchmarkGC(b *testing.B) {
	for _, existing := range []int{10000} {
		n := benchDevice(b, existing)
		b.Run(fmt.Sprintf("N=%d", existing), func(b *testing.B) {
			runtime.GC()
			before := processCPU(b)
			for b.Loop() {
				runtime.GC()
			}
			b.ReportMetric(float64(processCPU(b)-before)/1e6/float64(b.N), "cpu-ms")
		})
		runtime.KeepAlive(n)
	}
}

// processCPU is the CPU time, user and system, this process has used so
// far in all its threads, in nanoseconds.
func processCPU(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
