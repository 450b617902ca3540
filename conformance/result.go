package conformance

import (
	"errors"
	"fmt"
	"time"
)

// Status is the outcome of one case.
type Status string

// Outcomes.
const (
	StatusPass Status = "pass"
	StatusFail Status = "fail"
	StatusSkip Status = "skip"
)

// Result is the outcome of one case run.
type Result struct {
	ID       string
	Level    Level
	Rule     string
	Status   Status
	Message  string        // why it failed or was skipped; empty on a pass
	Log      []string      // lines the case logged through Env.Logf
	Duration time.Duration // wall time of the case, cleanups included
}

// skipError is the error a case returns to be skipped.
type skipError struct{ reason string }

func (e *skipError) Error() string { return "skipped: " + e.reason }

// Skip returns an error that makes the engine skip the case with reason.
// Use it only when a prerequisite outside the plugin is missing here (no
// root, no namespaces); a plugin that misbehaves fails, it is not skipped.
func Skip(reason string) error { return &skipError{reason: reason} }

// Skipf is Skip with a formatted reason.
func Skipf(format string, args ...any) error { return Skip(fmt.Sprintf(format, args...)) }

// IsSkip reports whether err, or an error it wraps, was made by Skip.
func IsSkip(err error) bool {
	var s *skipError
	return errors.As(err, &s)
}

// skipReason returns the reason of a skip error in err's chain.
func skipReason(err error) string {
	var s *skipError
	if errors.As(err, &s) {
		return s.reason
	}
	return ""
}
