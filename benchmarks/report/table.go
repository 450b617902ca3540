package main

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
)

// Row is one line of report.md's comparison table: a figure, the floor or
// peer it is compared with in the same run, and its target. A figure that
// could not be measured carries the reason in Verdict, never a value.
type Row struct {
	Section  string   `json:"section"`
	Metric   string   `json:"metric"`
	Value    *float64 `json:"value,omitempty"`
	Unit     string   `json:"unit,omitempty"`
	Peer     string   `json:"peer,omitempty"`
	PeerText string   `json:"peer_value,omitempty"`
	Target   string   `json:"target,omitempty"`
	// Verdict is "met", "not met", "—" (no target), or why there is no
	// value ("skipped: …", "not run: …", "failed: …").
	Verdict string `json:"verdict"`
}

// measure computes a row's value (in unit) from the run's figures.
type measure func(*lookup) (v float64, unit string, err error)

// stat is a figure's statistic as it is.
func stat(r ref, unit string) measure {
	return func(l *lookup) (float64, string, error) {
		v, err := l.value(r)
		return v, unit, err
	}
}

// perCall is megabytes (MB) over calls, in kB a call.
func perCall(megabytes, calls ref) measure {
	return func(l *lookup) (float64, string, error) {
		mb, err := l.value(megabytes)
		if err != nil {
			return 0, "kB", err
		}
		n, err := l.value(calls)
		if err == nil && n <= 0 {
			err = errors.New("no calls")
		}
		return mb * 1000 / n, "kB", err
	}
}

// ratio is a/b, unit "×".
func ratio(a, b ref) measure {
	return func(l *lookup) (float64, string, error) {
		x, err := l.value(a)
		if err != nil {
			return 0, "×", err
		}
		y, err := l.value(b)
		if err != nil {
			return 0, "×", fmt.Errorf("%w (the reference)", err)
		}
		return x / y, "×", nil
	}
}

// memoryPoints returns the peer counts and readings of quantity (backend-
// rss, daemon-rss) of BenchmarkMemory in this run, by peer count.
func memoryPoints(l *lookup, quantity string) (peers, kib []float64) {
	type pt struct{ p, v float64 }
	var pts []pt
	for _, f := range l.figures {
		p, ok := strings.CutPrefix(f.Benchmark, "BenchmarkMemory/peers=")
		if f.Group != "memory" || !ok || f.Quantity != quantity {
			continue
		}
		n, err := strconv.Atoi(p)
		if err != nil {
			continue
		}
		pts = append(pts, pt{float64(n), f.Stats["mean"]})
	}
	sort.Slice(pts, func(i, j int) bool { return pts[i].p < pts[j].p })
	for _, x := range pts {
		peers, kib = append(peers, x.p), append(kib, x.v)
	}
	return peers, kib
}

// perPeer is the growth of quantity's resident memory per peer, in KiB,
// between the fewest and the most peers measured.
func perPeer(quantity string) measure {
	return func(l *lookup) (float64, string, error) {
		peers, kib := memoryPoints(l, quantity)
		if len(peers) < 2 {
			_, err := l.value(ref{"memory", "BenchmarkMemory/peers=10000", quantity, "mean"})
			if err == nil {
				err = errors.New("not run: fewer than two peer counts measured")
			}
			return 0, "KiB", err
		}
		n := len(peers) - 1
		return (kib[n] - kib[0]) / (peers[n] - peers[0]), "KiB", nil
	}
}

// target is a bound a figure must meet.
type target struct {
	atMost bool // ≤ if true, ≥ otherwise
	value  float64
	unit   string
	source string
}

func (t target) String() string {
	op := "≥"
	if t.atMost {
		op = "≤"
	}
	return fmt.Sprintf("%s %s %s (%s)", op, strconv.FormatFloat(t.value, 'f', -1, 64), t.unit, t.source)
}

func (t target) met(v float64) bool {
	if t.atMost {
		return v <= t.value
	}
	return v >= t.value
}

func atMost(v float64, unit, source string) *target {
	return &target{atMost: true, value: v, unit: unit, source: source}
}

func atLeast(v float64, unit, source string) *target {
	return &target{value: v, unit: unit, source: source}
}

