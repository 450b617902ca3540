//go:build linux

package daemonbench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/benchmarks"
	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
)

// statusMembers is the network size of the status targets (issue 17).
const statusMembers = 10000

// memoryCalls is how many status calls the memory figures follow.
const memoryCalls = 40

// BenchmarkStatus measures `status` of a node of a 10,000-member network
// (netstack backend, file store; 9,999 peers in the backend), and what
// status readers cost the applies. Sub-benchmarks:
//
//   - memory (first, on the fresh node): max(b.N, memoryCalls) status
//     calls per run; backend-rss-growth-MB is the growth of the backend
//     plugin's resident set from the fresh node over all of them (calls),
//     backend-KiB/peer the plugin's resident set per peer after them.
//   - api: one GET /v1/status over the control socket from this process,
//     decoded; p50/p95/p99-µs, and daemon-cpu-ms and backend-cpu-ms, the
//     CPU time the daemon and its backend plugin spent per call (less
//     noisy than latency on a shared machine).
//   - in-process: the daemon's own share of a GET /v1/status, from the
//     reply's Server-Timing header (the body read, not decoded):
//     gather-p50/p95/p99-µs the status gathered in the daemon's process
//     (its backend's state read over the plugin's gRPC among it),
//     encode-p50/p95/p99-µs its JSON encoding.
//   - floor=json: that status encoded and decoded again in this process
//     as the daemon and the client do (controlapi.AppendStatus,
//     DecodeStatus); p50/p95/p99-µs.
//   - cli=json, cli=text, cli=summary: `rustynet status` with --json,
//     without, and with --peers summary, run as a process, start to exit;
//     p50/p95-µs.
//   - apply/readers=R: a signed add_node over the control API while R
//     client processes read status back to back (R=0: alone), each
//     decoding it; p50/p95-µs of the apply round trip.
//     apply/readers=5/as=document: the readers take the status as the
//     JSON document, undecoded (as `status --json` does), which leaves
//     the cores to the daemon and the apply rather than to the readers'
//     own decoding.
func BenchmarkStatus(b *testing.B) {
	c, n1 := startNode(b, "file", statusMembers)
	peers := statusMembers - 1

	// The memory figures count from the fresh node (one status read) over
	// every run of the sub-benchmark: go test runs it more than once.
	pid := n1.PluginPID("backend-netstack", 0)
	base, calls := rssKiB(b, pid), 0
	b.Run(fmt.Sprintf("members=%d/memory", statusMembers), func(b *testing.B) {
		for range max(b.N, memoryCalls) {
			statusOf(b, n1.Client())
			calls++
		}
		after := rssKiB(b, pid)
		b.ReportMetric(float64(calls), "calls")
		b.ReportMetric(float64(after-base)/1024, "backend-rss-growth-MB")
		b.ReportMetric(float64(after)/float64(peers), "backend-KiB/peer")
	})
	b.Run(fmt.Sprintf("members=%d/api", statusMembers), func(b *testing.B) {
		lat := make(benchmarks.Latencies, 0, b.N)
		daemon0, backend0 := cpuMillis(b, n1.PID()), cpuMillis(b, pid)
		for range b.N {
			start := time.Now()
			st := statusOf(b, n1.Client())
			lat.Since(start)
			if len(st.Peers) != peers {
				b.Fatalf("got %d peers, want %d", len(st.Peers), peers)
			}
		}
		report(b, "", lat)
		b.ReportMetric((cpuMillis(b, n1.PID())-daemon0)/float64(b.N), "daemon-cpu-ms")
		b.ReportMetric((cpuMillis(b, pid)-backend0)/float64(b.N), "backend-cpu-ms")
	})
	b.Run(fmt.Sprintf("members=%d/in-process", statusMembers), func(b *testing.B) {
		hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", n1.Socket)
		}}}
		defer hc.CloseIdleConnections()
		gather := make(benchmarks.Latencies, 0, b.N)
		encode := make(benchmarks.Latencies, 0, b.N)
		for range b.N {
			g, e := serverTiming(b, hc)
			gather, encode = append(gather, g), append(encode, e)
		}
		report(b, "gather-", gather)
		report(b, "encode-", encode)
	})
	// The least any status over the API costs: its JSON encoded (as the
	// daemon does) and decoded (as the client does), here in one process.
	b.Run(fmt.Sprintf("members=%d/floor=json", statusMembers), func(b *testing.B) {
		st := statusOf(b, n1.Client())
		lat := make(benchmarks.Latencies, 0, b.N)
		for range b.N {
			start := time.Now()
			doc, err := controlapi.AppendStatus(nil, st)
			if err != nil {
				b.Fatal(err)
			}
			if _, err := controlapi.DecodeStatus(doc); err != nil {
				b.Fatal(err)
			}
			lat.Since(start)
		}
		report(b, "", lat)
	})
	for _, format := range []string{"json", "text", "summary"} {
		b.Run(fmt.Sprintf("members=%d/cli=%s", statusMembers, format), func(b *testing.B) {
			args := []string{"status", "--socket", n1.Socket}
			switch format {
			case "json":
				args = append(args, "--json")
			case "summary":
				args = append(args, "--peers", "summary")
			}
			lat := make(benchmarks.Latencies, 0, b.N)
			for range b.N {
				start := time.Now()
				out, err := exec.Command(bin, args...).Output()
				lat.Since(start)
				if err != nil {
					b.Fatalf("rustynet %s: %v", strings.Join(args, " "), err)
				}
				if format == "summary" {
					if want := fmt.Sprintf("peers      %d,", peers); !strings.Contains(string(out), want) {
						b.Fatalf("rustynet %s printed no %q:\n%s", strings.Join(args, " "), want, out)
					}
				} else if got := strings.Count(string(out), "\n"); got < peers {
					b.Fatalf("rustynet %s printed %d lines, want at least one per peer (%d)", strings.Join(args, " "), got, peers)
				}
			}
			report(b, "", lat)
		})
	}
	next := 0
	for _, v := range []struct {
		name    string
		readers int
		mode    string
	}{{"readers=0", 0, ""}, {"readers=5", 5, readDecoded}, {"readers=5/as=document", 5, readDocument}} {
		b.Run(fmt.Sprintf("members=%d/apply/%s", statusMembers, v.name), func(b *testing.B) {
			updates := make([][]byte, b.N)
			for i := range updates {
				m := newMember(statusMembers, next)
				next++
				u := c.Sign(c.Propose(membership.Operation{Type: membership.OpAddNode, Node: m}), signers...)
				c.Commit(u)
				updates[i] = u.Encode()
			}
			stop := startStatusReaders(b, v.readers, v.mode, n1.Socket)
			api := make(benchmarks.Latencies, 0, b.N)
			daemon := make(benchmarks.Latencies, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				applyTimed(b, n1, "apply", i, updates[i], &api, &daemon)
			}
			b.StopTimer()
			stop()
			report(b, "", api)
		})
	}
}

// statusOf reads the status through client; it fails b on an error.
// serverTiming reads a status through hc, a client of the control socket,
// and returns the gathering and encoding durations its reply's
// Server-Timing header gives.
func serverTiming(b *testing.B, hc *http.Client) (gather, encode time.Duration) {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://rustynet/v1/status", nil)
	if err != nil {
		b.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		b.Fatalf("status: %v", err)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		b.Fatalf("status: %s, %v", resp.Status, err)
	}
	var g, e float64
	if _, err := fmt.Sscanf(resp.Header.Get("Server-Timing"), "gather;dur=%g, encode;dur=%g", &g, &e); err != nil {
		b.Fatalf("Server-Timing %q: %v", resp.Header.Get("Server-Timing"), err)
	}
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	return ms(g), ms(e)
}

func statusOf(b *testing.B, client *controlapi.Client) controlapi.Status {
	b.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	st, err := client.Status(ctx)
	if err != nil {
		b.Fatalf("status: %v", err)
	}
	return st
}
