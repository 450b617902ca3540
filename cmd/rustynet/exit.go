package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"strings"
	"syscall"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

// Exit statuses (SPEC §8).
const (
	exitOK       = 0
	exitRejected = 1 // the trust engine refused the input, or the daemon refused this user (FORBIDDEN)
	exitUsage    = 2 // bad flags, arguments or input files
	exitIO       = 3 // I/O or internal failure; UNAVAILABLE: retry later
)

// The CLI's own error codes, printed where the engine's codes would be.
const (
	codeUsage    = "USAGE"
	codeIO       = "IO"
	codeInternal = "INTERNAL"
	// codePolicyFindings: policy check found what selects nothing (exit 1).
	codePolicyFindings = "POLICY_FINDINGS"
	// codePolicyDenied: policy test's connection is denied (exit 1).
	codePolicyDenied = "POLICY_DENIED"
	// codeWrongPassphrase: the passphrase does not open an encrypted
	// approver key — a wrong one, or a key file altered since it was
	// written (exit 2).
	codeWrongPassphrase = "WRONG_PASSPHRASE"
)

// Codes of the daemon's refusals and transient failures.
const (
	codeForbidden   = controlapi.CodeForbidden   // the daemon does not admit this user (exit 1)
	codeUnavailable = controlapi.CodeUnavailable // the daemon or a plugin cannot serve this now (exit 3): retry
)

// hintPrefix starts a hint line that says what to do next; a usage
// error's pointer to -h is the other kind of hint.
const hintPrefix = "hint: "

// retryHint is the second line of every UNAVAILABLE error.
const retryHint = hintPrefix + "this is temporary (a plugin is restarting or broken, or the daemon is busy); " +
	"retry in a moment — `rustynet status` shows what the node is waiting for"

// unavailablef reports a failure a retry may cure (exit 3, UNAVAILABLE).
func unavailablef(format string, args ...any) error {
	return &cliError{code: codeUnavailable, exit: exitIO, msg: fmt.Sprintf(format, args...), hint: retryHint}
}

// cliError is an error with the code and exit status the CLI reports for it.
type cliError struct {
	code string // a membership.Code or one of codeUsage, codeIO, codeInternal
	exit int
	msg  string
	hint string // optional second line, e.g. where to find usage or hintPrefix and the next step
}

func (e *cliError) Error() string { return e.code + ": " + e.msg }

// joinContext returns cause said while doing what: "what: cause", or cause
// alone if what is empty. Every message that puts what a command was doing
// (a file, a request, a step) before the reason it failed is built here,
// so no context runs into its cause (TestErrorCorpusReadsWell).
func joinContext(what, cause string) string {
	if what == "" {
		return cause
	}
	if observeContext != nil {
		observeContext(what)
	}
	return what + ": " + cause
}

// observeContext, when set (by tests only), sees every context given to
// joinContext, so a test can check that each one reached the user
// followed by ": ".
var observeContext func(what string)

// inContext returns err, classified as the CLI reports it, with its
// message said while doing what (joinContext); code, exit status and hint
// are kept.
func inContext(what string, err error) error {
	ce := asCLIError(err)
	return &cliError{code: ce.code, exit: ce.exit, msg: joinContext(what, ce.msg), hint: ce.hint}
}

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
// the engine's code, exit 1, and its message in the context what (which
// may be empty; see joinContext). An error without an engine code is
// internal.
func rejected(what string, err error) error {
	var me *membership.Error
	if errors.As(err, &me) {
		return &cliError{code: string(me.Code), exit: exitRejected, msg: joinContext(what, me.Msg)}
	}
	return internalErrorf("%s", joinContext(what, err.Error()))
}

// exitStatus ends the command with a status and no error line, for a
// command that has already reported its own verdict (conformance).
type exitStatus int

func (s exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(s)) }

// asCLIError classifies any error a command returned.
func asCLIError(err error) *cliError {
	var ce *cliError
	if errors.As(err, &ce) {
		return ce
	}
	ce, _ = rejected("", err).(*cliError)
	return ce
}

// lockedHint is the next step when a state directory is LOCKED.
const lockedHint = hintPrefix + "another process holds the state directory (a running daemon, or another command writing to it): " +
	"stop the daemon first, or work on a copy of the directory"

