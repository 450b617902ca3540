package membership

import (
	"errors"
	"fmt"
)

// Code is a stable error code. The CLI prints it first (`error: CODE: …`),
// tests assert it, and its spelling never changes.
type Code string

// The stable codes of SPEC §3.
const (
	ThresholdNotMet     Code = "THRESHOLD_NOT_MET"
	DuplicateSigner     Code = "DUPLICATE_SIGNER"
	UnknownSigner       Code = "UNKNOWN_SIGNER"
	BadSignature        Code = "BAD_SIGNATURE"
	WrongPrevRoot       Code = "WRONG_PREV_ROOT"
	WrongNewRoot        Code = "WRONG_NEW_ROOT"
	StaleEpoch          Code = "STALE_EPOCH"
	FutureEpoch         Code = "FUTURE_EPOCH"
	ReplayedUpdate      Code = "REPLAYED_UPDATE"
	Expired             Code = "EXPIRED"
	NotYetValid         Code = "NOT_YET_VALID"
	WrongNetwork        Code = "WRONG_NETWORK"
	UnknownSchema       Code = "UNKNOWN_SCHEMA"
	NonCanonical        Code = "NON_CANONICAL"
	IllegalOperation    Code = "ILLEGAL_OPERATION"
	OwnerRequired       Code = "OWNER_REQUIRED"
	NewApproverMustSign Code = "NEW_APPROVER_MUST_SIGN"
	BadThreshold        Code = "BAD_THRESHOLD"
	LimitExceeded       Code = "LIMIT_EXCEEDED"
	IntegrityFailure    Code = "INTEGRITY_FAILURE"
	RestrictedMode      Code = "RESTRICTED_MODE"
	// Forked: the node holds evidence of an equivocation (two quorum-signed
	// updates extending the same state) and accepts no update until the
	// fork is resolved (docs/forks.md).
	Forked Code = "FORKED"
)

// Error is a verification failure with a stable Code. Use errors.Is with the
// sentinels below (ErrThresholdNotMet, …) or CodeOf.
type Error struct {
	Code Code
	Msg  string
}

func (e *Error) Error() string { return string(e.Code) + ": " + e.Msg }

// Is reports whether target is an *Error with the same Code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Code == e.Code
}

func errorf(c Code, format string, args ...any) error {
	return &Error{Code: c, Msg: fmt.Sprintf(format, args...)}
}

// CodeOf returns the Code of err, or "" if err carries none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// Sentinels for errors.Is; each matches any *Error with its code.
var (
	ErrThresholdNotMet     = &Error{Code: ThresholdNotMet}
	ErrDuplicateSigner     = &Error{Code: DuplicateSigner}
	ErrUnknownSigner       = &Error{Code: UnknownSigner}
	ErrBadSignature        = &Error{Code: BadSignature}
	ErrWrongPrevRoot       = &Error{Code: WrongPrevRoot}
	ErrWrongNewRoot        = &Error{Code: WrongNewRoot}
	ErrStaleEpoch          = &Error{Code: StaleEpoch}
	ErrFutureEpoch         = &Error{Code: FutureEpoch}
	ErrReplayedUpdate      = &Error{Code: ReplayedUpdate}
	ErrExpired             = &Error{Code: Expired}
	ErrNotYetValid         = &Error{Code: NotYetValid}
	ErrWrongNetwork        = &Error{Code: WrongNetwork}
	ErrUnknownSchema       = &Error{Code: UnknownSchema}
	ErrNonCanonical        = &Error{Code: NonCanonical}
	ErrIllegalOperation    = &Error{Code: IllegalOperation}
	ErrOwnerRequired       = &Error{Code: OwnerRequired}
	ErrNewApproverMustSign = &Error{Code: NewApproverMustSign}
	ErrBadThreshold        = &Error{Code: BadThreshold}
	ErrLimitExceeded       = &Error{Code: LimitExceeded}
	ErrIntegrityFailure    = &Error{Code: IntegrityFailure}
	ErrRestrictedMode      = &Error{Code: RestrictedMode}
	ErrForked              = &Error{Code: Forked}
)

// prefixErr returns err with its message prefixed, keeping its code.
func prefixErr(err error, format string, args ...any) error {
	var e *Error
	if errors.As(err, &e) {
		return &Error{Code: e.Code, Msg: fmt.Sprintf(format, args...) + e.Msg}
	}
	return fmt.Errorf(format+"%w", append(args, err)...)
}
