package evidence

import (
	"fmt"
	"slices"
)

// TestRef is a test as a report lists it.
type TestRef struct {
	Package string  `json:"package"`
	Name    string  `json:"name"`
	Status  string  `json:"status"`
	Elapsed float64 `json:"elapsed_s,omitempty"`
	Failure string  `json:"failure,omitempty"`
}

func refOf(t *Test) TestRef {
	r := TestRef{Package: t.Package, Name: t.Name, Status: t.Status, Elapsed: t.Elapsed}
	if t.Status == Fail {
		r.Failure = t.Failure()
	}
	return r
}

// SuiteReport is one suite's results.
type SuiteReport struct {
	Name   string    `json:"name"`
	Status string    `json:"status"`
	Counts Counts    `json:"counts"`
	Tests  []TestRef `json:"tests"`
	Note   string    `json:"note,omitempty"`
}

// ConformanceReport is membership_conformance_report.json.
type ConformanceReport struct {
	Artifact string            `json:"artifact"`
	Status   string            `json:"status"`
	Sources  []string          `json:"sources"`
	Counts   Counts            `json:"counts"`
	Packages map[string]string `json:"packages"`
	Suites   []SuiteReport     `json:"suites"`
}

// Conformance builds the conformance report: each suite passes if its
// package passed, at least one of its tests ran, and none failed.
func Conformance(rs *Results, sources []string) *ConformanceReport {
	rep := &ConformanceReport{Artifact: "membership_conformance_report", Sources: sources, Packages: map[string]string{}}
	tests := rs.Tests()
	claimed := map[*Test]bool{}
	ok := true
	for _, s := range ConformanceSuites {
		sr := SuiteReport{Name: s.Name, Tests: []TestRef{}}
		for _, t := range tests {
			if t.Package == s.Package && !claimed[t] && s.Pattern.MatchString(topLevel(t.Name)) {
				claimed[t] = true
				sr.Tests = append(sr.Tests, refOf(t))
				sr.Counts.add(t.Status)
				rep.Counts.add(t.Status)
			}
		}
		pkg := rs.Package(s.Package)
		rep.Packages[s.Package] = orMissing(pkg)
		switch {
		case pkg != Pass:
			sr.Note = fmt.Sprintf("package %s: %s", s.Package, orMissing(pkg))
		case sr.Counts.Passed == 0:
			sr.Note = "no test of this suite ran"
		}
		sr.Status = statusOf(sr.Counts.ok() && sr.Note == "")
		ok = ok && sr.Status == Pass
		rep.Suites = append(rep.Suites, sr)
	}
	rep.Status = statusOf(ok)
	return rep
}

func orMissing(s string) string {
	if s == "" {
		return Missing
	}
	return s
}

// CaseReport is one refusal checked: the code expected and observed.
type CaseReport struct {
	Package  string `json:"package"`
	Test     string `json:"test"`
	What     string `json:"what,omitempty"`
	Expected string `json:"expected"`
	Observed string `json:"observed"`
	Status   string `json:"status"`
	Failure  string `json:"failure,omitempty"`
}

// RowReport is one threat-matrix row's results.
type RowReport struct {
	Row      int          `json:"row"`
	Threat   string       `json:"threat"`
	Expected string       `json:"expected"`
	Status   string       `json:"status"`
	Counts   Counts       `json:"counts"`
	Cases    []CaseReport `json:"cases"`
}

// NegativeReport is membership_negative_tests_report.json.
type NegativeReport struct {
	Artifact     string       `json:"artifact"`
	Status       string       `json:"status"`
	Sources      []string     `json:"sources"`
	Counts       Counts       `json:"counts"`
	ThreatMatrix []RowReport  `json:"threat_matrix"`
	AttackCases  []CaseReport `json:"attack_cases"`
}

// casesOf returns the cases spec's tests checked: the cases they logged
// (a case passes if it observed what it expected and its test passed),
// else one per matching test that has no subtests, expecting
// spec.Expected; one missing case if no test matched.
func casesOf(tests []*Test, spec CaseSpec, used map[*Test]bool) []CaseReport {
	var matched []*Test
	for _, t := range tests {
		if spec.matches(t.Package, t.Name) {
			matched = append(matched, t)
		}
	}
	if len(matched) == 0 {
		return []CaseReport{{Package: spec.Package, Test: spec.Test, Expected: orDash(spec.Expected), Observed: "", Status: Missing,
			Failure: "the test did not run"}}
	}
	var out []CaseReport
	logged := false
	for _, t := range matched {
		used[t] = true
		if spec.Whole {
			continue
		}
		for _, c := range t.Cases {
			logged = true
			cr := CaseReport{Package: t.Package, Test: t.Name, What: c.What, Expected: c.Expected, Observed: orDash(c.Observed)}
			cr.Status = statusOf(c.Expected == c.Observed && t.Status != Fail)
			if cr.Status == Fail && t.Status == Fail {
				cr.Failure = t.Failure()
			}
			out = append(out, cr)
		}
	}
	if logged {
		// A failed test under the spec that logged no case still fails it.
		for _, t := range matched {
			if len(t.Cases) == 0 && t.Status == Fail && !hasChild(matched, t) {
				out = append(out, CaseReport{Package: t.Package, Test: t.Name, Expected: orDash(spec.Expected), Observed: "-",
					Status: Fail, Failure: t.Failure()})
			}
		}
		return out
	}
	for _, t := range matched {
		if (spec.Whole && t.Name != spec.Test) || (!spec.Whole && hasChild(matched, t)) {
			continue
		}
		cr := CaseReport{Package: t.Package, Test: t.Name, Expected: orDash(spec.Expected), Status: t.Status}
		switch t.Status {
		case Pass:
			cr.Observed = cr.Expected // the test asserts it
		case Skip:
			cr.Observed, cr.Status = "-", Fail
			cr.Failure = "skipped: " + t.Failure()
		default:
			cr.Observed, cr.Failure = "-", t.Failure()
		}
		out = append(out, cr)
	}
	return out
}

