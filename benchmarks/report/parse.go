package main

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
)

// Run is one result line of `go test -bench`: a benchmark (its name
// without the GOMAXPROCS suffix), the package it ran in, its iteration
// count and every metric it reported, keyed by unit ("ns/op", "MB/s",
// "p95-µs", …) with the value as printed.
type Run struct {
	Package    string             `json:"package"`
	Benchmark  string             `json:"benchmark"`
	Iterations int64              `json:"iterations"`
	Metrics    map[string]float64 `json:"metrics"`
}

// Outcome is a benchmark that did not produce a result: skipped or
// failed, with the first line it logged (the reason).
type Outcome struct {
	Package   string `json:"package"`
	Benchmark string `json:"benchmark"`
	Reason    string `json:"reason"`
}

// Output is what Parse reads from one `go test -bench` run.
type Output struct {
	Runs    []Run
	Skipped []Outcome
	Failed  []Outcome
}

var (
	// resultLine is a benchmark's name followed by its result on the same
	// line; nameLine is the name alone (its result follows on a later line
	// when the benchmark logged in between); tailLine is such a result.
	resultLine = regexp.MustCompile(`^(Benchmark\S+)\s+(\d+)\s+(\S.*)$`)
	nameLine   = regexp.MustCompile(`^(Benchmark\S+)(\s*)$`)
	tailLine   = regexp.MustCompile(`^\s+(\d+)\s+(\d\S*\s+\S.*)$`)
	endLine    = regexp.MustCompile(`^\s*--- (SKIP|FAIL): (Benchmark\S+)`)
	// logLine is a line t.Log wrote: file:line: message.
	logLine = regexp.MustCompile(`^\s+\S+\.go:\d+: (.*)$`)
)

// Parse reads the output of `go test -bench` (not -json, with or without
// -v): the "pkg:" header lines, result lines (a name and its result on one
// line, or the name alone and the result on a later line), and the "---
// SKIP"/"--- FAIL" lines with the first message the benchmark logged as
// their reason (-v prints it between the name and the SKIP line, plain
// output after the SKIP line). Lines it does not know ("PASS", "ok", other
// logs) are ignored. A result line whose metrics do not come in value-unit
// pairs is an error: the format changed and figures would be wrong.
//
// procs is the GOMAXPROCS of the run: go test appends "-procs" to the
// names on result lines (if procs > 1), and Parse removes it; the names on
// SKIP and FAIL lines and the -v name lines carry no suffix.
func Parse(r io.Reader, procs int) (Output, error) {
	suffix := ""
	if procs > 1 {
		suffix = fmt.Sprintf("-%d", procs)
	}
	var out Output
	var pkg, pending string
	firstLog := map[string]string{} // benchmark → first message after its name line
	var end *Outcome                // the SKIP or FAIL awaiting its reason
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if m := logLine.FindStringSubmatch(line); m != nil {
			if end != nil {
				end.Reason, end = m[1], nil
			} else if _, ok := firstLog[pending]; pending != "" && !ok {
				firstLog[pending] = m[1]
			}
			continue
		}
		end = nil
		switch {
		case strings.HasPrefix(line, "pkg: "):
			pkg = strings.TrimPrefix(line, "pkg: ")
		case resultLine.MatchString(line):
			m := resultLine.FindStringSubmatch(line)
			run, err := newRun(pkg, strings.TrimSuffix(m[1], suffix), m[2], m[3])
			if err != nil {
				return out, fmt.Errorf("line %d: %w", n, err)
			}
			out.Runs, pending = append(out.Runs, run), ""
		case nameLine.MatchString(line):
			// A name followed by blanks awaits its result (plain output):
			// it carries the suffix. A -v name line stands alone.
			m := nameLine.FindStringSubmatch(line)
			if pending = m[1]; m[2] != "" {
				pending = strings.TrimSuffix(pending, suffix)
			}
		case pending != "" && tailLine.MatchString(line):
			m := tailLine.FindStringSubmatch(line)
			run, err := newRun(pkg, pending, m[1], m[2])
			if err != nil {
				return out, fmt.Errorf("line %d: %w", n, err)
			}
			out.Runs, pending = append(out.Runs, run), ""
		case endLine.MatchString(line):
			m := endLine.FindStringSubmatch(line)
			o := Outcome{Package: pkg, Benchmark: m[2], Reason: firstLog[m[2]]}
			list := &out.Failed
			if m[1] == "SKIP" {
				list = &out.Skipped
			}
			*list = append(*list, o)
			if o.Reason == "" {
				(*list)[len(*list)-1].Reason = "(no reason logged)"
				end = &(*list)[len(*list)-1]
			}
		}
	}
	return out, sc.Err()
}

// newRun makes a Run of a result line's parts.
func newRun(pkg, name, iterations, metrics string) (Run, error) {
	run := Run{Package: pkg, Benchmark: name, Metrics: map[string]float64{}}
	var err error
	if run.Iterations, err = strconv.ParseInt(iterations, 10, 64); err != nil {
		return run, fmt.Errorf("%s: iterations %q: %v", name, iterations, err)
	}
	f := strings.Fields(metrics)
	if len(f)%2 != 0 {
		return run, fmt.Errorf("%s: metrics %q are not value-unit pairs", name, metrics)
	}
	for i := 0; i < len(f); i += 2 {
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			return run, fmt.Errorf("%s: metric %q: %v", name, f[i+1], err)
		}
		run.Metrics[f[i+1]] = v
	}
	return run, nil
}
