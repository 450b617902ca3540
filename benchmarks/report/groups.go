package main

import (
	"fmt"
	"strings"
)

// Group is one `go test -bench` invocation of the suite: a package and
// the benchmarks of it to run, at full size or (Quick) at the tiny sizes
// of the CI smoke run. A group without a Quick variant is not run with
// -quick.
type Group struct {
	Name    string
	Package string
	// About says in a few words what the group measures, for the report.
	About   string
	Full    Variant
	Quick   *Variant
	Timeout string
}

// Variant is how a group's benchmarks are run.
type Variant struct {
	Bench     string   // the -bench regexp
	Benchtime string   // the -benchtime
	Count     int      // the -count (runs of each benchmark)
	Args      []string // flags for the test binary, after -args
	Env       []string // added to go test's environment, KEY=VALUE
}

// Args returns the arguments of `go` that run the group's variant v.
func (g Group) Args(v Variant) []string {
	// -v: go test prints skipped benchmarks, and why, only with -v.
	args := []string{"test", "-v", "-run", "^$", "-bench", v.Bench, "-benchtime", v.Benchtime,
		"-count", fmt.Sprint(max(v.Count, 1)), "-timeout", g.Timeout, g.Package}
	if len(v.Args) > 0 {
		args = append(append(args, "-args"), v.Args...)
	}
	return args
}

// Command returns the shell command that runs the group's variant v, as
// it is recorded beside every figure.
func (g Group) Command(v Variant) string {
	var b strings.Builder
	for _, e := range v.Env {
		b.WriteString(e + " ")
	}
	b.WriteString("go")
	for _, a := range g.Args(v) {
		b.WriteByte(' ')
		if strings.ContainsAny(a, "^$|()*? ") {
			a = "'" + a + "'"
		}
		b.WriteString(a)
	}
	return b.String()
}

