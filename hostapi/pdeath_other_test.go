//go:build !linux

package hostapi_test

// disableParentDeathSignal does nothing: only Linux has the signal.
func disableParentDeathSignal() {}