// rowSpec is how a row is computed.
type rowSpec struct {
	section, metric string
	value           measure
	peer            string
	peerValue       measure // nil: Peer says it all
	target          *target
}

// Sections of the table, in order.
const (
	secDaemon   = "Apply and revoke through the daemon: submit → backend changed (apply-update round trip), p95"
	secLedger   = "Apply up to the store (ledger.Apply, store plugin; no daemon, no backend), p95"
	secCold     = "Cold start: store plugin launched, log read back and re-verified (median)"
	secRecovery = "Backend plugin killed → traffic flows again"
	secLaunch   = "Plugin launch"
	secBudget   = "Recovery budget, step by step: median (p95 beside it), each step cumulative"
	secMemory   = "Memory"
	secThrough  = "Throughput (median of runs)"
	secStatus   = "Status of a node with 10,000 peers (median)"
	secPolicy   = "A signed policy change through the daemon: apply-update round trip, p95"
)

const issue17, spec10 = "issue 17", "SPEC §10"

// rowSpecs returns the table's rows; coldLengths are the log lengths of
// the cold-start benchmarks that ran (for one row each).
func rowSpecs(coldLengths []int) []rowSpec {
	var rs []rowSpec
	for _, members := range []int{1000, 10000} {
		t := atMost(3, "ms", issue17)
		if members == 10000 {
			t = atMost(5, "ms", issue17)
		}
		for _, store := range []string{"file", "sqlite"} {
			rs = append(rs, rowSpec{
				section: secDaemon, metric: fmt.Sprintf("add, %s store, %s members", store, thousands(members)),
				value:     stat(ref{"daemon", fmt.Sprintf("BenchmarkApply/store=%s/members=%d/readback=end", store, members), "api", "p95"}, "ms"),
				peer:      "ledger apply p95, same store and size (no daemon, no backend)",
				peerValue: stat(ref{"ledger", fmt.Sprintf("BenchmarkApply/store=%s/members=%d", store, members), "latency", "p95"}, "ms"),
				target:    t,
			})
		}
		rs = append(rs, rowSpec{
			section: secDaemon, metric: fmt.Sprintf("revoke, file store, %s members", thousands(members)),
			value:     stat(ref{"daemon", fmt.Sprintf("BenchmarkRevoke/store=file/members=%d/readback=end", members), "api", "p95"}, "ms"),
			peer:      "ledger apply p95, file store, same size",
			peerValue: stat(ref{"ledger", fmt.Sprintf("BenchmarkApply/store=file/members=%d", members), "latency", "p95"}, "ms"),
			target:    t,
		})
	}
	for _, members := range []int{1000, 10000} {
		t := atMost(5, "ms", spec10)
		if members == 10000 {
			t = atMost(10, "ms", spec10)
		}
		for _, store := range []string{"file", "sqlite"} {
			rs = append(rs, rowSpec{
				section: secLedger, metric: fmt.Sprintf("apply, %s store, %s members", store, thousands(members)),
				value:     stat(ref{"ledger", fmt.Sprintf("BenchmarkApply/store=%s/members=%d", store, members), "latency", "p95"}, "ms"),
				peer:      "floor: in-process evaluation p95 (signatures, state root)",
				peerValue: stat(ref{"ledger", fmt.Sprintf("BenchmarkFloor/evaluate/members=%d", members), "latency", "p95"}, "ms"),
				target:    t,
			})
		}
	}
	for _, store := range []string{"file", "sqlite"} {
		rs = append(rs, rowSpec{
			section: secLedger, metric: fmt.Sprintf("durable append through the %s store plugin", store),
			value:     stat(ref{"ledger", "BenchmarkFloor/append/store=" + store, "latency", "p95"}, "ms"),
			peer:      "floor: gRPC round trip to the same plugin, p95",
			peerValue: stat(ref{"ledger", "BenchmarkFloor/roundtrip/store=" + store, "latency", "p95"}, "ms"),
		})
	}
	rs = append(rs, rowSpec{
		section: secLedger, metric: "high-water mark write (in place, one of two slots, fdatasync)",
		value:     stat(ref{"mark", "BenchmarkMarkWrite/mark", "latency", "p95"}, "ms"),
		peer:      "floor: the same bytes written in place into an open file and fdatasynced, p95",
		peerValue: stat(ref{"mark", "BenchmarkMarkWrite/floor=datasync", "latency", "p95"}, "ms"),
	}, rowSpec{
		section: secLedger, metric: "Ed25519 verification of an update's 3 signatures",
		value: stat(ref{"ledger", "BenchmarkFloor/ed25519-verify-x3", "latency", "p95"}, "ms"),
	})
	for _, n := range coldLengths {
		var t *target
		if n == 10000 {
			t = atMost(1000, "ms", issue17)
		}
		for _, store := range []string{"file", "sqlite"} {
			rs = append(rs, rowSpec{
				section: secCold, metric: fmt.Sprintf("%s store, %s updates", store, thousands(n)),
				value:     stat(ref{"coldstart", fmt.Sprintf("BenchmarkColdStart/store=%s/updates=%d", store, n), "cold-start", "median"}, "ms"),
				peer:      "floor: membership.Replay in-process, same log",
				peerValue: stat(ref{"coldstart", fmt.Sprintf("BenchmarkColdStartFloor/replay/updates=%d", n), "replay", "median"}, "ms"),
				target:    t,
			})
		}
	}
	for _, members := range []int{1000, 10000} {
		t := atMost(5, "ms", spec10+", as a member change")
		if members == 10000 {
			t = atMost(10, "ms", spec10+", as a member change")
		}
		for _, rules := range []int{3, 1000} {
			rs = append(rs, rowSpec{
				section: secPolicy, metric: fmt.Sprintf("%s members, %s rules", thousands(members), thousands(rules)),
				value:     stat(ref{"policy", fmt.Sprintf("BenchmarkSetPolicy/store=file/members=%d/rules=%d", members, rules), "api", "p95"}, "ms"),
				peer:      "floor: the same updates parsed, verified and compiled in one process (no store, plugin or API), p95",
				peerValue: stat(ref{"policy", fmt.Sprintf("BenchmarkSetPolicy/store=file/members=%d/rules=%d", members, rules), "floor", "p95"}, "ms"),
				target:    t,
			})
		}
	}
	rs = append(rs,
		rowSpec{
			section: secRecovery, metric: "SIGKILL → first request through the mesh, p95",
			value:     stat(ref{"recovery", "BenchmarkBackendRecovery", "latency", "p95"}, "ms"),
			peer:      "the plugin running again (relaunched, configured, peers re-applied), p95",
			peerValue: stat(ref{"recovery", "BenchmarkBackendRecovery", "relaunch", "p95"}, "ms"),
			target:    atMost(60, "ms", issue17),
		},
		rowSpec{
			section: secLaunch, metric: "launch a store plugin process (handshake, mutual TLS), mean",
			value:     stat(ref{"launch", "BenchmarkLaunchStore", "op", "mean"}, "ms"),
			peer:      "floor: the store plugin's handshake line read (fork, exec, its runtime's start), p50",
			peerValue: stat(ref{"launch", "BenchmarkLaunchSteps/plugin=store-file", "handshake", "median"}, "ms"),
			target:    atMost(15, "ms", issue17),
		},
	)
	// The budget of a recovery: the supervisor's steps from the kill of a
	// store plugin, a backend plugin's launch from its start, and the
	// daemon's whole recovery from the kill of its backend.
	budget := []struct{ metric, group, bench, quantity string }{
		{"store plugin SIGKILLed → its exit seen by the supervisor", "relaunch", "BenchmarkRelaunchAfterKill", "exited"},
		{"… → its relaunch begun", "relaunch", "BenchmarkRelaunchAfterKill", "launching"},
		{"… → the new process launched (handshake, mutual TLS, first health check)", "relaunch", "BenchmarkRelaunchAfterKill", "launched"},
		{"… → serving again (its setup done)", "relaunch", "BenchmarkRelaunchAfterKill", "serving"},
		{"netstack backend launch: process spawned", "launch", "BenchmarkLaunchSteps/plugin=backend-netstack", "spawned"},
		{"… → its handshake line read (runtime start, init, certificate, listener)", "launch", "BenchmarkLaunchSteps/plugin=backend-netstack", "handshake"},
		{"… → mutual TLS verified", "launch", "BenchmarkLaunchSteps/plugin=backend-netstack", "tls"},
		{"… → first health check answered (the launch returns)", "launch", "BenchmarkLaunchSteps/plugin=backend-netstack", "ready"},
		{"daemon: backend plugin SIGKILLed → running again (relaunched, configured, peers re-applied)", "recovery", "BenchmarkBackendRecovery", "relaunch"},
		{"… → the first request through the mesh", "recovery", "BenchmarkBackendRecovery", "latency"},
	}
	for _, b := range budget {
		rs = append(rs, rowSpec{
			section: secBudget, metric: b.metric,
			value:     stat(ref{b.group, b.bench, b.quantity, "median"}, "ms"),
			peer:      "p95",
			peerValue: stat(ref{b.group, b.bench, b.quantity, "p95"}, "ms"),
		})
	}
	rs = append(rs,
		rowSpec{
			section: secMemory, metric: "netstack backend plugin, resident memory per peer",
			value:     perPeer("backend-rss"),
			peer:      "plain wireguard-go on its netstack, the same peers, same run",
			peerValue: perPeer("plain-wireguard-go-rss"),
			target:    atMost(26, "KiB", issue17),
		},
		rowSpec{
			section: secMemory, metric: "daemon, resident memory per peer",
			value: perPeer("daemon-rss"),
		},
		rowSpec{
			section: secMemory, metric: "ledger heap per applied update, 100,000 updates",
			value:     stat(ref{"ledger-memory", "BenchmarkLedgerMemory/updates=100000", "heap-B/update", "mean"}, "B"),
			peer:      "the same at 10,000 updates (target: bounded, independent of log length)",
			peerValue: stat(ref{"ledger-memory", "BenchmarkLedgerMemory/updates=10000", "heap-B/update", "mean"}, "B"),
		},
		rowSpec{
			section: secThrough, metric: "wgtun, TCP over veth between two namespaces",
			value:     stat(ref{"throughput-wgtun", "BenchmarkThroughput/wgtun", "throughput", "mean"}, "MB/s"),
			peer:      "plain wireguard-go, same setup",
			peerValue: stat(ref{"throughput-wgtun", "BenchmarkThroughput/wireguard-go", "throughput", "mean"}, "MB/s"),
		},
		rowSpec{
			section: secThrough, metric: "wgtun ÷ plain wireguard-go",
			value:  ratio(ref{"throughput-wgtun", "BenchmarkThroughput/wgtun", "throughput", "mean"}, ref{"throughput-wgtun", "BenchmarkThroughput/wireguard-go", "throughput", "mean"}),
			target: atLeast(0.97, "×", issue17),
		},
		rowSpec{
			section: secThrough, metric: "wgtun with a 1,000-rule filter ÷ without",
			value:  ratio(ref{"throughput-wgtun", "BenchmarkThroughput/wgtun-filter-1000", "throughput", "mean"}, ref{"throughput-wgtun", "BenchmarkThroughput/wgtun", "throughput", "mean"}),
			target: atLeast(0.9, "×", "issue 10"),
		},
		rowSpec{
			section: secThrough, metric: "netstack, TCP through two backends on loopback",
			value:     stat(ref{"throughput-netstack", "BenchmarkThroughput/netstack", "throughput", "mean"}, "MB/s"),
			peer:      "plain TCP on loopback",
			peerValue: stat(ref{"throughput-netstack", "BenchmarkThroughput/loopback", "throughput", "mean"}, "MB/s"),
		},
		rowSpec{
			section: secThrough, metric: "netstack with a 1,000-rule filter ÷ without",
			value:  ratio(ref{"throughput-netstack", "BenchmarkThroughput/netstack-filter-1000", "throughput", "mean"}, ref{"throughput-netstack", "BenchmarkThroughput/netstack", "throughput", "mean"}),
			target: atLeast(0.9, "×", "issue 10"),
		},
		rowSpec{
			section: secThrough, metric: "netstack ÷ upstream wireguard-go netstack",
			value:     ratio(ref{"throughput-netstack", "BenchmarkThroughput/netstack", "throughput", "mean"}, ref{"throughput-netstack", "BenchmarkThroughput/upstream", "throughput", "mean"}),
			peer:      "upstream: plain wireguard-go on its tun/netstack, the same host legs",
			peerValue: stat(ref{"throughput-netstack", "BenchmarkThroughput/upstream", "throughput", "mean"}, "MB/s"),
			target:    atLeast(2.5, "×", issue17),
		},
		rowSpec{
			section: secThrough, metric: "nftables: replace a 1,000-rule table (wgkernel), mean",
			value:     stat(ref{"nftables", "BenchmarkLinkSetFilter", "op", "mean"}, "ms"),
			peer:      "userspace: compile 1,000 rules and re-judge 10,000 tracked connections, mean",
			peerValue: stat(ref{"filter", "BenchmarkSet", "op", "mean"}, "ms"),
		},
		rowSpec{
			// Issue 17's "in process": the status as the daemon has it, before
			// any JSON (its reply's Server-Timing header).
			section: secStatus, metric: "status gathered in the daemon, in process (the backend's state read over gRPC among it)",
			value:     stat(ref{"status", "BenchmarkStatus/members=10000/in-process", "gather", "median"}, "ms"),
			peer:      "its JSON encoding, in the daemon, same calls",
			peerValue: stat(ref{"status", "BenchmarkStatus/members=10000/in-process", "encode", "median"}, "ms"),
			target:    atMost(15, "ms", issue17),
		},
		rowSpec{
			section: secStatus, metric: "status over the control API, decoded",
			value:     stat(ref{"status", "BenchmarkStatus/members=10000/api", "latency", "median"}, "ms"),
			peer:      "floor: the same status's JSON encoded and decoded, in one process",
			peerValue: stat(ref{"status", "BenchmarkStatus/members=10000/floor=json", "latency", "median"}, "ms"),
		},
		rowSpec{
			section: secStatus, metric: "CPU time of one status over the API: the daemon's",
			value:     stat(ref{"status", "BenchmarkStatus/members=10000/api", "daemon-cpu", "mean"}, "ms"),
			peer:      "the backend plugin's, same calls",
			peerValue: stat(ref{"status", "BenchmarkStatus/members=10000/api", "backend-cpu", "mean"}, "ms"),
		},
		rowSpec{
			section: secStatus, metric: "`rustynet status --json`, process start to exit",
			value: stat(ref{"status", "BenchmarkStatus/members=10000/cli=json", "latency", "median"}, "ms"),
			peer:  "status over the API", peerValue: stat(ref{"status", "BenchmarkStatus/members=10000/api", "latency", "median"}, "ms"),
			target: atMost(40, "ms", issue17),
		},
		rowSpec{
			section: secStatus, metric: "`rustynet status`, process start to exit",
			value: stat(ref{"status", "BenchmarkStatus/members=10000/cli=text", "latency", "median"}, "ms"),
			peer:  "status over the API", peerValue: stat(ref{"status", "BenchmarkStatus/members=10000/api", "latency", "median"}, "ms"),
			target: atMost(40, "ms", issue17),
		},
		rowSpec{
			section: secStatus, metric: "`rustynet status --peers summary`, process start to exit",
			value: stat(ref{"status", "BenchmarkStatus/members=10000/cli=summary", "latency", "median"}, "ms"),
			peer:  "status over the API", peerValue: stat(ref{"status", "BenchmarkStatus/members=10000/api", "latency", "median"}, "ms"),
			target: atMost(40, "ms", issue17),
		},
		rowSpec{
			section: secStatus, metric: "backend: `Device.State` of 10,000 peers, in process (wgdev), mean",
			value:     stat(ref{"wgdev", "BenchmarkState/N=10000", "op", "mean"}, "ms"),
			peer:      "wireguard-go's `IpcGetOperation` of the same device (how it was read before)",
			peerValue: stat(ref{"wgdev", "BenchmarkState/N=10000/via=ipcget", "op", "mean"}, "ms"),
		},
		rowSpec{
			section: secStatus, metric: "backend: add a peer while 5 goroutines read `State` ÷ alone (wgdev)",
			value:     ratio(ref{"wgdev", "BenchmarkApplyWhileReading/N=10000/readers=5", "latency", "median"}, ref{"wgdev", "BenchmarkApplyWhileReading/N=10000/readers=0", "latency", "median"}),
			peer:      "alone",
			peerValue: stat(ref{"wgdev", "BenchmarkApplyWhileReading/N=10000/readers=0", "latency", "median"}, "ms"),
			target:    atMost(2, "×", issue17),
		},
		rowSpec{
			section: secStatus, metric: "backend plugin's resident memory growth over the status calls",
			value: stat(ref{"status", "BenchmarkStatus/members=10000/memory", "backend-rss-growth", "mean"}, "MB"),
			peer: "floor: a garbage collection of a 10,000-peer device's heap, CPU (in process, wgdev) — " +
				"the price of keeping each MB of garbage out of the resident set (Go collects at twice the live heap)",
			peerValue: stat(ref{"wgdev", "BenchmarkGC/N=10000", "cpu", "mean"}, "ms"),
			target:    atMost(1, "MB", issue17),
		},
		rowSpec{
			section: secStatus, metric: "… that growth per status call: the garbage a read leaves in the backend",
			value: perCall(ref{"status", "BenchmarkStatus/members=10000/memory", "backend-rss-growth", "mean"},
				ref{"status", "BenchmarkStatus/members=10000/memory", "calls", "mean"}),
		},
		rowSpec{
			section: secStatus, metric: "apply while 5 clients read status ÷ apply alone",
			value: ratio(ref{"status", "BenchmarkStatus/members=10000/apply/readers=5", "latency", "median"}, ref{"status", "BenchmarkStatus/members=10000/apply/readers=0", "latency", "median"}),
			peer:  "apply alone", peerValue: stat(ref{"status", "BenchmarkStatus/members=10000/apply/readers=0", "latency", "median"}, "ms"),
			target: atMost(2, "×", issue17),
		},
		rowSpec{
			section: secStatus, metric: "… the 5 clients taking the status undecoded (as `status --json`) ÷ apply alone",
			value: ratio(ref{"status", "BenchmarkStatus/members=10000/apply/readers=5/as=document", "latency", "median"}, ref{"status", "BenchmarkStatus/members=10000/apply/readers=0", "latency", "median"}),
			peer:  "apply alone", peerValue: stat(ref{"status", "BenchmarkStatus/members=10000/apply/readers=0", "latency", "median"}, "ms"),
		},
	)
	return rs
}

