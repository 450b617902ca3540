package main

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// parseFile parses a recorded benchmark output in testdata.
func parseFile(t *testing.T, name string) Output {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := Parse(f, 2) // recorded on 2 cores
	if err != nil {
		t.Fatalf("parsing %s: %v", name, err)
	}
	return out
}

func TestParse(t *testing.T) {
	const daemonPkg = "github.com/rustynet/rustynet/benchmarks/daemon"
	tests := []struct {
		file    string
		runs    int
		check   Run // the run of this benchmark must be exactly this (Benchmark "": none)
		skipped []Outcome
		failed  []Outcome
	}{
		{
			file: "recovery.txt", runs: 1,
			check: Run{Package: daemonPkg, Benchmark: "BenchmarkBackendRecovery", Iterations: 2, Metrics: map[string]float64{
				"ns/op": 62511588, "max-µs": 65100, "p50-µs": 57358, "p95-µs": 65100, "p99-µs": 65100,
				"relaunch-p50-µs": 56781, "relaunch-p95-µs": 61973, "relaunch-p99-µs": 61973,
			}},
		},
		{
			file: "throughput-wgtun.txt", runs: 2,
			check: Run{Package: "github.com/rustynet/rustynet/plugins/backend-wgtun", Benchmark: "BenchmarkThroughput/wireguard-go", Iterations: 20,
				Metrics: map[string]float64{"ns/op": 5095708, "MB/s": 205.78}},
		},
		{
			// -v: the reason comes between the name and the SKIP line.
			file: "skip-v.txt", runs: 0,
			skipped: []Outcome{{Package: "github.com/rustynet/rustynet/plugins/backend-wgtun", Benchmark: "BenchmarkThroughput",
				Reason: "-short: no network namespaces (scripts/test.sh runs every namespace test)"}},
		},
		{
			// Plain output: the reason follows the FAIL line; the floor
			// still ran.
			file: "buildfail.txt", runs: 2,
			check: Run{Package: "github.com/rustynet/rustynet/benchmarks/coldstart", Benchmark: "BenchmarkColdStartFloor/replay/updates=300", Iterations: 1,
				Metrics: map[string]float64{"ns/op": 329557361, "replay-max-ms": 329.6, "replay-ms": 329.6, "replay-p50-ms": 329.6}},
			failed: []Outcome{
				{Benchmark: "BenchmarkColdStart/store=file/updates=200", Reason: "building rustynet: go build github.com/rustynet/rustynet/cmd/rustynet: exit status 1"},
				{Benchmark: "BenchmarkColdStart/store=file/updates=300", Reason: "building rustynet: go build github.com/rustynet/rustynet/cmd/rustynet: exit status 1"},
				{Benchmark: "BenchmarkColdStart/store=sqlite/updates=200", Reason: "building rustynet: go build github.com/rustynet/rustynet/cmd/rustynet: exit status 1"},
				{Benchmark: "BenchmarkColdStart/store=sqlite/updates=300", Reason: "building rustynet: go build github.com/rustynet/rustynet/cmd/rustynet: exit status 1"},
				{Benchmark: "BenchmarkColdStart", Reason: "(no reason logged)"},
			},
		},
		{
			// A name whose result comes on a later line, after output the
			// benchmark wrote; three runs of one benchmark (-count 3).
			file: "interleaved.txt", runs: 4,
			check: Run{Package: "github.com/rustynet/rustynet/plugins/backend-netstack", Benchmark: "BenchmarkThroughput/netstack", Iterations: 20,
				Metrics: map[string]float64{"ns/op": 12737972, "MB/s": 82.32}},
			failed: []Outcome{{Package: "github.com/rustynet/rustynet/plugins/backend-netstack", Benchmark: "BenchmarkThroughput/netstack-filter-1000",
				Reason: "set filter: rpc error: code = Unavailable"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			out := parseFile(t, tt.file)
			if len(out.Runs) != tt.runs {
				t.Errorf("got %d runs, want %d: %+v", len(out.Runs), tt.runs, out.Runs)
			}
			if tt.check.Benchmark != "" {
				var got *Run
				for i := range out.Runs {
					if out.Runs[i].Benchmark == tt.check.Benchmark {
						got = &out.Runs[i]
						break
					}
				}
				if got == nil {
					t.Fatalf("no run of %s in %+v", tt.check.Benchmark, out.Runs)
				}
				if diff := cmp.Diff(tt.check, *got); diff != "" {
					t.Errorf("run of %s (-want +got):\n%s", tt.check.Benchmark, diff)
				}
			}
			ignorePkg := cmp.FilterPath(func(p cmp.Path) bool { return p.Last().String() == ".Package" }, cmp.Ignore())
			opt := cmp.Options{}
			if tt.file == "buildfail.txt" {
				opt = append(opt, ignorePkg)
			}
			if diff := cmp.Diff(tt.skipped, out.Skipped, opt); diff != "" {
				t.Errorf("skipped (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.failed, out.Failed, opt); diff != "" {
				t.Errorf("failed (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRejectsMalformedResults(t *testing.T) {
	for _, in := range []string{
		"BenchmarkX-2   \t10\t 123 ns/op\t 5\n",           // a value without its unit
		"BenchmarkX-2   \t10\t 123 ns/op\t five p95-µs\n", // not a number
	} {
		if _, err := Parse(strings.NewReader(in), 2); err == nil {
			t.Errorf("Parse(%q): no error, want one", in)
		}
	}
}

func TestSplitMetric(t *testing.T) {
	tests := []struct {
		metric, quantity, stat, unit string
		scale                        float64
	}{
		{"ns/op", "op", "mean", "ms", 1e-6},
		{"MB/s", "throughput", "mean", "MB/s", 1},
		{"p50-µs", "latency", "median", "ms", 1e-3},
		{"max-µs", "latency", "max", "ms", 1e-3},
		{"api-p95-µs", "api", "p95", "ms", 1e-3},
		{"daemon-p95-µs", "daemon", "p95", "ms", 1e-3},
		{"cold-start-ms", "cold-start", "mean", "ms", 1},
		{"cold-start-p50-ms", "cold-start", "median", "ms", 1},
		{"cold-start-max-ms", "cold-start", "max", "ms", 1},
		{"catch-up-s", "catch-up", "mean", "ms", 1e3},
		{"backend-rss-KiB", "backend-rss", "mean", "KiB", 1},
		{"backend-rss-growth-MB", "backend-rss-growth", "mean", "MB", 1},
		{"backend-KiB/peer", "backend-KiB/peer", "mean", "backend-KiB/peer", 1},
		{"entry-bytes", "entry", "mean", "bytes", 1},
		{"requests/op", "requests/op", "mean", "requests/op", 1},
		{"x-entry-size", "x-entry-size", "mean", "x-entry-size", 1},
		{"peers", "peers", "mean", "peers", 1},
	}
	for _, tt := range tests {
		q, s, u, f := splitMetric(tt.metric)
		if q != tt.quantity || s != tt.stat || u != tt.unit || f != tt.scale {
			t.Errorf("splitMetric(%q) = %q, %q, %q, %v; want %q, %q, %q, %v", tt.metric, q, s, u, f, tt.quantity, tt.stat, tt.unit, tt.scale)
		}
	}
}

func TestFiguresTakeTheMedianOfRuns(t *testing.T) {
	out := parseFile(t, "interleaved.txt")
	figs := Figures("throughput-netstack", "go test …", out.Runs)
	byName := map[string]Figure{}
	for _, f := range figs {
		byName[f.Name] = f
	}
	tests := []struct {
		name    string
		stats   map[string]float64
		unit    string
		samples int64
		runs    int
	}{
		{"BenchmarkThroughput/netstack throughput", map[string]float64{"mean": 82.32}, "MB/s", 60, 3}, // median of 82.32, 95, 80.5
		{"BenchmarkThroughput/netstack op", map[string]float64{"mean": 12.737972}, "ms", 60, 3},       // median of 12.7, 11, 13 ms
		{"BenchmarkThroughput/loopback throughput", map[string]float64{"mean": 1646.52}, "MB/s", 20, 1},
	}
	for _, tt := range tests {
		f, ok := byName[tt.name]
		if !ok {
			t.Errorf("no figure %q in %v", tt.name, figs)
			continue
		}
		if diff := cmp.Diff(tt.stats, f.Stats, cmp.Comparer(near)); diff != "" {
			t.Errorf("%s stats (-want +got):\n%s", tt.name, diff)
		}
		if f.Unit != tt.unit || f.Samples != tt.samples || f.Runs != tt.runs || f.Command != "go test …" || f.Group != "throughput-netstack" {
			t.Errorf("%s: got unit %q, %d samples, %d runs, command %q, group %q; want %q, %d, %d, %q, %q",
				tt.name, f.Unit, f.Samples, f.Runs, f.Command, f.Group, tt.unit, tt.samples, tt.runs, "go test …", "throughput-netstack")
		}
	}
	if got := median([]float64{4, 1, 3, 2}); got != 2.5 {
		t.Errorf("median of 1..4 = %v, want 2.5", got)
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(math.Abs(a), math.Abs(b)) }

// recorded builds the results of a run from recorded outputs: every group
// of the suite, those in files as if they ran (status, or "ran"), the
// others not selected.
func recorded(t *testing.T, files map[string]string, status map[string]string) *Results {
	t.Helper()
	res := &Results{}
	for _, g := range groups {
		file, ok := files[g.Name]
		if !ok {
			res.Groups = append(res.Groups, GroupResult{Name: g.Name, Package: g.Package, Status: "not run: not selected by -only"})
			continue
		}
		out := parseFile(t, file)
		gr := GroupResult{Name: g.Name, Package: g.Package, Command: g.Command(g.Full), Status: "ran", Runs: out.Runs, Skipped: out.Skipped, Failed: out.Failed}
		if s, ok := status[g.Name]; ok {
			gr.Status = s
		}
		res.Groups = append(res.Groups, gr)
		res.Figures = append(res.Figures, Figures(g.Name, gr.Command, gr.Runs)...)
	}
	res.computeRows(res.coldLengths())
	return res
}

// quickRun is the recorded output of a -quick run, one file per group.
var quickRun = map[string]string{
	"ledger": "ledger.txt", "coldstart": "coldstart.txt", "daemon": "daemon.txt", "recovery": "recovery.txt",
	"memory": "memory.txt", "throughput-wgtun": "throughput-wgtun.txt", "throughput-netstack": "throughput-netstack.txt", "launch": "launch.txt",
	"relaunch": "relaunch.txt", "mark": "mark.txt",
}

func TestRows(t *testing.T) {
	runs := map[string]string{}
	for k, v := range quickRun {
		runs[k] = v
	}
	runs["throughput-wgtun"] = "skip-v.txt"
	runs["throughput-netstack"] = "interleaved.txt"
	res := recorded(t, runs, nil)
	rows := map[string]Row{}
	for _, r := range res.Rows {
		rows[r.Section+" / "+r.Metric] = r
	}
	val := func(v float64) *float64 { return &v }
	tests := []struct {
		section, metric string
		want            Row
	}{
		{secDaemon, "add, file store, 1,000 members", Row{Value: val(11.942), Unit: "ms", PeerText: "3.57 ms", Target: "≤ 3 ms (issue 17)", Verdict: "not met"}},
		{secDaemon, "add, sqlite store, 1,000 members", Row{PeerText: "not run: not in this run's selection", Target: "≤ 3 ms (issue 17)", Verdict: "not run: not in this run's selection"}},
		{secLedger, "apply, file store, 1,000 members", Row{Value: val(3.571), Unit: "ms", PeerText: "not run: not in this run's selection", Target: "≤ 5 ms (SPEC §10)", Verdict: "met"}},
		{secCold, "file store, 200 updates", Row{Value: val(92.55), Unit: "ms", PeerText: "67.3 ms", Verdict: "—"}},
		{secRecovery, "SIGKILL → first request through the mesh, p95", Row{Value: val(65.1), Unit: "ms", PeerText: "62.0 ms", Target: "≤ 60 ms (issue 17)", Verdict: "not met"}},
		{secLaunch, "launch a store plugin process (handshake, mutual TLS), mean", Row{Value: val(11.979220), Unit: "ms", PeerText: "10.2 ms", Target: "≤ 15 ms (issue 17)", Verdict: "met"}},
		{secLedger, "high-water mark write (in place, one of two slots, fdatasync)", Row{Value: val(3.342), Unit: "ms", PeerText: "1.78 ms", Verdict: "—"}},
		{secBudget, "… → its relaunch begun", Row{Value: val(0.9884), Unit: "ms", PeerText: "1.06 ms", Verdict: "—"}},
		{secBudget, "… → mutual TLS verified", Row{Value: val(10.098), Unit: "ms", PeerText: "11.0 ms", Verdict: "—"}},
		{secBudget, "… → the first request through the mesh", Row{Value: val(57.358), Unit: "ms", PeerText: "65.1 ms", Verdict: "—"}},
		// (32260-28784)/100 KiB per peer, beside (22644-18580)/100.
		{secMemory, "netstack backend plugin, resident memory per peer", Row{Value: val(34.76), Unit: "KiB", PeerText: "40.6 KiB", Target: "≤ 26 KiB (issue 17)", Verdict: "not met"}},
		{secThrough, "wgtun ÷ plain wireguard-go", Row{Target: "≥ 0.97 × (issue 17)",
			Verdict: "skipped: -short: no network namespaces (scripts/test.sh runs every namespace test)"}},
		{secThrough, "netstack, TCP through two backends on loopback", Row{Value: val(82.32), Unit: "MB/s", PeerText: "1,647 MB/s", Verdict: "—"}},
		{secThrough, "netstack with a 1,000-rule filter ÷ without", Row{Target: "≥ 0.9 × (issue 10)", Verdict: "failed: set filter: rpc error: code = Unavailable"}},
		{secThrough, "netstack ÷ upstream wireguard-go netstack", Row{PeerText: "not run: not in this run's selection", Target: "≥ 2.5 × (issue 17)",
			Verdict: "not run: not in this run's selection (the reference)"}},
	}
	ignore := cmp.FilterPath(func(p cmp.Path) bool {
		s := p.Last().String()
		return s == ".Section" || s == ".Metric" || s == ".Peer"
	}, cmp.Ignore())
	for _, tt := range tests {
		got, ok := rows[tt.section+" / "+tt.metric]
		if !ok {
			t.Errorf("no row %q in section %q", tt.metric, tt.section)
			continue
		}
		if diff := cmp.Diff(tt.want, got, ignore, cmp.Comparer(func(a, b float64) bool { return math.Abs(a-b) < 1e-6 })); diff != "" {
			t.Errorf("row %q (-want +got):\n%s", tt.metric, diff)
		}
	}
}

func TestGroupStatusExplainsMissingFigures(t *testing.T) {
	res := recorded(t, map[string]string{"coldstart": "buildfail.txt"}, map[string]string{"coldstart": "failed: go test: exit status 1 (see raw/coldstart.txt)"})
	var got []string
	for _, r := range res.Rows {
		if r.Section == secCold || r.Metric == "wgtun ÷ plain wireguard-go" {
			got = append(got, r.Metric+": "+r.Verdict)
		}
	}
	want := []string{
		"file store, 200 updates: failed: building rustynet: go build github.com/rustynet/rustynet/cmd/rustynet: exit status 1",
		"sqlite store, 200 updates: failed: building rustynet: go build github.com/rustynet/rustynet/cmd/rustynet: exit status 1",
		"file store, 300 updates: failed: building rustynet: go build github.com/rustynet/rustynet/cmd/rustynet: exit status 1",
		"sqlite store, 300 updates: failed: building rustynet: go build github.com/rustynet/rustynet/cmd/rustynet: exit status 1",
		"wgtun ÷ plain wireguard-go: not run: not selected by -only",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("verdicts (-want +got):\n%s", diff)
	}
}

func TestWriteMarkdown(t *testing.T) {
	res := recorded(t, quickRun, nil)
	res.Quick = true
	plots := res.Plots()
	var b bytes.Buffer
	if err := res.WriteMarkdown(&b, plots); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	for _, want := range []string{
		"| wgtun ÷ plain wireguard-go | 0.893 × | — | ≥ 0.97 × (issue 17) | **not met** |",
		"| netstack ÷ upstream wireguard-go netstack | 1.85 × | upstream: plain wireguard-go on its tun/netstack, the same host legs: 107 MB/s | ≥ 2.5 × (issue 17) | **not met** |",
		"| add, file store, 1,000 members | 11.9 ms | ledger apply p95, same store and size (no daemon, no backend): 3.57 ms | ≤ 3 ms (issue 17) | **not met** |",
		"| policy | a signed policy change through the daemon to the backend's filter | — | not run: not selected by -only | — |",
		"![Cold start against log length (median)](coldstart.svg)",
		"**Quick run",
		"| ledger | `BenchmarkFloor/ed25519-verify-x3` | latency | ms | 0.144 | 0.148 | 0.151 |  |  | 20 | 1 |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
	for _, line := range strings.Split(md, "\n") {
		if strings.HasPrefix(line, "| ") && strings.Count(strings.ReplaceAll(line, `\|`, ""), "|") < 3 {
			t.Errorf("table line with too few cells: %q", line)
		}
	}
	var files []string
	for _, p := range plots {
		files = append(files, p.File)
	}
	if diff := cmp.Diff([]string{"apply-daemon.svg", "apply-ledger.svg", "coldstart.svg", "throughput.svg", "memory.svg"}, files); diff != "" {
		t.Errorf("plots (-want +got):\n%s", diff)
	}
}

// svgElements parses an SVG and counts its elements by name and class.
func svgElements(t *testing.T, data []byte) map[string]int {
	t.Helper()
	counts := map[string]int{}
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			return counts
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v\n%s", err, data)
		}
		if se, ok := tok.(xml.StartElement); ok {
			counts[se.Name.Local]++
			for _, a := range se.Attr {
				if a.Name.Local == "class" {
					counts[se.Name.Local+"."+a.Value]++
				}
			}
		}
	}
}

// attr returns the attribute of the first element with that class.
func attr(t *testing.T, data []byte, class, name string) string {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(data))
	for {
		tok, err := d.Token()
		if err != nil {
			t.Fatalf("no element of class %q", class)
		}
		if se, ok := tok.(xml.StartElement); ok {
			var c, v string
			for _, a := range se.Attr {
				switch a.Name.Local {
				case "class":
					c = a.Value
				case name:
					v = a.Value
				}
			}
			if c == class {
				return v
			}
		}
	}
}

func TestBarChart(t *testing.T) {
	tests := []struct {
		name    string
		chart   BarChart
		bars    int
		missing int
		refs    int
		top     string // the topmost tick label: the axis fits the tallest value
		err     bool
	}{
		{name: "grouped", chart: BarChart{Title: "a < b & c", YLabel: "ms", Categories: []string{"x", "y"},
			Series: []BarSeries{{"p50", []float64{1, 2}}, {"p95", []float64{3, 4.2}}}}, bars: 4, top: "5"},
		{name: "missing values are marked, not drawn", chart: BarChart{Categories: []string{"x", "y", "z"},
			Series: []BarSeries{{"s", []float64{1, math.NaN(), 3}}}}, bars: 2, missing: 1, top: "5"},
		{name: "reference lines widen the axis", chart: BarChart{Categories: []string{"x"},
			Series: []BarSeries{{"s", []float64{1}}}, Lines: []RefLine{{Y: 3, Label: "target"}, {Y: 20, Label: "other"}}}, bars: 1, refs: 2, top: "20"},
		{name: "values per category", chart: BarChart{Categories: []string{"x", "y"}, Series: []BarSeries{{"s", []float64{1}}}}, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := tt.chart.WriteSVG(&b)
			if tt.err {
				if err == nil {
					t.Fatal("no error, want one")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			n := svgElements(t, b.Bytes())
			if n["rect.bar"] != tt.bars || n["text.missing"] != tt.missing || n["line.ref"] != tt.refs {
				t.Errorf("got %d bars, %d n/a marks, %d reference lines; want %d, %d, %d", n["rect.bar"], n["text.missing"], n["line.ref"], tt.bars, tt.missing, tt.refs)
			}
			if !strings.Contains(b.String(), `class="tick">`+tt.top+`</text>`) {
				t.Errorf("no top tick %q in\n%s", tt.top, b.String())
			}
		})
	}
}

func TestBarHeightsAreProportional(t *testing.T) {
	var b bytes.Buffer
	// Axis top 10: a bar of 5 is half the plot's height.
	c := BarChart{Categories: []string{"x"}, Series: []BarSeries{{"s", []float64{5}}}, Lines: []RefLine{{Y: 10}}}
	if err := c.WriteSVG(&b); err != nil {
		t.Fatal(err)
	}
	if got, want := attr(t, b.Bytes(), "bar", "height"), "145.0"; got != want {
		t.Errorf("bar height %s, want %s (half of %v)", got, want, plotH)
	}
}

func TestLineChart(t *testing.T) {
	tests := []struct {
		name   string
		chart  LineChart
		lines  int
		points int
		ticks  []string
		err    bool
	}{
		{name: "log x has a tick per decade", chart: LineChart{LogX: true, Series: []LineSeries{
			{"file", []float64{1000, 10000, 100000}, []float64{150, 1500, 15000}}, {"floor", []float64{1000, 10000}, []float64{100, 1000}}}},
			lines: 2, points: 5, ticks: []string{"1000", "10000", "100000", "20000"}},
		{name: "linear x", chart: LineChart{Series: []LineSeries{{"rss", []float64{0, 100, 1000}, []float64{28, 32, 60}}}},
			lines: 1, points: 3, ticks: []string{"0", "200", "1000", "100"}},
		{name: "no points", chart: LineChart{Series: []LineSeries{{Name: "empty"}}}, lines: 1},
		{name: "log x of zero", chart: LineChart{LogX: true, Series: []LineSeries{{"s", []float64{0}, []float64{1}}}}, err: true},
		{name: "x and y differ in length", chart: LineChart{Series: []LineSeries{{"s", []float64{1, 2}, []float64{1}}}}, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			err := tt.chart.WriteSVG(&b)
			if tt.err {
				if err == nil {
					t.Fatal("no error, want one")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			n := svgElements(t, b.Bytes())
			if n["polyline.line"] != tt.lines || n["circle.point"] != tt.points {
				t.Errorf("got %d lines, %d points; want %d, %d", n["polyline.line"], n["circle.point"], tt.lines, tt.points)
			}
			for _, tick := range tt.ticks {
				if !strings.Contains(b.String(), `class="tick">`+tick+`</text>`) {
					t.Errorf("no tick %q", tick)
				}
			}
		})
	}
}

func TestNumbers(t *testing.T) {
	for _, tt := range []struct {
		v          float64
		top, value string
	}{
		{0, "1", "0"},
		{0.148, "0.2", "0.148"},
		{3.571, "5", "3.57"},
		{11.942, "20", "11.9"},
		{206, "250", "206"},
		{1646.52, "2000", "1,647"},
		{56909, "100000", "56,909"},
	} {
		if got := formatTick(niceTop(tt.v)); got != tt.top {
			t.Errorf("formatTick(niceTop(%v)) = %s, want %s", tt.v, got, tt.top)
		}
		if got := formatValue(tt.v); got != tt.value {
			t.Errorf("formatValue(%v) = %s, want %s", tt.v, got, tt.value)
		}
	}
}

func TestLoadWarning(t *testing.T) {
	for _, tt := range []struct {
		start, end string
		warn       bool
	}{
		{"1.20 1.05 0.90", "2.95 1.50 1.00", false},
		{"1.20 1.05 0.90", "12.29 9.40 5.60", true},
		{"unknown", "unknown", false},
	} {
		res := recorded(t, map[string]string{"launch": "launch.txt"}, nil)
		res.Machine.LoadStart, res.Machine.LoadEnd = tt.start, tt.end
		var b bytes.Buffer
		if err := res.WriteMarkdown(&b, nil); err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(b.String(), "Issue 17 judges its targets at a load below 3"); got != tt.warn {
			t.Errorf("load %s to %s: warning %v, want %v", tt.start, tt.end, got, tt.warn)
		}
	}
}

func TestRerender(t *testing.T) {
	dir := t.TempDir()
	res := recorded(t, quickRun, nil)
	if err := write(res, dir, io.Discard); err != nil {
		t.Fatal(err)
	}
	first, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	// -render computes the figures anew from the results.json it reads.
	if err := os.Remove(filepath.Join(dir, "memory.svg")); err != nil {
		t.Fatal(err)
	}
	if err := rerender(dir, io.Discard); err != nil {
		t.Fatal(err)
	}
	again, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(first), string(again)); diff != "" {
		t.Errorf("report.md rendered again differs (-first +again):\n%s", diff)
	}
	if _, err := os.Stat(filepath.Join(dir, "memory.svg")); err != nil {
		t.Errorf("the plot was not written again: %v", err)
	}
}

func TestRerenderKeepsAStoppedGroupsResults(t *testing.T) {
	dir := t.TempDir()
	res := recorded(t, map[string]string{"launch": "launch.txt"}, nil)
	for i, g := range res.Groups {
		if g.Name == "coldstart" {
			res.Groups[i].Status = stoppedBefore
		}
	}
	if err := write(res, dir, io.Discard); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "raw"), 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join("testdata", "coldstart.txt"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "raw", "coldstart.txt"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := rerender(dir, io.Discard); err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(dir, "report.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"| file store, 200 updates | 92.5 ms | floor: membership.Replay in-process, same log: 67.3 ms | — | — |",
		"stopped: the report was stopped while the group ran",
		"-args -updates 200` |", // the command, from the raw output's first line
	} {
		if !strings.Contains(string(md), want) {
			t.Errorf("report.md lacks %q", want)
		}
	}
}

func TestGroupsRecordTheirLoadAndCommit(t *testing.T) {
	res := recorded(t, map[string]string{"launch": "launch.txt", "memory": "memory.txt"}, nil)
	res.Machine.GitCommit, res.Machine.LoadStart, res.Machine.LoadEnd = "aaa", "13.9 11 7", "4 4 4"
	for i, g := range res.Groups {
		switch g.Name {
		case "launch":
			res.Groups[i].Commit, res.Groups[i].Load = "bbb", "2.43 4.16 6.00 → 2.90 3.64 4.94"
		case "memory":
			res.Groups[i].Commit, res.Groups[i].Load = "ccc", "1.00 1 1 → 2.50 2 2"
		}
	}
	var b bytes.Buffer
	if err := res.WriteMarkdown(&b, nil); err != nil {
		t.Fatal(err)
	}
	md := b.String()
	// Every group that ran recorded a load below 3: the run's own start
	// (13.9, before the groups were run again with -add) does not count.
	if strings.Contains(md, "Issue 17 judges its targets") {
		t.Error("load warning for groups that all ran below load 3")
	}
	if want := "| commit | `ccc` (memory); `bbb` (launch) |"; !strings.Contains(md, want) {
		t.Errorf("report.md lacks %q", want)
	}
	if want := "| 2.43 4.16 6.00 → 2.90 3.64 4.94 |"; !strings.Contains(md, want) {
		t.Errorf("report.md lacks the group's load %q", want)
	}
}

func TestGroupCommand(t *testing.T) {
	g := Group{Name: "x", Package: "./core/ledger/", Timeout: "30m"}
	v := Variant{Bench: "^BenchmarkLedgerMemory$", Benchtime: "1x", Env: []string{"TMPDIR=/dev/shm"}, Args: []string{"-updates", "1000,10000"}}
	want := "TMPDIR=/dev/shm go test -v -run '^$' -bench '^BenchmarkLedgerMemory$' -benchtime 1x -count 1 -timeout 30m ./core/ledger/ -args -updates 1000,10000"
	if got := g.Command(v); got != want {
		t.Errorf("Command = %q, want %q", got, want)
	}
}

func TestSectionsAreContiguous(t *testing.T) {
	seen := map[string]bool{}
	last := ""
	for _, r := range rowSpecs([]int{1000, 10000}) {
		if r.section != last {
			if seen[r.section] {
				t.Errorf("section %q comes back after %q: report.md would print it twice", r.section, last)
			}
			seen[r.section], last = true, r.section
		}
	}
}
