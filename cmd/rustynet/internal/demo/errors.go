package demo

// Error is a failure Run attributes to a party other than the demo
// itself. Run's other errors are the demo's own.
type Error struct {
	Kind Kind
	What string // what the demo was doing, e.g. "n4 refused the update"
	Err  error  // the failure as that party reported it
}

// Kind says whose failure an Error is.
type Kind int

const (
	// TempDir: Run could not create its temporary directory; Err is what
	// os.MkdirTemp returned.
	TempDir Kind = iota + 1
	// Refused: the trust engine refused what the demo built itself (the
	// genesis, a proposal, an update on the demo's copy of the chain); Err
	// carries the engine's code (membership.CodeOf) when it has one.
	Refused
	// Daemon: a node's daemon refused or failed a control API request; Err
	// is what controlapi.Client returned (a verification verdict with the
	// engine's code, a *controlapi.Error, or a failure to reach it).
	Daemon
)

// Error returns "What: Err".
func (e *Error) Error() string { return e.What + ": " + e.Err.Error() }

// Unwrap returns Err.
func (e *Error) Unwrap() error { return e.Err }
