package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
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

	// describe, when set, asks the leaf for its flags instead of running
	// it: env.parse hands it the leaf's flag set and ends the leaf
	// (commandFlags; completion and the CLI reference use it).
	describe func(*flag.FlagSet)
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
// and returns the exit status. Under --json an error is one JSON object
// on stderr (jsonError) that carries the notes too.
func (e *env) finish(err error) int {
	status := exitOK
	var quiet exitStatus
	if errors.As(err, &quiet) {
		status, err = int(quiet), nil
	}
	notes := append(e.notes, e.logs.lines()...)
	if err != nil {
		ce := asCLIError(err)
		status = ce.exit
		if e.json {
			e.printJSONError(ce, notes)
			return status
		}
		fmt.Fprintf(e.stderr, "error: %s: %s\n", ce.code, ce.msg)
		if ce.hint != "" {
			fmt.Fprintln(e.stderr, ce.hint)
		}
	}
	for _, n := range notes {
		fmt.Fprintf(e.stderr, "note: %s\n", n)
	}
	return status
}

// jsonError is a command's error as --json prints it on stderr.
type jsonError struct {
	Code    string   `json:"code"`
	Message string   `json:"message"`
	Hint    string   `json:"hint"`            // the next step or where to find usage; "" if none
	Notes   []string `json:"notes,omitempty"` // what text output prints as note: lines
}

// printJSONError prints ce and notes as one jsonError on one line.
func (e *env) printJSONError(ce *cliError, notes []string) {
	enc := json.NewEncoder(e.stderr)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(jsonError{Code: ce.code, Message: ce.msg, Hint: strings.TrimPrefix(ce.hint, hintPrefix), Notes: notes}) // strings always encode
}

// notef queues a note for stderr.
func (e *env) notef(format string, args ...any) {
	e.notes = append(e.notes, fmt.Sprintf(format, args...))
}
