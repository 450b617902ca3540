package hostapi_test

import "github.com/rustynet/rustynet/hostapi"

func disableParentDeathSignal() { hostapi.DisableParentDeathSignal() }
