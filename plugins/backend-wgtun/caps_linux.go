package wgtun

import "github.com/rustynet/rustynet/hostapi"

// capabilities are what this backend supports on Linux, where
// plugins/internal/hostroute carries default routes and gateways.
const capabilities = hostapi.BackendCapPeerStats | hostapi.BackendCapRoutes | hostapi.BackendCapUAPI | hostapi.BackendCapGateway