// hasChild reports whether one of tests is a subtest of t.
func hasChild(tests []*Test, t *Test) bool {
	return slices.ContainsFunc(tests, func(o *Test) bool {
		return o.Package == t.Package && len(o.Name) > len(t.Name) && o.Name[:len(t.Name)+1] == t.Name+"/"
	})
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Negative builds the negative-tests report: every threat-matrix row's
// cases, and every other case a test logged (Case).
func Negative(rs *Results, sources []string) *NegativeReport {
	rep := &NegativeReport{Artifact: "membership_negative_tests_report", Sources: sources, AttackCases: []CaseReport{}}
	tests := rs.Tests()
	used := map[*Test]bool{}
	ok := true
	for _, row := range ThreatMatrix {
		rr := RowReport{Row: row.Row, Threat: row.Threat, Expected: row.Expected}
		for _, spec := range row.Specs {
			for _, c := range casesOf(tests, spec, used) {
				rr.Cases = append(rr.Cases, c)
				rr.Counts.add(c.Status)
				rep.Counts.add(c.Status)
			}
		}
		rr.Status = statusOf(rr.Counts.ok())
		ok = ok && rr.Status == Pass
		rep.ThreatMatrix = append(rep.ThreatMatrix, rr)
	}
	for _, t := range tests {
		if used[t] {
			continue
		}
		for _, c := range t.Cases {
			cr := CaseReport{Package: t.Package, Test: t.Name, What: c.What, Expected: c.Expected, Observed: orDash(c.Observed)}
			cr.Status = statusOf(c.Expected == c.Observed && t.Status != Fail)
			if cr.Status == Fail && t.Status == Fail {
				cr.Failure = t.Failure()
			}
			rep.AttackCases = append(rep.AttackCases, cr)
			rep.Counts.add(cr.Status)
			ok = ok && cr.Status == Pass
		}
	}
	rep.Status = statusOf(ok)
	return rep
}

// DrillReport is one drill's verdict in the recovery report.
type DrillReport struct {
	Name         string             `json:"name"`
	Runbook      string             `json:"runbook"`
	Status       string             `json:"status"`
	DurationMS   float64            `json:"duration_ms"`
	Steps        int                `json:"steps"`
	FailedStep   string             `json:"failed_step,omitempty"`
	Error        string             `json:"error,omitempty"`
	Measurements map[string]float64 `json:"measurements,omitempty"`
	Before       []Head             `json:"before,omitempty"`
	After        []Head             `json:"after,omitempty"`
}

// SectionReport is one group of the recovery report.
type SectionReport struct {
	Name   string       `json:"name"`
	Status string       `json:"status"`
	Counts Counts       `json:"counts"`
	Tests  []CaseReport `json:"tests"`
}

// RecoveryReport is membership_recovery_report.json.
type RecoveryReport struct {
	Artifact string          `json:"artifact"`
	Status   string          `json:"status"`
	Sources  []string        `json:"sources"`
	Counts   Counts          `json:"counts"`
	Sections []SectionReport `json:"sections"`
	Drills   struct {
		Status string        `json:"status"`
		Counts Counts        `json:"counts"`
		Drills []DrillReport `json:"drills"`
	} `json:"drills"`
}

// Recovery builds the recovery report: restricted mode, restore and the
// audit trail from the tests, and every runbook's drill (runbooks names
// them; a runbook without evidence is missing).
func Recovery(rs *Results, drills []*Drill, runbooks []string, sources []string) *RecoveryReport {
	rep := &RecoveryReport{Artifact: "membership_recovery_report", Sources: sources}
	tests := rs.Tests()
	ok := true
	for _, sec := range RecoverySections {
		sr := SectionReport{Name: sec.Name}
		for _, spec := range sec.Specs {
			for _, c := range casesOf(tests, spec, map[*Test]bool{}) {
				sr.Tests = append(sr.Tests, c)
				sr.Counts.add(c.Status)
				rep.Counts.add(c.Status)
			}
		}
		sr.Status = statusOf(sr.Counts.ok())
		ok = ok && sr.Status == Pass
		rep.Sections = append(rep.Sections, sr)
	}
	byName := map[string]*Drill{}
	for _, d := range drills {
		byName[d.Name] = d
	}
	names := slices.Clone(runbooks)
	for _, d := range drills {
		if !slices.Contains(names, d.Name) {
			names = append(names, d.Name)
		}
	}
	rep.Drills.Drills = []DrillReport{}
	for _, name := range names {
		d := byName[name]
		dr := DrillReport{Name: name}
		if d == nil {
			dr.Status, dr.Error = Missing, "no evidence: the drill did not run"
		} else {
			dr.Runbook, dr.Status, dr.DurationMS, dr.Steps, dr.Error = d.Runbook, d.Status, d.DurationMS, len(d.Steps), d.Error
			dr.Measurements, dr.Before, dr.After = d.Measurements, d.Before, d.After
			for _, s := range d.Steps {
				if s.Status != Pass {
					dr.FailedStep = s.Title
					break
				}
			}
			if dr.Status != Pass {
				dr.Status = Fail
			}
		}
		rep.Drills.Drills = append(rep.Drills.Drills, dr)
		rep.Drills.Counts.add(dr.Status)
		rep.Counts.add(dr.Status)
	}
	rep.Drills.Status = statusOf(rep.Drills.Counts.ok() && len(names) > 0)
	ok = ok && rep.Drills.Status == Pass
	rep.Status = statusOf(ok)
	return rep
}