// Rows computes the table from the run's figures.
func (r *Results) computeRows(coldLengths []int) {
	l := newLookup(r)
	r.Rows = nil
	for _, s := range rowSpecs(coldLengths) {
		row := Row{Section: s.section, Metric: s.metric, Peer: s.peer, Verdict: "—"}
		if s.target != nil {
			row.Target = s.target.String()
		}
		if s.peerValue != nil {
			if v, unit, err := s.peerValue(l); err != nil {
				row.PeerText = err.Error()
			} else {
				row.PeerText = formatValue(v) + " " + unit
			}
		}
		v, unit, err := s.value(l)
		switch {
		case err != nil:
			row.Verdict = err.Error()
		case s.target != nil && s.target.met(v):
			row.Value, row.Unit, row.Verdict = &v, unit, "met"
		case s.target != nil:
			row.Value, row.Unit, row.Verdict = &v, unit, "not met"
		default:
			row.Value, row.Unit = &v, unit
		}
		r.Rows = append(r.Rows, row)
	}
}

// formatValue prints a figure with three significant digits or as a
// whole number with thousands separated: 0.123, 4.56, 78.9, 1,234.
func formatValue(v float64) string {
	switch a := math.Abs(v); {
	case math.IsNaN(v) || math.IsInf(v, 0):
		return fmt.Sprint(v)
	case a >= 1000:
		return thousands(int(math.Round(v)))
	case a >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case a >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case a >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	default:
		return strconv.FormatFloat(v, 'g', 3, 64)
	}
}

// thousands prints n with commas between groups of three digits.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
