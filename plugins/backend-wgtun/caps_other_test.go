//go:build !linux

package wgtun

import "github.com/rustynet/rustynet/hostapi"

// gatewayCode is what validateConfig says to a valid gateway here.
const gatewayCode = hostapi.CodeUnsupported
