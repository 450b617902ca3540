package main

import (
	"slices"
	"sort"
	"strings"
)

// Figure is one quantity a benchmark measured, summarised over every run
// of that benchmark in the report (go test -count N gives N runs): each
// statistic is the median over the runs of the value the benchmark
// reported for it. Times are in milliseconds whatever unit the benchmark
// printed them in.
type Figure struct {
	// Name is Benchmark, a space and Quantity.
	Name      string `json:"name"`
	Benchmark string `json:"benchmark"`
	// Quantity is what was measured: "latency" (the whole iteration, from
	// the bare p50/p95/p99 metrics), "op" (ns/op), "throughput" (MB/s), or
	// the metric's own prefix ("api", "cold-start", "backend-rss", …).
	Quantity string `json:"quantity"`
	Unit     string `json:"unit"`
	// Stats holds "median" (p50), "p95", "p99", "max" and "mean" — those
	// the benchmark reported.
	Stats map[string]float64 `json:"stats"`
	// Samples is the number of iterations over all runs; Runs the number
	// of runs.
	Samples int64 `json:"samples"`
	Runs    int   `json:"runs"`
	// Group and Command say where the figure came from.
	Group   string `json:"group"`
	Package string `json:"package"`
	Command string `json:"command"`
}

// timeUnits converts the time units benchmarks print to milliseconds.
var timeUnits = map[string]float64{"ns": 1e-6, "µs": 1e-3, "us": 1e-3, "ms": 1, "s": 1e3}

// sizeUnits are the other units a metric's last dash-separated word may
// be; the rest of the metric names the quantity.
var sizeUnits = map[string]bool{"B": true, "KiB": true, "MiB": true, "MB": true, "bytes": true}

// statWords are the metric prefixes that name a statistic.
var statWords = map[string]string{"p50": "median", "p95": "p95", "p99": "p99", "max": "max"}

// splitMetric returns the quantity, statistic and unit of a metric as
// printed, and the factor that converts its value to that unit:
// "api-p95-µs" is quantity "api", statistic "p95", unit "ms", 0.001;
// "cold-start-ms" is "cold-start", "mean", "ms", 1; "MB/s" is
// "throughput", "mean", "MB/s", 1; "requests/op" is "requests/op",
// "mean", "requests/op", 1.
func splitMetric(metric string) (quantity, stat, unit string, scale float64) {
	switch metric {
	case "ns/op":
		return "op", "mean", "ms", timeUnits["ns"]
	case "MB/s":
		return "throughput", "mean", "MB/s", 1
	}
	base, last, found := cutLast(metric, "-")
	if !found {
		return metric, "mean", metric, 1
	}
	scale, unit = 1, last
	if f, ok := timeUnits[last]; ok {
		scale, unit = f, "ms"
	} else if !sizeUnits[last] {
		return metric, "mean", metric, 1
	}
	if s, ok := statWords[base]; ok {
		return "latency", s, unit, scale
	}
	if q, w, ok := cutLast(base, "-"); ok {
		if s, ok := statWords[w]; ok {
			return q, s, unit, scale
		}
	}
	return base, "mean", unit, scale
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// Figures summarises the runs of one group into figures, in the order of
// the runs' first appearance and then by quantity.
func Figures(group, command string, runs []Run) []Figure {
	type key struct{ bench, quantity, unit string }
	values := map[key]map[string][]float64{}
	samples := map[key]int64{}
	runCount := map[key]int{}
	pkgs := map[string]string{}
	var order []key
	for _, r := range runs {
		pkgs[r.Benchmark] = r.Package
		seen := map[key]bool{}
		for metric, v := range r.Metrics {
			q, stat, unit, scale := splitMetric(metric)
			k := key{r.Benchmark, q, unit}
			if values[k] == nil {
				values[k] = map[string][]float64{}
				order = append(order, k)
			}
			values[k][stat] = append(values[k][stat], v*scale)
			if !seen[k] {
				seen[k] = true
				samples[k] += r.Iterations
				runCount[k]++
			}
		}
	}
	first := map[string]int{}
	for i, r := range runs {
		if _, ok := first[r.Benchmark]; !ok {
			first[r.Benchmark] = i
		}
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		if a.bench != b.bench {
			return first[a.bench] < first[b.bench]
		}
		return a.quantity+" "+a.unit < b.quantity+" "+b.unit
	})
	figs := make([]Figure, 0, len(order))
	for _, k := range order {
		f := Figure{Name: k.bench + " " + k.quantity, Benchmark: k.bench, Quantity: k.quantity, Unit: k.unit,
			Stats: map[string]float64{}, Samples: samples[k], Runs: runCount[k],
			Group: group, Package: pkgs[k.bench], Command: command}
		for stat, vs := range values[k] {
			f.Stats[stat] = median(vs)
		}
		figs = append(figs, f)
	}
	return figs
}

// median returns the median of vs (the mean of the middle two of an even
// count); vs must not be empty.
func median(vs []float64) float64 {
	s := slices.Clone(vs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
