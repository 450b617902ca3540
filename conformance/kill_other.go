//go:build !unix

package conformance

import "errors"

// canKill reports whether the suite can SIGKILL a plugin process here.
const canKill = false

var errNoSignals = errors.New("signals are not supported on this platform")

func sigkill(int) error { return errNoSignals }

func sigterm(int) error { return errNoSignals }
