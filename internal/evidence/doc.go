// Package evidence turns real test results into the evidence a release
// carries (SPEC §12): it reads `go test -json` streams, the JSON evidence
// the operational drills write (Drill), and an audit trail, and builds the
// membership artifacts under artifacts/membership/ — never by hand, each
// with "status": "pass" or "fail" and the counts and names behind it.
//
// Tests that check a refusal say what they expected and what they observed
// with Case, which logs one structured line (CaseMarker followed by JSON);
// `go test -json` carries it in an output event of that test, and
// ReadGoTest attaches it to the test. Everything else is decided from the
// tests' own pass/fail events: a test that failed, a package that did not
// build or crashed, or a test that never ran but is named in a suite or in
// the threat matrix (missing), makes its report say fail.
//
// scripts/evidence is the command scripts/test.sh runs.
package evidence
