package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

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
)

// Codes of the daemon's refusals and transient failures.
const (
	codeForbidden   = controlapi.CodeForbidden   // the daemon does not admit this user (exit 1)
	codeUnavailable = controlapi.CodeUnavailable // the daemon or a plugin cannot serve this now (exit 3): retry
)

// retryHint is the second line of every UNAVAILABLE error.
const retryHint = "hint: this is temporary (a plugin is restarting or broken, or the daemon is busy); " +
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

// storeError reports an error met while using a store plugin, or the
// ledger kept in it, after prefix. A trust-engine error keeps its code and
// exits 1. An error from the plugin contract carries its stable code
// (LOCKED, UNAVAILABLE, PERMISSION, ...): a plugin or state directory
// unusable as the user named it (INVALID_ARGUMENT, NOT_FOUND, PERMISSION,
// UNSUPPORTED) exits 2, anything else 3. Other errors are I/O errors; an
// error already classified for the CLI is returned as it is.
func storeError(prefix string, err error) error {
	var ce *cliError
	if errors.As(err, &ce) {
		return err // already reported as the CLI reports it
	}
	var me *membership.Error
	if errors.As(err, &me) {
		return rejected(prefix, err)
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return ioErrorf("%sinterrupted: %v", prefix, err)
	}
	var he *hostapi.Error
	if !errors.As(err, &he) {
		return ioErrorf("%s%v", prefix, err)
	}
	exit := exitIO
	switch he.Code {
	case hostapi.CodeInvalidArgument, hostapi.CodeNotFound, hostapi.CodePermission, hostapi.CodeUnsupported:
		exit = exitUsage
	}
	// The code leads the line; drop its repetition inside the message.
	msg := strings.Replace(err.Error(), he.Code.String()+": ", "", 1)
	if he.Code == hostapi.CodeUnavailable {
		return unavailablef("%s%s", prefix, msg)
	}
	return &cliError{code: he.Code.String(), exit: exit, msg: prefix + msg}
}

// daemonError reports a failure of the daemon's control API, after what
// (the request): the daemon's verification verdicts keep their codes and
// exit 1, and so does FORBIDDEN (the daemon does not admit this user; the
// message says who it admits); UNAVAILABLE (a plugin is restarting or
// broken, the daemon is busy or timed out) exits 3 and says to retry; a
// request the daemon finds malformed (USAGE) exits 2; anything else —
// including a daemon that does not answer — is an I/O error (exit 3).
func daemonError(what string, err error) error {
	if membership.CodeOf(err) != "" {
		return rejected(what+": ", err)
	}
	var ce *controlapi.Error
	if !errors.As(err, &ce) {
		return ioErrorf("%s: %v", what, err)
	}
	switch ce.Code {
	case controlapi.CodeForbidden:
		return &cliError{code: codeForbidden, exit: exitRejected, msg: what + ": " + ce.Message}
	case controlapi.CodeUnavailable:
		return unavailablef("%s: %s", what, ce.Message)
	case controlapi.CodeUsage:
		return usageErrorf("%s: %s", what, ce.Message)
	case controlapi.CodeInternal:
		return internalErrorf("%s: %s", what, ce.Message)
	default: // a code from a newer daemon
		return &cliError{code: ce.Code, exit: exitIO, msg: what + ": " + ce.Message}
	}
}
