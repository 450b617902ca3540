package ledger

import (
	"fmt"

	"github.com/rustynet/rustynet/core/membership"
)

// integrityf returns an INTEGRITY_FAILURE error.
func integrityf(format string, args ...any) error {
	return &membership.Error{Code: membership.IntegrityFailure, Msg: fmt.Sprintf(format, args...)}
}

// restrictedf returns a RESTRICTED_MODE error.
func restrictedf(format string, args ...any) error {
	return &membership.Error{Code: membership.RestrictedMode, Msg: fmt.Sprintf(format, args...)}
}
