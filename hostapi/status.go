package hostapi

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// ErrorDomain is the google.rpc.ErrorInfo domain of errors that cross the
// plugin boundary. The ErrorInfo reason is the Code's name (e.g.
// "NOT_FOUND") and its metadata key "code" holds the Code's number, so a
// plugin written in another language can produce and read the same errors.
const ErrorDomain = "rustynet.plugin"

// grpcCodes is the gRPC status code each Code travels with. The code itself
// rides in the ErrorInfo detail; the status code only helps generic gRPC
// tooling.
var grpcCodes = map[Code]codes.Code{
	CodeInvalidArgument: codes.InvalidArgument,
	CodeNotFound:        codes.NotFound,
	CodeConflict:        codes.FailedPrecondition,
	CodeLocked:          codes.Aborted,
	CodePermission:      codes.PermissionDenied,
	CodeUnsupported:     codes.Unimplemented,
	CodeUnavailable:     codes.Unavailable,
	CodeCorrupt:         codes.DataLoss,
	CodeClosed:          codes.FailedPrecondition,
	CodeInternal:        codes.Internal,
}

// toStatus turns an error returned by a plugin's implementation into the
// gRPC status error that carries it to the host. An error without a Code
// travels as CodeInternal; context errors travel as gRPC Canceled and
// DeadlineExceeded.
func toStatus(err error) error {
	if err == nil {
		return nil
	}
	switch {
	case errors.Is(err, context.Canceled):
		return status.Error(codes.Canceled, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		return status.Error(codes.DeadlineExceeded, err.Error())
	}
	code, msg := CodeInternal, err.Error()
	var e *Error
	if errors.As(err, &e) && e.Code != CodeOK {
		code, msg = e.Code, messageOf(err, e)
	}
	gc, ok := grpcCodes[code]
	if !ok {
		gc = codes.Unknown
	}
	st, derr := status.New(gc, msg).WithDetails(&errdetails.ErrorInfo{
		Reason:   code.String(),
		Domain:   ErrorDomain,
		Metadata: map[string]string{"code": strconv.FormatUint(uint64(code), 10)},
	})
	if derr != nil {
		return status.Error(codes.Internal, msg)
	}
	return st.Err()
}

// messageOf returns the message that travels with err, whose chain holds e:
// e's own message when err is e, else err's text with e's "CODE: " prefix
// removed, so that the host's *Error does not repeat the code.
func messageOf(err error, e *Error) string {
	full := err.Error()
	if full == e.Error() {
		return e.Msg
	}
	if e.Msg == "" {
		return strings.TrimSuffix(strings.Replace(full, e.Error(), "", 1), ": ")
	}
	return strings.Replace(full, e.Error(), e.Msg, 1)
}

// unknownMethod reports whether err is gRPC's answer to a method the
// plugin's service does not have (UNIMPLEMENTED without the ErrorInfo a
// plugin's own ErrUnsupported carries): a plugin built before the method.
func unknownMethod(err error) bool {
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.Unimplemented {
		return false
	}
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok && info.GetDomain() == ErrorDomain {
			return false
		}
	}
	return true
}

// fromStatus turns the error of a gRPC call made with ctx into what the
// host sees: the plugin's *Error with its Code and message when the status
// carries one; ctx's error when ctx is done; otherwise an *Error classifying
// the transport failure (CodeUnavailable when the plugin cannot be reached
// or died). kind names the plugin kind for messages.
func fromStatus(ctx context.Context, kind string, err error) error {
	if err == nil {
		return nil
	}
	st, _ := status.FromError(err)
	for _, d := range st.Details() {
		info, ok := d.(*errdetails.ErrorInfo)
		if !ok || info.GetDomain() != ErrorDomain {
			continue
		}
		return &Error{Code: codeFromErrorInfo(info), Msg: st.Message()}
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return ctxErr
	}
	switch st.Code() {
	case codes.Unavailable, codes.Canceled, codes.DeadlineExceeded:
		return Errorf(CodeUnavailable, "%s plugin unreachable: %s", kind, st.Message())
	case codes.Unimplemented:
		return Errorf(CodeUnsupported, "%s plugin does not implement this call: %s", kind, st.Message())
	case codes.ResourceExhausted:
		return Errorf(CodeInvalidArgument, "%s plugin call exceeds transport limits: %s", kind, st.Message())
	default:
		return Errorf(CodeInternal, "%s plugin call failed (%s): %s", kind, st.Code(), st.Message())
	}
}

// codeFromErrorInfo reads the Code of an ErrorInfo: by name, else by the
// number in its metadata (a code newer than this host), else CodeInternal.
func codeFromErrorInfo(info *errdetails.ErrorInfo) Code {
	if c, ok := codesByName()[info.GetReason()]; ok {
		return c
	}
	if n, err := strconv.ParseUint(info.GetMetadata()["code"], 10, 32); err == nil && n != uint64(CodeOK) {
		return Code(n)
	}
	return CodeInternal
}

// codesByName maps every named Code except CodeOK to its name. It is built
// from Code.String so that codes added to the contract are found too.
var codesByName = sync.OnceValue(func() map[string]Code {
	m := make(map[string]Code)
	for c := Code(1); c < 256; c++ {
		if name := c.String(); !strings.HasPrefix(name, "CODE_") {
			m[name] = c
		}
	}
	return m
})