// storeError reports an error met while using a store plugin, or the
// ledger kept in it, in the context what (joinContext). A trust-engine
// error keeps its code and exits 1. An error from the plugin contract
// carries its stable code (LOCKED, UNAVAILABLE, PERMISSION, ...): a plugin
// or state directory unusable as the user named it (INVALID_ARGUMENT,
// NOT_FOUND, PERMISSION, UNSUPPORTED) exits 2, anything else 3; LOCKED
// says what to do about it. Other errors are I/O errors; an error already
// classified for the CLI is returned as it is.
func storeError(what string, err error) error {
	var ce *cliError
	if errors.As(err, &ce) {
		return err // already reported as the CLI reports it
	}
	var me *membership.Error
	if errors.As(err, &me) {
		return rejected(what, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ioErrorf("%s", joinContext(what, "interrupted: "+err.Error()))
	}
	var he *hostapi.Error
	if !errors.As(err, &he) {
		return ioErrorf("%s", joinContext(what, err.Error()))
	}
	exit := exitIO
	switch he.Code {
	case hostapi.CodeInvalidArgument, hostapi.CodeNotFound, hostapi.CodePermission, hostapi.CodeUnsupported:
		exit = exitUsage
	}
	msg := joinContext(what, withoutCode(err, he.Code))
	switch he.Code {
	case hostapi.CodeUnavailable:
		return unavailablef("%s", msg)
	case hostapi.CodeLocked:
		return &cliError{code: he.Code.String(), exit: exit, msg: msg, hint: lockedHint}
	}
	return &cliError{code: he.Code.String(), exit: exit, msg: msg}
}

// withoutCode returns err's message without the first "CODE: " of code
// in it: the code leads the CLI's error line already.
func withoutCode(err error, code hostapi.Code) string {
	return strings.Replace(err.Error(), code.String()+": ", "", 1)
}

// notRunningHint is the next step when no daemon answers on the socket.
const notRunningHint = hintPrefix + "is the daemon running? start it with `rustynet daemon --config FILE` or pass --socket"

// daemonError reports a failure of the daemon's control API in the context
// what (the request): the daemon's verification verdicts keep their codes
// and exit 1, and so does FORBIDDEN (the daemon does not admit this user;
// the message says who it admits); UNAVAILABLE (a plugin is restarting or
// broken, the daemon is busy or timed out) exits 3 and says to retry; a
// request the daemon finds malformed (USAGE) exits 2; anything else is an
// I/O error (exit 3). A daemon that cannot be reached is named by its
// socket, and one that is not there or refuses the connection gets the
// hint to start it.
func daemonError(what string, err error) error {
	if membership.CodeOf(err) != "" {
		return rejected(what, err)
	}
	var ce *controlapi.Error
	if !errors.As(err, &ce) {
		return unreachableDaemon(what, err)
	}
	msg := joinContext(what, ce.Message)
	switch ce.Code {
	case controlapi.CodeForbidden:
		return &cliError{code: codeForbidden, exit: exitRejected, msg: msg}
	case controlapi.CodeUnavailable:
		return unavailablef("%s", msg)
	case controlapi.CodeUsage:
		return usageErrorf("%s", msg)
	case controlapi.CodeInternal:
		return internalErrorf("%s", msg)
	default: // a code from a newer daemon
		return &cliError{code: ce.Code, exit: exitIO, msg: msg}
	}
}

// unreachableDaemon reports a control API request that got no answer (an
// I/O error): a connection that could not be made names the socket tried
// and why, without the HTTP request around it; with nothing listening
// there, the hint says to start the daemon.
func unreachableDaemon(what string, err error) error {
	ce := &cliError{code: codeIO, exit: exitIO, msg: joinContext(what, err.Error())}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Op == "dial" && oe.Addr != nil {
		reason := oe.Err
		var se *os.SyscallError
		if errors.As(reason, &se) {
			reason = se.Err
		}
		ce.msg = joinContext(what, fmt.Sprintf("cannot reach the daemon at %s: %v", oe.Addr, reason))
	}
	// Only a failed connection is a missing file or a refusal here (a
	// named pipe that does not exist is one too).
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
		ce.hint = notRunningHint
	}
	return ce
}
