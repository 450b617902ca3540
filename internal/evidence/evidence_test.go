package evidence

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/audit"
)

// stream builds a synthetic `go test -json` stream.
type stream struct{ lines []string }

func (s *stream) event(e Event) {
	b, err := json.Marshal(e)
	if err != nil {
		panic(err)
	}
	s.lines = append(s.lines, string(b))
}

// test emits a test that ends with status, logging cases first.
func (s *stream) test(pkg, name, status string, cases ...CaseResult) {
	s.event(Event{Action: "run", Package: pkg, Test: name})
	for _, c := range cases {
		b, _ := json.Marshal(c)
		s.event(Event{Action: "output", Package: pkg, Test: name, Output: "    x_test.go:12: " + CaseMarker + string(b) + "\n"})
	}
	if status == Fail {
		s.event(Event{Action: "output", Package: pkg, Test: name, Output: "    x_test.go:40: got code \"\", want BAD_SIGNATURE\n"})
	}
	s.event(Event{Action: status, Package: pkg, Test: name, Elapsed: 0.01})
}

func (s *stream) pkg(pkg, status string) {
	s.event(Event{Action: status, Package: pkg, Elapsed: 1})
}

func (s *stream) write(t *testing.T, path string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(strings.Join(s.lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fullRun is a stream in which every suite, threat row and recovery
// section has passing tests; broken, if set, replaces the test it names.
func fullRun(broken map[string]func(s *stream, pkg, name string)) *stream {
	s := &stream{}
	pkgs := map[string]bool{}
	emit := func(pkg, name string, cases ...CaseResult) {
		pkgs[pkg] = true
		if f := broken[name]; f != nil {
			f(s, pkg, name)
			return
		}
		s.test(pkg, name, Pass, cases...)
	}
	for _, name := range []string{"TestGolden", "TestCanonicalKeyOrder", "TestSignatureCounting", "TestCommit"} {
		emit(pkgMembership, name)
	}
	for _, row := range ThreatMatrix {
		for _, spec := range row.Specs {
			var cases []CaseResult
			if spec.Expected == "" {
				cases = []CaseResult{{Expected: "BAD_SIGNATURE", Observed: "BAD_SIGNATURE"}}
			}
			emit(spec.Package, spec.Test, cases...)
		}
	}
	for _, sec := range RecoverySections {
		for _, spec := range sec.Specs {
			emit(spec.Package, spec.Test)
		}
	}
	emit(pkgMembership, "TestChainingChecks", CaseResult{What: "stale", Expected: "STALE_EPOCH", Observed: "STALE_EPOCH"})
	for p := range pkgs {
		status := Pass
		for name, f := range broken {
			if f != nil && strings.HasPrefix(name, "pkg:") && strings.TrimPrefix(name, "pkg:") == p {
				status = Fail
			}
		}
		s.pkg(p, status)
	}
	return s
}

// fixture is a directory with a go test stream, runbooks and drills.
type fixture struct {
	dir, tests, runbooks, drills, out string
}

func newFixture(t *testing.T, s *stream, drillStatus map[string]string) fixture {
	t.Helper()
	dir := t.TempDir()
	f := fixture{dir: dir, tests: filepath.Join(dir, "core.jsonl"), runbooks: filepath.Join(dir, "runbooks"),
		drills: filepath.Join(dir, "drills"), out: filepath.Join(dir, "membership")}
	s.write(t, f.tests)
	if err := os.MkdirAll(f.runbooks, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"README", "emergency-revocation", "backup-and-restore"} {
		if err := os.WriteFile(filepath.Join(f.runbooks, name+".md"), []byte("# "+name+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for name, status := range drillStatus {
		d := &Drill{Name: name, Runbook: "docs/operations/" + name + ".md", Status: status, DurationMS: 1234,
			Steps: []Step{{Title: "revoke", Where: "approvers", Command: "rustynet membership propose-revoke-node", Status: status}}}
		if name == "emergency-revocation" {
			d.Measurements = map[string]float64{"revoke_to_refused_ms": 42}
			d.Audit = []AuditCopy{{Node: "n1", Dir: filepath.Join(name, "audit", "n1")}}
			writeChain(t, filepath.Join(f.drills, name, "audit", "n1"))
		}
		if err := WriteDrill(f.drills, d); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// writeChain writes a small real audit chain.
func writeChain(t *testing.T, dir string) {
	t.Helper()
	l, err := audit.Open(audit.Config{Dir: dir, Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	l.Record(audit.Record{Kind: audit.KindOpened, Epoch: 1, Root: strings.Repeat("1", 64)})
	l.Record(audit.Record{Kind: audit.KindUpdateAccepted, Source: audit.SourceAPI, Epoch: 2, Op: "revoke_node", Target: "n3", Signers: []string{"a1", "a2"}})
	l.Record(audit.Record{Kind: audit.KindUpdateRejected, Source: audit.SourceAPI, Epoch: 2, Code: "BAD_SIGNATURE", Reason: "signature 1"})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	l.Close()
}

func (f fixture) run(t *testing.T) map[string]string {
	t.Helper()
	sums, err := WriteMembership(Inputs{GoTest: []string{f.tests}, DrillsDir: f.drills, RunbooksDir: f.runbooks}, f.out)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, s := range sums {
		got[s.File] = s.Status
	}
	return got
}

func (f fixture) read(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(f.out, file))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatal(err)
	}
}

var allDrillsPass = map[string]string{"emergency-revocation": Pass, "backup-and-restore": Pass}

func TestEverythingPasses(t *testing.T) {
	f := newFixture(t, fullRun(nil), allDrillsPass)
	got := f.run(t)
	want := map[string]string{ConformanceFile: Pass, NegativeFile: Pass, RecoveryFile: Pass, AuditFile: Pass}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("statuses (-want +got):\n%s", diff)
	}
	var neg NegativeReport
	f.read(t, NegativeFile, &neg)
	if len(neg.ThreatMatrix) != len(ThreatMatrix) || neg.Counts.Failed != 0 || neg.Counts.Total == 0 {
		t.Errorf("negative report: %d rows, counts %+v", len(neg.ThreatMatrix), neg.Counts)
	}
	if len(neg.AttackCases) != 1 || neg.AttackCases[0].Expected != "STALE_EPOCH" || neg.AttackCases[0].Observed != "STALE_EPOCH" {
		t.Errorf("attack cases: %+v, want the one logged by TestChainingChecks", neg.AttackCases)
	}
	var rec RecoveryReport
	f.read(t, RecoveryFile, &rec)
	if rec.Drills.Counts.Passed != 2 || rec.Drills.Drills[1].Measurements["revoke_to_refused_ms"] != 42 {
		t.Errorf("recovery drills: %+v", rec.Drills)
	}
	log, err := os.ReadFile(filepath.Join(f.out, AuditFile))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"index=1 ", "index=3 ", "kind=update.accepted", "verify: ok records=3", "tamper-check: an edited copy was refused", "status: pass"} {
		if !strings.Contains(string(log), want) {
			t.Errorf("audit integrity log: want %q in\n%s", want, log)
		}
	}
}

// TestABrokenThreatTestMakesTheArtifactsFail breaks the forged-signature
// row of the engine's threat matrix — the forged update is accepted and
// the test fails — and checks the artifacts say so.
func TestABrokenThreatTestMakesTheArtifactsFail(t *testing.T) {
	broken := map[string]func(s *stream, pkg, name string){
		"TestThreatMatrix/1_forged_signature": func(s *stream, pkg, name string) {
			s.test(pkg, name, Fail, CaseResult{Expected: "BAD_SIGNATURE", Observed: ""})
		},
		"pkg:" + pkgMembership: func(*stream, string, string) {},
	}
	f := newFixture(t, fullRun(broken), allDrillsPass)
	got := f.run(t)
	if got[NegativeFile] != Fail || got[ConformanceFile] != Fail {
		t.Fatalf("statuses: %v, want the negative and conformance reports to fail", got)
	}
	var neg NegativeReport
	f.read(t, NegativeFile, &neg)
	row := neg.ThreatMatrix[0]
	if row.Status != Fail || row.Counts.Failed != 1 {
		t.Fatalf("row 1: %+v", row)
	}
	c := row.Cases[0]
	if c.Expected != "BAD_SIGNATURE" || c.Observed != "-" || c.Status != Fail || !strings.Contains(c.Failure, "want BAD_SIGNATURE") {
		t.Errorf("the broken case: %+v, want expected BAD_SIGNATURE, observed nothing, failed with why", c)
	}
	for _, r := range neg.ThreatMatrix[1:] {
		if r.Status != Pass {
			t.Errorf("row %d: %s, want pass (only row 1 is broken)", r.Row, r.Status)
		}
	}
	var conf ConformanceReport
	f.read(t, ConformanceFile, &conf)
	if conf.Packages[pkgMembership] != Fail {
		t.Errorf("conformance packages: %v", conf.Packages)
	}
}

// TestMissingTestsAndDrillsFail: whatever is missing, skipped or wrong
// makes the report that needs it say fail, and only that one.
func TestMissingTestsAndDrillsFail(t *testing.T) {
	tests := []struct {
		name   string
		broken map[string]func(s *stream, pkg, name string)
		drills map[string]string
		want   map[string]string
	}{
		{"an end-to-end threat test did not run", map[string]func(*stream, string, string){
			"TestForkSameOutcomeInEveryOrder": func(*stream, string, string) {},
		}, allDrillsPass, map[string]string{NegativeFile: Fail}},
		{"a threat test was skipped", map[string]func(*stream, string, string){
			"TestRevokedNodeIsCutOff": func(s *stream, pkg, name string) { s.test(pkg, name, Skip) },
		}, allDrillsPass, map[string]string{NegativeFile: Fail}},
		{"a logged case observed another code", map[string]func(*stream, string, string){
			"TestThreatMatrix/8_time_skew": func(s *stream, pkg, name string) {
				s.test(pkg, name, Pass, CaseResult{Expected: "NOT_YET_VALID", Observed: "EXPIRED"})
			},
		}, allDrillsPass, map[string]string{NegativeFile: Fail}},
		{"a restore test failed", map[string]func(*stream, string, string){
			"TestRestoreRecovers": func(s *stream, pkg, name string) { s.test(pkg, name, Fail) },
		}, allDrillsPass, map[string]string{RecoveryFile: Fail}},
		{"a drill failed", nil, map[string]string{"emergency-revocation": Pass, "backup-and-restore": Fail},
			map[string]string{RecoveryFile: Fail}},
		{"a runbook without a drill", nil, map[string]string{"emergency-revocation": Pass},
			map[string]string{RecoveryFile: Fail}},
		{"no drill kept an audit trail", nil, map[string]string{"backup-and-restore": Pass},
			map[string]string{RecoveryFile: Fail, AuditFile: Fail}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := newFixture(t, fullRun(tt.broken), tt.drills).run(t)
			for file, status := range got {
				want := tt.want[file]
				if want == "" {
					want = Pass
				}
				if status != want {
					t.Errorf("%s: got %s, want %s", file, status, want)
				}
			}
		})
	}
}

func TestATamperedAuditChainFails(t *testing.T) {
	f := newFixture(t, fullRun(nil), allDrillsPass)
	seg := filepath.Join(f.drills, "emergency-revocation", "audit", "n1", "audit-00000001.jsonl")
	b, err := os.ReadFile(seg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(seg, []byte(strings.Replace(string(b), `"target":"n3"`, `"target":"n4"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := f.run(t)[AuditFile]; got != Fail {
		t.Errorf("audit integrity over a tampered chain: got %s, want fail", got)
	}
}

func TestATestThatNeverFinishedFails(t *testing.T) {
	rs := NewResults()
	for _, e := range []Event{
		{Action: "run", Package: "p", Test: "TestA"},
		{Action: "output", Package: "p", Test: "TestA", Output: "panic: boom\n"},
		{Action: "fail", Package: "p"},
	} {
		rs.Add(e)
	}
	tests := rs.Tests()
	if len(tests) != 1 || tests[0].Status != Fail || tests[0].Failure() != "panic: boom" || rs.Package("p") != Fail {
		t.Errorf("got %+v (package %s), want TestA failed with the panic", tests[0], rs.Package("p"))
	}
	rs.Add(Event{Action: "build-fail", ImportPath: "q [q.test]"})
	if rs.Package("q") != Fail {
		t.Errorf("a package whose test build failed: got %q, want fail", rs.Package("q"))
	}
}

func TestCaseLogsWhatTheParserReads(t *testing.T) {
	var got []string
	Case(logf(func(format string, args ...any) { got = append(got, fmt.Sprintf(format, args...)) }), "forged", "BAD_SIGNATURE", "")
	c, ok := parseCase("    helpers_test.go:9: " + got[0] + "\n")
	if !ok || c != (CaseResult{What: "forged", Expected: "BAD_SIGNATURE"}) {
		t.Errorf("parsed %+v %v from %q", c, ok, got)
	}
}

type logf func(format string, args ...any)

func (f logf) Helper()                         {}
func (f logf) Logf(format string, args ...any) { f(format, args...) }
