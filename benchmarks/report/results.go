package main

import (
	"errors"
	"fmt"
	"strings"
)

// Results is everything one report run measured: results.json.
type Results struct {
	Machine Machine       `json:"machine"`
	Quick   bool          `json:"quick"`
	Groups  []GroupResult `json:"groups"`
	Figures []Figure      `json:"figures"`
	// Rows is the comparison table of report.md, as computed.
	Rows []Row `json:"rows"`
}

// GroupResult is how one group ran.
type GroupResult struct {
	Name    string `json:"name"`
	Package string `json:"package"`
	Command string `json:"command,omitempty"`
	// Status is "ran", "failed: …" (go test exited non-zero), or "not run:
	// …" (not selected by -only, no quick variant).
	Status  string  `json:"status"`
	Seconds float64 `json:"seconds,omitempty"`
	// Commit is the git commit the group ran at; Load the load average
	// before → after it.
	Commit  string    `json:"commit,omitempty"`
	Load    string    `json:"load_average,omitempty"`
	Runs    []Run     `json:"runs,omitempty"`
	Skipped []Outcome `json:"skipped,omitempty"`
	Failed  []Outcome `json:"failed,omitempty"`
}

// lookup finds figures and, for a figure that is not there, says why.
type lookup struct {
	figures map[string]Figure // by group and Name
	groups  map[string]GroupResult
}

func newLookup(r *Results) *lookup {
	l := &lookup{figures: map[string]Figure{}, groups: map[string]GroupResult{}}
	for _, f := range r.Figures {
		l.figures[f.Group+":"+f.Name] = f
	}
	for _, g := range r.Groups {
		l.groups[g.Name] = g
	}
	return l
}

// ref names a statistic of a figure: its group, benchmark, quantity and
// statistic.
type ref struct{ group, bench, quantity, stat string }

// value returns the statistic, or an error saying why it is missing: its
// group did not run, the benchmark skipped (with its reason) or failed,
// or nothing reported it.
func (l *lookup) value(r ref) (float64, error) {
	if f, ok := l.figures[r.group+":"+r.bench+" "+r.quantity]; ok {
		if v, ok := f.Stats[r.stat]; ok {
			return v, nil
		}
		return 0, fmt.Errorf("not reported: %s has no %s", f.Name, r.stat)
	}
	g, ok := l.groups[r.group]
	switch {
	case !ok:
		return 0, fmt.Errorf("not run: no group %s", r.group)
	case g.Status != "ran" && !strings.HasPrefix(g.Status, "failed"):
		return 0, errors.New(g.Status)
	}
	for _, o := range g.Skipped {
		if within(r.bench, o.Benchmark) {
			return 0, fmt.Errorf("skipped: %s", o.Reason)
		}
	}
	for _, o := range g.Failed {
		if within(r.bench, o.Benchmark) {
			return 0, fmt.Errorf("failed: %s", o.Reason)
		}
	}
	if g.Status != "ran" {
		return 0, errors.New(g.Status)
	}
	return 0, errors.New("not run: not in this run's selection")
}

// within reports whether bench is outcome or one of its sub-benchmarks.
func within(bench, outcome string) bool {
	return bench == outcome || strings.HasPrefix(bench, outcome+"/")
}
