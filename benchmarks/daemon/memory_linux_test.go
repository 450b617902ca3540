//go:build linux

package daemonbench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
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
// daemon-rss-KiB, and peers (P). Beside them, plain-wireguard-go-rss-KiB
// is the resident memory of a plain wireguard-go process on upstream's
// netstack holding the same P peers (runPlainWireGuardGo), started after
// the readings. Setting up the network is not timed; the time per op (one
// pair of readings) means nothing. benchmarks/report plots them against
// the peer count and derives the memory per peer.
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
			b.StopTimer()
			plainKiB := plainWireGuardGoKiB(b, peers)
			b.ReportMetric(float64(backendKiB), "backend-rss-KiB")
			b.ReportMetric(float64(daemonKiB), "daemon-rss-KiB")
			b.ReportMetric(float64(plainKiB), "plain-wireguard-go-rss-KiB")
			b.ReportMetric(float64(peers), "peers")
		})
	}
}

// cpuMillis returns the CPU time a process has used, user and system, in
// milliseconds, from /proc/<pid>/stat (in clock ticks of 10 ms: USER_HZ
// is 100 on every Linux architecture Go supports).
func cpuMillis(b *testing.B, pid int) float64 {
	b.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// The command name (field 2) may hold spaces; the fields after its
	// closing parenthesis start with field 3, state. utime and stime are
	// fields 14 and 15.
	_, rest, ok := strings.Cut(string(data), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		b.Fatalf("process %d: malformed stat %q", pid, data)
	}
	var ticks float64
	for _, s := range f[11:13] {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			b.Fatalf("process %d: stat field %q: %v", pid, s, err)
		}
		ticks += float64(n)
	}
	return ticks * 10
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

// plainWireGuardGoKiB starts this test binary as a plain wireguard-go
// process holding peers peers and returns its resident memory once it is
// ready.
func plainWireGuardGoKiB(b *testing.B, peers int) int {
	b.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), plainPeersEnv+"="+strconv.Itoa(peers))
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() {
		stdin.Close()
		if err := cmd.Wait(); err != nil {
			b.Errorf("plain wireguard-go process: %v", err)
		}
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		b.Fatalf("plain wireguard-go process: %q, %v", line, err)
	}
	return rssKiB(b, cmd.Process.Pid)
}
