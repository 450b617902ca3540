package controlapi

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

// Codes of failures that are not verification rejections (those carry
// membership codes).
const (
	CodeUsage       = "USAGE"       // the request is malformed or too large
	CodeForbidden   = "FORBIDDEN"   // the client may not use the API
	CodeUnavailable = "UNAVAILABLE" // the daemon cannot serve the request now (a plugin is restarting or broken, it is busy, or the request timed out); retry later
	CodeInternal    = "INTERNAL"
)

// Error is a control API failure other than a verification rejection. A
// Handler may return one to choose the code; Client returns one for every
// failure the server reports without a membership code.
type Error struct {
	Code    string // one of the Code constants, or a code from a newer server
	Message string
	// Status is the HTTP status: set by Client; on the server, 0 derives it
	// from Code.
	Status int
}

// Error returns "CODE: message".
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Is reports whether target is an *Error with the same Code, so that
// errors.Is(err, ErrUsage) holds for every USAGE error.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

// Sentinels for errors.Is.
var (
	ErrUsage       = &Error{Code: CodeUsage}
	ErrForbidden   = &Error{Code: CodeForbidden}
	ErrUnavailable = &Error{Code: CodeUnavailable}
	ErrInternal    = &Error{Code: CodeInternal}
)

// Errorf returns an *Error with code and a formatted message.
func Errorf(code, format string, args ...any) error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// wireError is the JSON body of every failure.
type wireError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// toWire maps a Handler's error to its HTTP status and body.
func toWire(err error) (int, wireError) {
	var me *membership.Error
	if errors.As(err, &me) {
		return http.StatusUnprocessableEntity, wireError{Code: string(me.Code), Message: me.Msg}
	}
	var e *Error
	if errors.As(err, &e) {
		status := e.Status
		if status == 0 {
			status = statusOf(e.Code)
		}
		return status, wireError{Code: e.Code, Message: e.Message}
	}
	switch code := hostapi.CodeOf(err); code {
	case hostapi.CodeUnavailable, hostapi.CodeClosed:
		// A plugin is restarting, broken (its breaker open) or closing:
		// the same request may well succeed later. The code leads the
		// reply; its repetition inside the message is dropped.
		msg := err.Error()
		if code == hostapi.CodeUnavailable {
			msg = strings.Replace(msg, code.String()+": ", "", 1)
		}
		return http.StatusServiceUnavailable, wireError{Code: CodeUnavailable, Message: msg}
	}
	return http.StatusInternalServerError, wireError{Code: CodeInternal, Message: err.Error()}
}

func statusOf(code string) int {
	switch code {
	case CodeUsage:
		return http.StatusBadRequest
	case CodeForbidden:
		return http.StatusForbidden
	case CodeUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// fromWire rebuilds the error a server reported.
func fromWire(status int, w wireError) error {
	if status == http.StatusUnprocessableEntity && w.Code != "" {
		return &membership.Error{Code: membership.Code(w.Code), Msg: w.Message}
	}
	if w.Code == "" {
		w.Code = CodeInternal
	}
	return &Error{Code: w.Code, Message: w.Message, Status: status}
}
