package evidence

import (
	"bufio"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Event is one line of `go test -json` (cmd/test2json).
type Event struct {
	Time       time.Time `json:",omitempty"`
	Action     string
	Package    string  `json:",omitempty"`
	ImportPath string  `json:",omitempty"` // build events
	Test       string  `json:",omitempty"`
	Elapsed    float64 `json:",omitempty"`
	Output     string  `json:",omitempty"`
}

// Statuses of a test or a package.
const (
	Pass    = "pass"
	Fail    = "fail"
	Skip    = "skip"
	Missing = "missing" // named by a report but never run
)

// Test is the result of one test or subtest.
type Test struct {
	Package string       `json:"package"`
	Name    string       `json:"name"`
	Status  string       `json:"status"` // Pass, Fail or Skip; Fail if it never finished
	Elapsed float64      `json:"elapsed_s"`
	Cases   []CaseResult `json:"cases,omitempty"`
	output  []string
}

// Failure returns the first lines of a failed test's output that say why.
func (t *Test) Failure() string {
	var out []string
	for _, l := range t.output {
		l = strings.TrimSpace(l)
		if l == "" || strings.HasPrefix(l, "=== ") || strings.HasPrefix(l, "--- ") || strings.Contains(l, CaseMarker) {
			continue
		}
		out = append(out, l)
		if len(out) == 3 {
			break
		}
	}
	return strings.Join(out, " | ")
}

// Results are the tests and packages of one or more `go test -json`
// streams.
type Results struct {
	tests    map[[2]string]*Test
	packages map[string]string // import path → Pass, Fail or Skip
	// failedBuilds are packages whose build failed.
	failedBuilds map[string]bool
}

// maxOutput bounds the output kept per test: enough to say why it failed.
const maxOutput = 200

// NewResults returns empty results.
func NewResults() *Results {
	return &Results{tests: map[[2]string]*Test{}, packages: map[string]string{}, failedBuilds: map[string]bool{}}
}

// ReadGoTest adds the events of a `go test -json` stream to rs. Lines
// that are not JSON events (a build error printed by go itself) are
// skipped; a stream that cannot be read is an error.
func (rs *Results) ReadGoTest(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(line) == 0 || line[0] != '{' {
			continue
		}
		var e Event
		if err := json.Unmarshal(line, &e); err != nil {
			continue
		}
		rs.Add(e)
	}
	return sc.Err()
}

// Add adds one event.
func (rs *Results) Add(e Event) {
	switch e.Action {
	case "build-fail":
		rs.failedBuilds[e.ImportPath] = true
		return
	case "build-output":
		return
	}
	if e.Test == "" {
		switch e.Action {
		case Pass, Fail, Skip:
			rs.packages[e.Package] = e.Action
		}
		return
	}
	k := [2]string{e.Package, e.Test}
	t := rs.tests[k]
	if t == nil {
		t = &Test{Package: e.Package, Name: e.Test}
		rs.tests[k] = t
	}
	switch e.Action {
	case "output":
		if c, ok := parseCase(e.Output); ok {
			t.Cases = append(t.Cases, c)
		}
		if len(t.output) < maxOutput {
			t.output = append(t.output, e.Output)
		}
	case Pass, Fail, Skip:
		t.Status, t.Elapsed = e.Action, e.Elapsed
	}
}

// Tests returns every test, sorted by package and name; a test that never
// finished (its binary crashed or timed out) is Fail.
func (rs *Results) Tests() []*Test {
	out := make([]*Test, 0, len(rs.tests))
	for _, t := range rs.tests {
		if t.Status == "" {
			t.Status = Fail
		}
		out = append(out, t)
	}
	slices.SortFunc(out, func(a, b *Test) int { return cmp.Or(cmp.Compare(a.Package, b.Package), cmp.Compare(a.Name, b.Name)) })
	return out
}

// Package returns a package's status: Fail if its build failed or its
// test binary failed, "" if it never ran.
func (rs *Results) Package(path string) string {
	if rs.failedBuilds[path] {
		return Fail
	}
	for p := range rs.failedBuilds {
		// A failed build of a test variant: "path [path.test]".
		if strings.HasPrefix(p, path+" ") {
			return Fail
		}
	}
	return rs.packages[path]
}

// Counts are the tallies a report gives.
type Counts struct {
	Total   int `json:"total"`
	Passed  int `json:"passed"`
	Failed  int `json:"failed"`
	Skipped int `json:"skipped"`
	Missing int `json:"missing"`
}

func (c *Counts) add(status string) {
	c.Total++
	switch status {
	case Pass:
		c.Passed++
	case Skip:
		c.Skipped++
	case Missing:
		c.Missing++
	default:
		c.Failed++
	}
}

// ok reports whether nothing failed or is missing.
func (c Counts) ok() bool { return c.Failed == 0 && c.Missing == 0 }

// statusOf is "pass" if ok, else "fail".
func statusOf(ok bool) string {
	if ok {
		return Pass
	}
	return Fail
}

func (c Counts) String() string {
	return fmt.Sprintf("%d passed, %d failed, %d skipped, %d missing", c.Passed, c.Failed, c.Skipped, c.Missing)
}
