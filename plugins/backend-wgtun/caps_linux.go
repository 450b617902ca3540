package wgtun

import "github.com/rustynet/rustynet/hostapi"

// capabilities are what this backend supports on Linux, where
// plugins/internal/hostroute carries default routes and gateways; the
// packet filter is the userspace one, as on every platform.
const capabilities = hostapi.BackendCapPeerStats | hostapi.BackendCapRoutes | hostapi.BackendCapUAPI | hostapi.BackendCapGateway | hostapi.BackendCapPacketFilter
