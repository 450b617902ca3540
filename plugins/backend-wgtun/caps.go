//go:build darwin || windows

package wgtun

import "github.com/rustynet/rustynet/hostapi"

// capabilities are what this backend supports on this platform: the
// packet filter, which is wireguard-go's side of the TUN device and so the
// same everywhere, but no gateway, and no default route (ApplyRoutes
// refuses one), because only the Linux side keeps the tunnel's own packets
// out of it and guards forwarding.
const capabilities = hostapi.BackendCapPeerStats | hostapi.BackendCapRoutes | hostapi.BackendCapUAPI | hostapi.BackendCapPacketFilter
