package evidence

import (
	"encoding/json"
	"strings"
)

// CaseMarker starts the log line Case writes.
const CaseMarker = "rustynet-case: "

// CaseResult is one refusal a test checked: the code it expected and the
// code it observed ("" for none: the input was accepted).
type CaseResult struct {
	Expected string `json:"expected"`
	Observed string `json:"observed"`
	// What names the case within its test (optional).
	What string `json:"what,omitempty"`
}

// Logger is the part of testing.TB that Case uses.
type Logger interface {
	Helper()
	Logf(format string, args ...any)
}

// Case logs, for the evidence reports, that the test expected the code
// expected and observed the code observed. Call it before asserting, so a
// failing case is in the report too. what optionally names the case.
func Case(tb Logger, what, expected, observed string) {
	tb.Helper()
	b, _ := json.Marshal(CaseResult{Expected: expected, Observed: observed, What: what})
	tb.Logf("%s%s", CaseMarker, b)
}

// parseCase finds a CaseResult in one line of a test's output.
func parseCase(line string) (CaseResult, bool) {
	i := strings.Index(line, CaseMarker)
	if i < 0 {
		return CaseResult{}, false
	}
	var c CaseResult
	if err := json.Unmarshal([]byte(strings.TrimSpace(line[i+len(CaseMarker):])), &c); err != nil {
		return CaseResult{}, false
	}
	return c, true
}