// groups is the suite, in the order it runs (the cold start last: its
// 100,000-update log takes longest to generate). Sizes follow SPEC §10 and
// issue 17; each package's README explains its benchmarks. A -bench
// pattern of n slash-separated levels reports only benchmarks n levels
// deep: a shallower one matching it partially runs and reports nothing.
var groups = []Group{
	{
		Name: "ledger", Package: "./benchmarks/", Timeout: "30m",
		About: "ledger.Apply up to the store (store plugin process), and its floors",
		Full:  Variant{Bench: ".", Benchtime: "200x"},
		Quick: &Variant{Bench: "^Benchmark(Apply|Floor)$/^(store=file|evaluate|roundtrip|append)$/^(members=1000|store=file)$", Benchtime: "20x"},
	},
	{
		Name: "daemon", Package: "./benchmarks/daemon/", Timeout: "60m",
		About: "apply and revoke through a running daemon, its store and backend plugins",
		Full:  Variant{Bench: "Apply|Revoke", Benchtime: "100x"},
		Quick: &Variant{Bench: "^Benchmark(Apply|Revoke)$/^store=file$/^members=1000$", Benchtime: "5x"},
	},
	{
		Name: "recovery", Package: "./benchmarks/daemon/", Timeout: "20m",
		About: "backend plugin SIGKILLed → traffic flows again",
		Full:  Variant{Bench: "Recovery", Benchtime: "20x"},
		Quick: &Variant{Bench: "Recovery", Benchtime: "2x"},
	},
	{
		Name: "memory", Package: "./benchmarks/daemon/", Timeout: "30m",
		About: "resident memory of the daemon, its backend plugin and a plain wireguard-go process per peer count",
		Full:  Variant{Bench: "Memory", Benchtime: "1x"},
		Quick: &Variant{Bench: "Memory/peers=(0|100)$", Benchtime: "1x"},
	},
	{
		Name: "throughput-wgtun", Package: "./plugins/backend-wgtun/", Timeout: "20m",
		About: "TCP through wgtun between two namespaces, beside plain wireguard-go",
		Full:  Variant{Bench: "^BenchmarkThroughput$", Benchtime: "2s", Count: 3},
		Quick: &Variant{Bench: "^BenchmarkThroughput$/^(wgtun|wireguard-go)$", Benchtime: "20x"},
	},
	{
		Name: "throughput-netstack", Package: "./plugins/backend-netstack/", Timeout: "20m",
		About: "TCP through two netstack backends on loopback, beside upstream wireguard-go's netstack and plain loopback TCP",
		Full:  Variant{Bench: "^BenchmarkThroughput$", Benchtime: "2s", Count: 3},
		Quick: &Variant{Bench: "^BenchmarkThroughput$/^(netstack|upstream|loopback)$", Benchtime: "20x"},
	},
	{
		Name: "launch", Package: "./hostapi/", Timeout: "10m",
		About: "launching a plugin process (go-plugin handshake, mutual TLS), and each step of a launch",
		Full:  Variant{Bench: "^Benchmark(LaunchStore|LaunchSteps)$", Benchtime: "50x"},
		Quick: &Variant{Bench: "^Benchmark(LaunchStore|LaunchSteps)$", Benchtime: "3x"},
	},
	{
		Name: "relaunch", Package: "./core/pluginhost/", Timeout: "10m",
		About: "the supervisor relaunching a SIGKILLed store plugin, step by step",
		Full:  Variant{Bench: "^BenchmarkRelaunchAfterKill$", Benchtime: "50x"},
		Quick: &Variant{Bench: "^BenchmarkRelaunchAfterKill$", Benchtime: "3x"},
	},
	{
		Name: "status", Package: "./benchmarks/daemon/", Timeout: "30m",
		About: "status of a 10,000-member node (API, CLI), its memory, and applies while clients read it",
		Full:  Variant{Bench: "^BenchmarkStatus$", Benchtime: "100x"},
	},
	{
		Name: "wgdev", Package: "./plugins/internal/wgdev/", Timeout: "20m",
		About: "the backend's own state read of N peers (in place) beside wireguard-go's IpcGet, adds while it is read, and a garbage collection of its heap",
		Full:  Variant{Bench: "^Benchmark(State|ApplyWhileReading|GC)$", Benchtime: "20x"},
	},
	{
		Name: "mark", Package: "./core/ledger/", Timeout: "10m",
		About: "the high-water mark's durable write in place, beside an fdatasync of the same bytes (the disk of TMPDIR)",
		Full:  Variant{Bench: "^BenchmarkMarkWrite$", Benchtime: "300x"},
		Quick: &Variant{Bench: "^BenchmarkMarkWrite$", Benchtime: "20x"},
	},
	{
		Name: "ledger-memory", Package: "./core/ledger/", Timeout: "30m",
		About: "the heap a ledger holds per applied update, at 10,000 and 100,000 updates (file store on a tmpfs)",
		Full:  Variant{Bench: "^BenchmarkLedgerMemory$", Benchtime: "1x", Env: []string{"TMPDIR=/dev/shm"}},
	},
	{
		Name: "policy", Package: "./benchmarks/daemon/", Timeout: "30m",
		About: "a signed policy change through the daemon to the backend's filter",
		Full:  Variant{Bench: "SetPolicy", Benchtime: "50x"},
	},
	{
		Name: "filter", Package: "./plugins/internal/packetfilter/", Timeout: "20m",
		About: "the userspace packet filter: matching, new connections, compiling and replacing a filter",
		Full:  Variant{Bench: ".", Benchtime: "1s", Count: 5},
	},
	{
		Name: "nftables", Package: "./plugins/internal/hostroute/", Timeout: "10m",
		About: "wgkernel's filter in nftables: replacing a 1,000-rule table in one transaction (root, namespaces)",
		Full:  Variant{Bench: "^BenchmarkLinkSetFilter$", Benchtime: "20x"},
	},
	{
		Name: "feed", Package: "./benchmarks/feed/", Timeout: "30m",
		About: "following a static feed: a poll at the head, catching up N updates",
		Full:  Variant{Bench: "PollAtHead|CatchUp$", Benchtime: "200x"},
	},
	{
		Name: "coldstart", Package: "./benchmarks/coldstart/", Timeout: "90m",
		About: "a node's start re-verifying its log, per log length, and the in-process replay floor",
		Full:  Variant{Bench: ".", Benchtime: "3x", Args: []string{"-updates", "1000,10000,100000"}},
		Quick: &Variant{Bench: ".", Benchtime: "1x", Args: []string{"-updates", "200"}},
	},
}
