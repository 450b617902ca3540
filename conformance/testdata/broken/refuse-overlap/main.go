// Command refuse-overlap is a deliberately broken backend plugin for the
// conformance suite's own tests: the netstack backend, except that
// ApplyPeers keeps the contract's old rule and refuses, as
// INVALID_ARGUMENT, a change after which allowed IPs of two peers overlap
// (which exits and subnet routers need: the longest match wins).
package main

import (
	"context"
	"net/netip"
	"slices"

	"github.com/rustynet/rustynet/hostapi"
	netstack "github.com/rustynet/rustynet/plugins/backend-netstack"
)

type backend struct{ *netstack.Backend }

func (b backend) ApplyPeers(ctx context.Context, c hostapi.PeerChanges) error {
	st, err := b.Backend.State(ctx)
	if err != nil {
		return err
	}
	// The resulting set: present peers not removed or upserted, then the
	// upserts.
	result := map[hostapi.Key][]netip.Prefix{}
	for _, p := range st.Peers {
		if !slices.Contains(c.Remove, p.PublicKey) {
			result[p.PublicKey] = p.AllowedIPs
		}
	}
	for _, p := range c.Upsert {
		result[p.PublicKey] = p.AllowedIPs
	}
	for k, ips := range result {
		for l, others := range result {
			if k == l {
				continue
			}
			for _, a := range ips {
				for _, o := range others {
					if a.Overlaps(o) {
						return hostapi.Errorf(hostapi.CodeInvalidArgument, "allowed IP %s of peer %s overlaps %s of peer %s", a, k, o, l)
					}
				}
			}
		}
	}
	return b.Backend.ApplyPeers(ctx, c)
}

func main() { hostapi.ServeBackend(backend{Backend: netstack.New(hostapi.PluginLogger())}) }
