package main

import (
	"errors"
	"fmt"

	"github.com/rustynet/rustynet/core/membership"
)

// Exit statuses (SPEC §8).
const (
	exitOK       = 0
	exitRejected = 1 // the trust engine refused the input
	exitUsage    = 2 // bad flags, arguments or input files
	exitIO       = 3 // I/O or internal failure
)

// The CLI's own error codes, printed where the engine's codes would be.
const (
	codeUsage    = "USAGE"
	codeIO       = "IO"
	codeInternal = "INTERNAL"
)

// cliError is an error with the code and exit status the CLI reports for it.
type cliError struct {
	code string // a membership.Code or one of codeUsage, codeIO, codeInternal
	exit int
	msg  string
	hint string // optional second line, e.g. where to find usage
}

func (e *cliError) Error() string { return e.code + ": " + e.msg }

// usageErrorf reports a usage or input error (exit 2).
func usageErrorf(format string, args ...any) error {
	return &cliError{code: codeUsage, exit: exitUsage, msg: fmt.Sprintf(format, args...)}
}

// ioErrorf reports an I/O failure (exit 3).
func ioErrorf(format string, args ...any) error {
	return &cliError{code: codeIO, exit: exitIO, msg: fmt.Sprintf(format, args...)}
}

// internalErrorf reports a failure that is nobody's input's fault (exit 3).
func internalErrorf(format string, args ...any) error {
	return &cliError{code: codeInternal, exit: exitIO, msg: fmt.Sprintf(format, args...)}
}

// rejected turns an error of the trust engine into the CLI's report of it:
// the engine's code, exit 1, and its message after prefix (which may be
// empty). An error without an engine code is internal.
func rejected(prefix string, err error) error {
	var me *membership.Error
	if errors.As(err, &me) {
		return &cliError{code: string(me.Code), exit: exitRejected, msg: prefix + me.Msg}
	}
	return internalErrorf("%s%v", prefix, err)
}

// asCLIError classifies any error a command returned.
func asCLIError(err error) *cliError {
	var ce *cliError
	if errors.As(err, &ce) {
		return ce
	}
	ce, _ = rejected("", err).(*cliError)
	return ce
}
