package conformance

import (
	"context"
	"fmt"
	"net/netip"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// invalidChange is one peer change the contract says must fail with
// INVALID_ARGUMENT, built against the peers already present.
type invalidChange struct {
	name string
	rule string
	make func(present []hostapi.PeerConfig) hostapi.PeerChanges
}

var invalidChanges = []invalidChange{
	{
		name: "zero-key",
		rule: "a peer with the zero public key",
		make: func([]hostapi.PeerConfig) hostapi.PeerChanges {
			p := newIdentity(meshAddr(20)).peer(netip.AddrPort{})
			p.PublicKey = hostapi.Key{}
			return hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p}}
		},
	},
	{
		name: "duplicate-key",
		rule: "the same public key twice in one change",
		make: func([]hostapi.PeerConfig) hostapi.PeerChanges {
			p := newIdentity(meshAddr(21)).peer(netip.AddrPort{})
			q := p
			q.AllowedIPs = []netip.Prefix{netip.PrefixFrom(meshAddr(22), 32)}
			return hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p, q}}
		},
	},
	{
		name: "overlap-in-change",
		rule: "two new peers whose allowed IPs overlap",
		make: func([]hostapi.PeerConfig) hostapi.PeerChanges {
			p := newIdentity(meshAddr(23)).peer(netip.AddrPort{})
			q := newIdentity(meshAddr(24)).peer(netip.AddrPort{})
			q.AllowedIPs = []netip.Prefix{netip.MustParsePrefix("100.64.0.0/24")}
			return hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p, q}}
		},
	},
	{
		name: "overlap-with-present",
		rule: "a new peer whose allowed IPs overlap a present peer's",
		make: func(present []hostapi.PeerConfig) hostapi.PeerChanges {
			p := newIdentity(meshAddr(25)).peer(netip.AddrPort{})
			p.AllowedIPs = []netip.Prefix{present[0].AllowedIPs[0]}
			return hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p}}
		},
	},
	{
		name: "overlap-after-update",
		rule: "an update of a present peer that makes its allowed IPs overlap another present peer's",
		make: func(present []hostapi.PeerConfig) hostapi.PeerChanges {
			p := present[1]
			p.AllowedIPs = append(p.AllowedIPs, present[0].AllowedIPs[0])
			return hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p}}
		},
	},
	{
		name: "endpoint-port-zero",
		rule: "an endpoint with port 0",
		make: func([]hostapi.PeerConfig) hostapi.PeerChanges {
			p := newIdentity(meshAddr(26)).peer(netip.MustParseAddrPort("127.0.0.1:0"))
			return hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p}}
		},
	},
	{
		name: "endpoint-unspecified",
		rule: "an endpoint with the unspecified address",
		make: func([]hostapi.PeerConfig) hostapi.PeerChanges {
			p := newIdentity(meshAddr(27)).peer(netip.MustParseAddrPort("0.0.0.0:51820"))
			return hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p}}
		},
	},
	{
		name: "keepalive-fraction",
		rule: "a persistent keepalive that is not whole seconds",
		make: func([]hostapi.PeerConfig) hostapi.PeerChanges {
			p := newIdentity(meshAddr(28)).peer(netip.AddrPort{})
			p.PersistentKeepalive = 1500 * time.Millisecond
			return hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p}}
		},
	},
	{
		name: "keepalive-negative",
		rule: "a negative persistent keepalive",
		make: func([]hostapi.PeerConfig) hostapi.PeerChanges {
			p := newIdentity(meshAddr(29)).peer(netip.AddrPort{})
			p.PersistentKeepalive = -time.Second
			return hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p}}
		},
	},
	{
		name: "one-bad-among-good",
		rule: "a change of good peers, a removal and one bad peer (nothing of it may apply)",
		make: func(present []hostapi.PeerConfig) hostapi.PeerChanges {
			good := newIdentity(meshAddr(30)).peer(loopbackEndpoint(51006))
			bad := newIdentity(meshAddr(31)).peer(netip.AddrPort{})
			bad.PublicKey = hostapi.Key{}
			return hostapi.PeerChanges{Remove: []hostapi.Key{present[2].PublicKey}, Upsert: []hostapi.PeerConfig{good, bad}}
		},
	},
}

func backendInvalidCases() []Case {
	out := make([]Case, 0, len(invalidChanges))
	for _, ic := range invalidChanges {
		out = append(out, Case{
			ID:    "backend.invalid." + ic.name,
			Level: Must,
			Rule:  "ApplyPeers with " + ic.rule + " fails with INVALID_ARGUMENT and changes nothing",
			Run: func(ctx context.Context, env *Env) error {
				b, _, err := configured(ctx, env, nil, 1)
				if err != nil {
					return err
				}
				present := testPeers()
				if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: present}); err != nil {
					return fmt.Errorf("ApplyPeers of valid peers: %w", err)
				}
				before, err := snapshotState(ctx, b)
				if err != nil {
					return err
				}
				err = b.ApplyPeers(ctx, ic.make(present))
				return errs(
					wantCode("ApplyPeers with "+ic.rule, err, hostapi.CodeInvalidArgument),
					unchanged(ctx, b, before, "the rejected change"),
				)
			},
		})
	}
	return out
}
