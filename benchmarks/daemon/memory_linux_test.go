//go:build linux

package daemonbench

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkMemory measures the resident memory of a running node against
// its peer count: a network of P+1 members of which only n1 runs (netstack
// backend, file store, no proxy), so n1's backend plugin holds P peers.
// Once the daemon has pushed every peer to the plugin, each iteration
// reads VmRSS of the daemon and of the backend plugin process from
// /proc; the metrics are the last reading, as backend-rss-KiB and
// daemon-rss-KiB, and peers (P). Setting up the network is not timed;
// the time per op (one pair of readings) means nothing. benchmarks/report
// plots both against the peer count and derives the memory per peer.
func BenchmarkMemory(b *testing.B) {
	for _, peers := range []int{0, 100, 1000, 10000} {
		b.Run(fmt.Sprintf("peers=%d", peers), func(b *testing.B) {
			_, n1 := startNode(b, "file", peers+1)
			backend := n1.PluginPID("backend-netstack", 0)
			var daemonKiB, backendKiB int
			b.ResetTimer()
			for range b.N {
				daemonKiB, backendKiB = rssKiB(b, n1.PID()), rssKiB(b, backend)
			}
			b.ReportMetric(float64(backendKiB), "backend-rss-KiB")
			b.ReportMetric(float64(daemonKiB), "daemon-rss-KiB")
			b.ReportMetric(float64(peers), "peers")
		})
	}
}

// rssKiB returns a process's resident set size (VmRSS).
func rssKiB(b *testing.B, pid int) int {
	b.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			kib, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			if err != nil {
				b.Fatalf("process %d: VmRSS %q", pid, rest)
			}
			return kib
		}
	}
	b.Fatalf("process %d has no VmRSS", pid)
	return 0
}
