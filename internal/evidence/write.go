package evidence

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Inputs are what the membership artifacts are built from.
type Inputs struct {
	// GoTest are `go test -json` streams (files).
	GoTest []string
	// DrillsDir holds the drills' evidence (Drill files and kept audit
	// trails); RunbooksDir the runbooks (every NAME.md but README.md must
	// have a drill NAME).
	DrillsDir, RunbooksDir string
}

// Artifact names under the output directory.
const (
	ConformanceFile = "membership_conformance_report.json"
	NegativeFile    = "membership_negative_tests_report.json"
	RecoveryFile    = "membership_recovery_report.json"
	AuditFile       = "membership_audit_integrity.log"
)

// Summary is one artifact's verdict.
type Summary struct {
	File   string
	Status string
	Counts string
}

// WriteMembership builds the four membership artifacts from in and writes
// them to out; it returns each one's verdict. An input that cannot be read
// is an error (and no artifact is written).
func WriteMembership(in Inputs, out string) ([]Summary, error) {
	rs := NewResults()
	sources := []string{}
	for _, p := range in.GoTest {
		f, err := os.Open(p)
		if err != nil {
			return nil, err
		}
		err = rs.ReadGoTest(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		sources = append(sources, filepath.ToSlash(p))
	}
	drills, err := ReadDrills(in.DrillsDir)
	if err != nil {
		return nil, err
	}
	runbooks, err := Runbooks(in.RunbooksDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	conf := Conformance(rs, sources)
	neg := Negative(rs, sources)
	rec := Recovery(rs, drills, runbooks, append(slices.Clone(sources), filepath.ToSlash(in.DrillsDir)))
	var sums []Summary
	for _, a := range []struct {
		file   string
		v      any
		status string
		counts Counts
	}{
		{ConformanceFile, conf, conf.Status, conf.Counts},
		{NegativeFile, neg, neg.Status, neg.Counts},
		{RecoveryFile, rec, rec.Status, rec.Counts},
	} {
		b, err := json.MarshalIndent(a.v, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(out, a.file), append(b, '\n'), 0o644); err != nil {
			return nil, err
		}
		sums = append(sums, Summary{a.file, a.status, a.counts.String()})
	}
	var log bytes.Buffer
	ok := AuditIntegrity(&log, in.DrillsDir, drills, "emergency-revocation")
	if err := os.WriteFile(filepath.Join(out, AuditFile), log.Bytes(), 0o644); err != nil {
		return nil, err
	}
	sums = append(sums, Summary{AuditFile, statusOf(ok), fmt.Sprintf("%d index= lines", strings.Count(log.String(), "\nindex="))})
	return sums, nil
}

// Runbooks returns the names of the runbooks in dir: every NAME.md but
// README.md.
func Runbooks(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "*.md"))
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range paths {
		name := strings.TrimSuffix(filepath.Base(p), ".md")
		if name != "README" {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out, nil
}
