package hostapi

import (
	"errors"
	"fmt"
)

// Code is a stable error code that crosses the plugin process boundary. Codes
// are part of the contract: their names and numbers never change meaning.
type Code uint32

// The error codes. CodeOK is never carried by an *Error.
const (
	CodeOK              Code = 0
	CodeInvalidArgument Code = 1 // the request is malformed; nothing changed
	CodeNotFound        Code = 2 // the requested item does not exist
	CodeConflict        Code = 3 // the request contradicts stored state (e.g. an append at the wrong index)
	CodeLocked          Code = 4 // another process holds the resource
	CodePermission      Code = 5 // file modes or privileges are wrong or insufficient
	CodeUnsupported     Code = 6 // the plugin lacks the capability, or the platform does
	CodeUnavailable     Code = 7 // transient; the call may be retried
	CodeCorrupt         Code = 8 // stored data is unreadable
	CodeClosed          Code = 9 // the plugin was closed or not yet opened/configured
	CodeInternal        Code = 10
)

var codeNames = map[Code]string{
	CodeOK:              "OK",
	CodeInvalidArgument: "INVALID_ARGUMENT",
	CodeNotFound:        "NOT_FOUND",
	CodeConflict:        "CONFLICT",
	CodeLocked:          "LOCKED",
	CodePermission:      "PERMISSION",
	CodeUnsupported:     "UNSUPPORTED",
	CodeUnavailable:     "UNAVAILABLE",
	CodeCorrupt:         "CORRUPT",
	CodeClosed:          "CLOSED",
	CodeInternal:        "INTERNAL",
}

// String returns the code's stable name, e.g. "NOT_FOUND".
func (c Code) String() string {
	if s, ok := codeNames[c]; ok {
		return s
	}
	return fmt.Sprintf("CODE_%d", uint32(c))
}

// Error is an error with a stable Code. Errors returned by plugins reach the
// host as *Error with the same Code and message, so errors.Is against the
// sentinels below works on both sides of the boundary.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string {
	if e.Msg == "" {
		return e.Code.String()
	}
	return e.Code.String() + ": " + e.Msg
}

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, ErrNotFound) holds for any NOT_FOUND error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Errorf returns an *Error with code c and a formatted message.
func Errorf(c Code, format string, args ...any) error {
	return &Error{Code: c, Msg: fmt.Sprintf(format, args...)}
}

// Sentinels for errors.Is. Compare with errors.Is, never with ==.
var (
	ErrInvalidArgument = &Error{Code: CodeInvalidArgument}
	ErrNotFound        = &Error{Code: CodeNotFound}
	ErrConflict        = &Error{Code: CodeConflict}
	ErrLocked          = &Error{Code: CodeLocked}
	ErrPermission      = &Error{Code: CodePermission}
	ErrUnsupported     = &Error{Code: CodeUnsupported}
	ErrUnavailable     = &Error{Code: CodeUnavailable}
	ErrCorrupt         = &Error{Code: CodeCorrupt}
	ErrClosed          = &Error{Code: CodeClosed}
	ErrInternal        = &Error{Code: CodeInternal}
)

// CodeOf returns the Code carried by err, CodeOK for nil, and CodeInternal
// for an error that carries no code.
func CodeOf(err error) Code {
	if err == nil {
		return CodeOK
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// Message returns err's message without its code: the Msg of the *Error
// err carries, or err.Error() for an error that carries none, or "" for
// nil. It suits one problem reported among others under a code of its
// own.
func Message(err error) string {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Msg
	}
	return err.Error()
}
