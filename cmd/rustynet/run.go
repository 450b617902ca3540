package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// env is what a command runs with: its streams, its output mode, its clock
// and, once the dispatcher has chosen it, the command itself.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	json   bool             // machine-readable output (--json)
	now    func() time.Time // the only source of time
	notes  []string         // printed on stderr after any error line
	logs   logNotes         // plugin and ledger logs, printed after the notes

	cmd  *command // the leaf being run
	path string   // its full name, e.g. "rustynet membership init"
}

// run is the whole CLI: it runs the command named by args and returns the
// process exit status (exit.go). Every output goes to stdout or stderr.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, now: clock}
	err := rootCommand().execute(ctx, e, "", args)
	if errors.Is(err, errHelpShown) {
		err = nil
	}
	return e.finish(err)
}

// finish prints err (first, so its code leads stderr) and then the notes,
// and returns the exit status.
func (e *env) finish(err error) int {
	status := exitOK
	var quiet exitStatus
	if errors.As(err, &quiet) {
		status, err = int(quiet), nil
	}
	if err != nil {
		ce := asCLIError(err)
		fmt.Fprintf(e.stderr, "error: %s: %s\n", ce.code, ce.msg)
		if ce.hint != "" {
			fmt.Fprintln(e.stderr, ce.hint)
		}
		status = ce.exit
	}
	for _, n := range append(e.notes, e.logs.lines()...) {
		fmt.Fprintf(e.stderr, "note: %s\n", n)
	}
	return status
}

// notef queues a note for stderr.
func (e *env) notef(format string, args ...any) {
	e.notes = append(e.notes, fmt.Sprintf(format, args...))
}
