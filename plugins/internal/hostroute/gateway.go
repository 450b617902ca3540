package hostroute

import (
	"net/netip"
	"slices"

	"github.com/rustynet/rustynet/hostapi"
)

// SameGateway reports whether a and b forward the same: both nil, or the
// same prefixes in any order and the same Masquerade.
func SameGateway(a, b *hostapi.GatewayConfig) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Masquerade != b.Masquerade || len(a.Prefixes) != len(b.Prefixes) {
		return false
	}
	x, y := slices.Clone(a.Prefixes), slices.Clone(b.Prefixes)
	slices.SortFunc(x, netip.Prefix.Compare)
	slices.SortFunc(y, netip.Prefix.Compare)
	return slices.Equal(x, y)
}

// CloneGateway returns a copy of g that shares nothing with it.
func CloneGateway(g *hostapi.GatewayConfig) *hostapi.GatewayConfig {
	if g == nil {
		return nil
	}
	return &hostapi.GatewayConfig{Prefixes: slices.Clone(g.Prefixes), Masquerade: g.Masquerade}
}
