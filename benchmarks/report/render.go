package main

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// WriteMarkdown writes report.md: the machine, the table of figures beside
// their floors or peers and targets, the plots, how each group ran, and
// every figure of the run.
func (r *Results) WriteMarkdown(w io.Writer, plots []Plot) error {
	var b strings.Builder
	m := r.Machine
	fmt.Fprintf(&b, "# Benchmark report, %s\n\n", m.Started.Format("2006-01-02 15:04 UTC"))
	if r.Quick {
		b.WriteString("**Quick run (`-quick`): tiny sizes and few iterations, a smoke test of the suite. Its figures are not measurements to compare with targets.**\n\n")
	}
	if load := r.maxLoad(); load > maxFairLoad {
		fmt.Fprintf(&b, "**Measured at a load average of up to %s on %d cores (other work shared the machine).** Issue 17 judges its targets at a load below %g: a verdict here is this run's, not that judgement; compare each figure with the floor or peer measured beside it in the same run.\n\n",
			strconv.FormatFloat(load, 'f', -1, 64), m.Cores, maxFairLoad)
	}
	b.WriteString("Written by `go run ./benchmarks/report`; every figure below comes from the benchmark output in `raw/` (parsed, never typed), all of them in `results.json`.\n\n")
	b.WriteString("| machine | |\n|---|---|\n")
	dirty := ""
	if m.GitDirty > 0 {
		dirty = fmt.Sprintf(" (%d files differ in the working tree)", m.GitDirty)
	}
	for _, kv := range [][2]string{
		{"CPU", fmt.Sprintf("%s, %d cores", m.CPU, m.Cores)}, {"memory", m.MemoryTotal}, {"kernel", m.Kernel + ", " + m.OS},
		{"Go", m.Go}, {"commit", r.commits(dirty)},
		{"load average (1, 5, 15 min)", fmt.Sprintf("%s at start, %s at end (each group's in Groups below)", m.LoadStart, m.LoadEnd)},
		{"duration", fmt.Sprintf("%s to %s", m.Started.Format("15:04:05"), m.Finished.Format("15:04:05 UTC"))},
	} {
		fmt.Fprintf(&b, "| %s | %s |\n", kv[0], mdEscape(kv[1]))
	}
	section := ""
	for _, row := range r.Rows {
		if row.Section != section {
			section = row.Section
			fmt.Fprintf(&b, "\n### %s\n\n| metric | this run | floor or peer, same run | target | verdict |\n|---|---|---|---|---|\n", section)
		}
		value := "—"
		if row.Value != nil {
			value = formatValue(*row.Value) + " " + row.Unit
		}
		peer := row.Peer
		if row.PeerText != "" {
			peer += ": " + row.PeerText
		}
		verdict := row.Verdict
		if verdict == "met" || verdict == "not met" {
			verdict = "**" + verdict + "**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", mdEscape(row.Metric), value, mdEscape(orDash(peer)), orDash(row.Target), mdEscape(verdict))
	}
	if len(plots) > 0 {
		b.WriteString("\n## Plots\n\n")
		for _, p := range plots {
			fmt.Fprintf(&b, "![%s](%s)\n\n", p.Title(), p.File)
		}
	}
	b.WriteString("## Groups\n\n| group | what | command | status | wall time | load average (1, 5, 15 min), before → after |\n|---|---|---|---|---|---|\n")
	for _, g := range r.Groups {
		cmd, secs := "—", "—"
		if g.Command != "" {
			cmd = "`" + g.Command + "`"
			secs = strconv.FormatFloat(g.Seconds, 'f', 0, 64) + " s"
		}
		status := g.Status
		if g.Commit != "" && g.Commit != m.GitCommit {
			status += " (at commit `" + g.Commit + "`)"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", g.Name, mdEscape(groupAbout(g.Name)), mdEscape(cmd), mdEscape(status), secs, orDash(g.Load))
		for _, o := range g.Skipped {
			fmt.Fprintf(&b, "| | skipped: `%s` | | %s | | |\n", o.Benchmark, mdEscape(o.Reason))
		}
		for _, o := range g.Failed {
			fmt.Fprintf(&b, "| | failed: `%s` | | %s | | |\n", o.Benchmark, mdEscape(o.Reason))
		}
	}
	b.WriteString("\n## Every figure\n\nTimes in ms; each statistic is the median over the runs (`-count`) of what the benchmark reported; samples are iterations over all runs.\n\n")
	b.WriteString("| group | benchmark | quantity | unit | median | p95 | p99 | max | mean | samples | runs |\n|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, f := range r.Figures {
		cell := func(s string) string {
			if v, ok := f.Stats[s]; ok {
				return formatValue(v)
			}
			return ""
		}
		fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s | %s | %s | %s | %s | %d | %d |\n", f.Group, f.Benchmark, mdEscape(f.Quantity), mdEscape(f.Unit),
			cell("median"), cell("p95"), cell("p99"), cell("max"), cell("mean"), f.Samples, f.Runs)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// maxLoad is the highest 1-minute load average seen at the start or the
// end of a group that ran (-add records it per group), or of the run.
func (r *Results) maxLoad() float64 {
	load, perGroup := 0.0, false
	for _, g := range r.Groups {
		if before, after, ok := strings.Cut(g.Load, "→"); ok {
			load, perGroup = max(load, load1(before), load1(after)), true
		}
	}
	if !perGroup {
		load = max(load1(r.Machine.LoadStart), load1(r.Machine.LoadEnd))
	}
	return load
}

// commits says which commit the figures were measured at: the run's, or
// (when groups record theirs) each commit with its groups.
func (r *Results) commits(dirty string) string {
	var order []string
	groups := map[string][]string{}
	for _, g := range r.Groups {
		if g.Commit != "" {
			if groups[g.Commit] == nil {
				order = append(order, g.Commit)
			}
			groups[g.Commit] = append(groups[g.Commit], g.Name)
		}
	}
	if len(order) == 0 {
		return "`" + r.Machine.GitCommit + "`" + dirty
	}
	var parts []string
	for _, c := range order {
		parts = append(parts, "`"+c+"` ("+strings.Join(groups[c], ", ")+")")
	}
	return strings.Join(parts, "; ")
}

// maxFairLoad is the load average below which issue 17 judges its
// targets.
const maxFairLoad = 3.0

// load1 returns the 1-minute figure of a load average "1 5 15", 0 if
// there is none.
func load1(avg string) float64 {
	f := strings.Fields(avg)
	if len(f) == 0 {
		return 0
	}
	v, _ := strconv.ParseFloat(f[0], 64)
	return v
}

func groupAbout(name string) string {
	for _, g := range groups {
		if g.Name == name {
			return g.About
		}
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

// mdEscape keeps a table cell one cell: pipes escaped, newlines folded.
func mdEscape(s string) string {
	return strings.NewReplacer("|", `\|`, "\n", " ").Replace(s)
}

// Plot is one SVG file of the report: a bar or a line chart.
type Plot struct {
	File string
	Bar  *BarChart
	Line *LineChart
}

// Title is the chart's title.
func (p Plot) Title() string {
	if p.Bar != nil {
		return p.Bar.Title
	}
	return p.Line.Title
}

// WriteSVG writes the chart.
func (p Plot) WriteSVG(w io.Writer) error {
	if p.Bar != nil {
		return p.Bar.WriteSVG(w)
	}
	return p.Line.WriteSVG(w)
}

// Plots returns the report's charts that have at least one value in this
// run: apply latency per store × member count (through the daemon and up
// to the store), cold start against log length, throughput per backend,
// memory against peer count.
func (r *Results) Plots() []Plot {
	l := newLookup(r)
	get := func(x ref) float64 {
		v, err := l.value(x)
		if err != nil {
			return math.NaN()
		}
		return v
	}
	var plots []Plot
	add := func(p Plot) {
		if p.hasData() {
			plots = append(plots, p)
		}
	}

	// Apply latency through the daemon: p50/p95/p99 of the apply-update
	// round trip, and the ledger's p95 beside it.
	cats := []string{}
	pcts := []string{"median", "p95", "p99"}
	daemonSeries := make([]BarSeries, len(pcts)+1)
	for i, p := range []string{"p50", "p95", "p99"} {
		daemonSeries[i].Name = "daemon " + p
	}
	daemonSeries[3].Name = "ledger p95 (no daemon)"
	ledger := make([]BarSeries, len(pcts))
	for i, p := range []string{"p50", "p95", "p99"} {
		ledger[i].Name = p
	}
	var ledgerCats []string
	for _, store := range []string{"file", "sqlite"} {
		for _, members := range []int{1000, 10000} {
			cat := fmt.Sprintf("add, %s, %s", store, thousands(members))
			cats = append(cats, cat)
			ledgerCats = append(ledgerCats, fmt.Sprintf("%s, %s", store, thousands(members)))
			lb := fmt.Sprintf("BenchmarkApply/store=%s/members=%d", store, members)
			for i, s := range pcts {
				daemonSeries[i].Values = append(daemonSeries[i].Values, get(ref{"daemon", lb + "/readback=end", "api", s}))
				ledger[i].Values = append(ledger[i].Values, get(ref{"ledger", lb, "latency", s}))
			}
			daemonSeries[3].Values = append(daemonSeries[3].Values, get(ref{"ledger", lb, "latency", "p95"}))
		}
	}
	for _, members := range []int{1000, 10000} {
		cats = append(cats, fmt.Sprintf("revoke, file, %s", thousands(members)))
		rb := fmt.Sprintf("BenchmarkRevoke/store=file/members=%d/readback=end", members)
		for i, s := range pcts {
			daemonSeries[i].Values = append(daemonSeries[i].Values, get(ref{"daemon", rb, "api", s}))
		}
		daemonSeries[3].Values = append(daemonSeries[3].Values, get(ref{"ledger", fmt.Sprintf("BenchmarkApply/store=file/members=%d", members), "latency", "p95"}))
	}
	add(Plot{File: "apply-daemon.svg", Bar: &BarChart{
		Title: "Apply through the daemon: submit → backend changed", YLabel: "ms",
		Categories: cats, Series: daemonSeries,
		Lines: []RefLine{{Y: 3, Label: "target p95, 1,000 members: 3 ms"}, {Y: 5, Label: "target p95, 10,000 members: 5 ms"}},
	}})
	add(Plot{File: "apply-ledger.svg", Bar: &BarChart{
		Title: "Apply up to the store (ledger.Apply, store plugin)", YLabel: "ms",
		Categories: ledgerCats, Series: ledger,
		Lines: []RefLine{{Y: 5, Label: "SPEC §10 p95, 1,000 members: 5 ms"}, {Y: 10, Label: "SPEC §10 p95, 10,000 members: 10 ms"}},
	}})

	// Cold start against log length.
	var cold []LineSeries
	for _, s := range []struct{ name, prefix, quantity string }{
		{"file store", "BenchmarkColdStart/store=file/updates=", "cold-start"},
		{"SQLite store", "BenchmarkColdStart/store=sqlite/updates=", "cold-start"},
		{"floor: Replay in-process", "BenchmarkColdStartFloor/replay/updates=", "replay"},
	} {
		ls := LineSeries{Name: s.name}
		for _, n := range r.coldLengths() {
			if v := get(ref{"coldstart", s.prefix + strconv.Itoa(n), s.quantity, "median"}); !math.IsNaN(v) {
				ls.X, ls.Y = append(ls.X, float64(n)), append(ls.Y, v)
			}
		}
		cold = append(cold, ls)
	}
	add(Plot{File: "coldstart.svg", Line: &LineChart{
		Title: "Cold start against log length (median)", XLabel: "updates in the log", YLabel: "ms", LogX: true,
		Series: cold, Lines: []RefLine{{Y: 1000, Label: "target at 10,000 updates: 1 s"}},
	}})

	// Throughput per backend and its peers.
	tp := BarSeries{Name: "MB/s (median of runs)"}
	var tcats []string
	for _, c := range []struct{ name, group, bench string }{
		{"wgtun", "throughput-wgtun", "BenchmarkThroughput/wgtun"},
		{"wgtun, filter", "throughput-wgtun", "BenchmarkThroughput/wgtun-filter-1000"},
		{"wireguard-go", "throughput-wgtun", "BenchmarkThroughput/wireguard-go"},
		{"netstack", "throughput-netstack", "BenchmarkThroughput/netstack"},
		{"netstack, filter", "throughput-netstack", "BenchmarkThroughput/netstack-filter-1000"},
		{"upstream netstack", "throughput-netstack", "BenchmarkThroughput/upstream"},
		{"loopback TCP", "throughput-netstack", "BenchmarkThroughput/loopback"},
	} {
		tcats = append(tcats, c.name)
		tp.Values = append(tp.Values, get(ref{c.group, c.bench, "throughput", "mean"}))
	}
	add(Plot{File: "throughput.svg", Bar: &BarChart{
		Title: "Throughput per backend (TCP through the tunnel; filter: 1,000 rules)", YLabel: "MB/s", Categories: tcats, Series: []BarSeries{tp},
	}})

	// Memory against peer count.
	var mem []LineSeries
	for _, s := range []struct{ name, quantity string }{{"netstack backend plugin", "backend-rss"}, {"plain wireguard-go on its netstack", "plain-wireguard-go-rss"}, {"daemon", "daemon-rss"}} {
		peers, kib := memoryPoints(l, s.quantity)
		ls := LineSeries{Name: s.name, X: peers}
		for _, k := range kib {
			ls.Y = append(ls.Y, k/1024)
		}
		mem = append(mem, ls)
	}
	add(Plot{File: "memory.svg", Line: &LineChart{
		Title: "Resident memory against peer count", XLabel: "peers", YLabel: "MiB (VmRSS)", Series: mem,
	}})
	return plots
}

// hasData reports whether the chart has a value to draw.
func (p Plot) hasData() bool {
	if p.Bar != nil {
		for _, s := range p.Bar.Series {
			for _, v := range s.Values {
				if !math.IsNaN(v) {
					return true
				}
			}
		}
		return false
	}
	for _, s := range p.Line.Series {
		if len(s.X) > 0 {
			return true
		}
	}
	return false
}

// coldLengths returns the log lengths the cold-start benchmarks ran with,
// in increasing order.
func (r *Results) coldLengths() []int {
	seen := map[int]bool{}
	for _, g := range r.Groups {
		if g.Name != "coldstart" {
			continue
		}
		for _, run := range g.Runs {
			if _, n, ok := strings.Cut(run.Benchmark, "/updates="); ok {
				if v, err := strconv.Atoi(n); err == nil {
					seen[v] = true
				}
			}
		}
		for _, o := range append(append([]Outcome{}, g.Skipped...), g.Failed...) {
			if _, n, ok := strings.Cut(o.Benchmark, "/updates="); ok {
				if v, err := strconv.Atoi(n); err == nil {
					seen[v] = true
				}
			}
		}
	}
	var ns []int
	for n := range seen {
		ns = append(ns, n)
	}
	sort.Ints(ns)
	if len(ns) == 0 {
		ns = []int{10000}
	}
	return ns
}
