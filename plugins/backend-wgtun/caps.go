//go:build linux || darwin || windows

package wgtun

import "github.com/rustynet/rustynet/hostapi"

// capabilities are what this backend supports on this platform.
const capabilities = hostapi.BackendCapPeerStats | hostapi.BackendCapRoutes | hostapi.BackendCapUAPI
