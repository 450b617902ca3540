package conformance

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// invalidChange is one peer change the contract (hostapi.PeerSet.Plan)
// says must fail with INVALID_ARGUMENT, built against the peers already
// present and the interface's own public key.
type invalidChange struct {
	name string
	rule string
	make func(present []hostapi.PeerConfig, self hostapi.Key) hostapi.PeerChanges
}

// upsert is a change that upserts p alone.
func upsert(p hostapi.PeerConfig) hostapi.PeerChanges {
	return hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p}}
}

// withEndpoint is a new peer at endpoint ep.
func withEndpoint(n int, ep string) hostapi.PeerChanges {
	return upsert(newIdentity(meshAddr(n)).peer(netip.MustParseAddrPort(ep)))
}

var invalidChanges = []invalidChange{
	{
		name: "zero-key",
		rule: "a peer with the zero public key",
		make: func([]hostapi.PeerConfig, hostapi.Key) hostapi.PeerChanges {
			p := newIdentity(meshAddr(20)).peer(netip.AddrPort{})
			p.PublicKey = hostapi.Key{}
			return upsert(p)
		},
	},
	{
		name: "duplicate-key",
		rule: "the same public key twice in one change",
		make: func([]hostapi.PeerConfig, hostapi.Key) hostapi.PeerChanges {
			p := newIdentity(meshAddr(21)).peer(netip.AddrPort{})
			q := p
			q.AllowedIPs = []netip.Prefix{netip.PrefixFrom(meshAddr(22), 32)}
			return hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p, q}}
		},
	},
	{
		name: "own-key",
		rule: "a peer with the interface's own public key",
		make: func(_ []hostapi.PeerConfig, self hostapi.Key) hostapi.PeerChanges {
			p := newIdentity(meshAddr(32)).peer(netip.AddrPort{})
			p.PublicKey = self
			return upsert(p)
		},
	},
	{
		name: "same-prefix-in-change",
		rule: "two new peers with the same allowed IP (overlapping prefixes are legal, the same prefix is not)",
		make: func([]hostapi.PeerConfig, hostapi.Key) hostapi.PeerChanges {
			p := newIdentity(meshAddr(23)).peer(netip.AddrPort{})
			p.AllowedIPs = append(p.AllowedIPs, netip.MustParsePrefix("10.220.0.0/24"))
			q := newIdentity(meshAddr(24)).peer(netip.AddrPort{})
			q.AllowedIPs = append(q.AllowedIPs, netip.MustParsePrefix("10.220.0.0/24"))
			return hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p, q}}
		},
	},
	{
		name: "same-prefix-as-present",
		rule: "a new peer with an allowed IP a present peer has",
		make: func(present []hostapi.PeerConfig, _ hostapi.Key) hostapi.PeerChanges {
			p := newIdentity(meshAddr(25)).peer(netip.AddrPort{})
			p.AllowedIPs = append(p.AllowedIPs, present[0].AllowedIPs[1])
			return upsert(p)
		},
	},
	{
		name: "same-prefix-after-update",
		rule: "an update of a present peer that gives it an allowed IP another present peer has",
		make: func(present []hostapi.PeerConfig, _ hostapi.Key) hostapi.PeerChanges {
			p := present[1]
			p.AllowedIPs = append(slices.Clone(p.AllowedIPs), present[0].AllowedIPs[0])
			return upsert(p)
		},
	},
	{
		name: "host-bits",
		rule: "an allowed IP with host bits set",
		make: func([]hostapi.PeerConfig, hostapi.Key) hostapi.PeerChanges {
			p := newIdentity(meshAddr(33)).peer(netip.AddrPort{})
			p.AllowedIPs = append(p.AllowedIPs, netip.MustParsePrefix("10.221.0.1/24"))
			return upsert(p)
		},
	},
	{
		name: "ipv4-mapped",
		rule: "an IPv4-mapped IPv6 allowed IP",
		make: func([]hostapi.PeerConfig, hostapi.Key) hostapi.PeerChanges {
			p := newIdentity(meshAddr(34)).peer(netip.AddrPort{})
			p.AllowedIPs = []netip.Prefix{netip.PrefixFrom(netip.AddrFrom16(meshAddr(34).As16()), 128)}
			return upsert(p)
		},
	},
	{
		name: "no-allowed-ips",
		rule: "a peer without allowed IPs",
		make: func([]hostapi.PeerConfig, hostapi.Key) hostapi.PeerChanges {
			p := newIdentity(meshAddr(35)).peer(netip.AddrPort{})
			p.AllowedIPs = nil
			return upsert(p)
		},
	},
	{
		name: "repeated-allowed-ip",
		rule: "a peer that lists the same allowed IP twice",
		make: func([]hostapi.PeerConfig, hostapi.Key) hostapi.PeerChanges {
			p := newIdentity(meshAddr(36)).peer(netip.AddrPort{})
			p.AllowedIPs = append(p.AllowedIPs, p.AllowedIPs[0])
			return upsert(p)
		},
	},
	{
		name: "endpoint-port-zero",
		rule: "an endpoint with port 0",
		make: func([]hostapi.PeerConfig, hostapi.Key) hostapi.PeerChanges { return withEndpoint(26, "127.0.0.1:0") },
	},
	{
		name: "endpoint-unspecified",
		rule: "an endpoint with the unspecified address",
		make: func([]hostapi.PeerConfig, hostapi.Key) hostapi.PeerChanges { return withEndpoint(27, "0.0.0.0:51820") },
	},
	{
		name: "endpoint-multicast",
		rule: "an endpoint with a multicast address",
		make: func([]hostapi.PeerConfig, hostapi.Key) hostapi.PeerChanges {
			return withEndpoint(37, "224.0.0.1:51820")
		},
	},
	{
		name: "endpoint-broadcast",
		rule: "an endpoint with the broadcast address",
		make: func([]hostapi.PeerConfig, hostapi.Key) hostapi.PeerChanges {
			return withEndpoint(38, "255.255.255.255:51820")
		},
	},
	{
		name: "endpoint-zone",
		rule: "an endpoint with an IPv6 zone",
		make: func([]hostapi.PeerConfig, hostapi.Key) hostapi.PeerChanges {
			return withEndpoint(39, "[fe80::1%lo]:51820")
		},
	},
	{
		name: "keepalive-fraction",
		rule: "a persistent keepalive that is not whole seconds",
		make: func([]hostapi.PeerConfig, hostapi.Key) hostapi.PeerChanges {
			p := newIdentity(meshAddr(28)).peer(netip.AddrPort{})
			p.PersistentKeepalive = 1500 * time.Millisecond
			return upsert(p)
		},
	},
	{
		name: "keepalive-negative",
		rule: "a negative persistent keepalive",
		make: func([]hostapi.PeerConfig, hostapi.Key) hostapi.PeerChanges {
			p := newIdentity(meshAddr(29)).peer(netip.AddrPort{})
			p.PersistentKeepalive = -time.Second
			return upsert(p)
		},
	},
	{
		name: "keepalive-too-long",
		rule: "a persistent keepalive beyond 65535 s",
		make: func([]hostapi.PeerConfig, hostapi.Key) hostapi.PeerChanges {
			p := newIdentity(meshAddr(40)).peer(netip.AddrPort{})
			p.PersistentKeepalive = hostapi.MaxPersistentKeepalive + time.Second
			return upsert(p)
		},
	},
	{
		name: "one-bad-among-good",
		rule: "a change of good peers, a removal and one bad peer (nothing of it may apply)",
		make: func(present []hostapi.PeerConfig, _ hostapi.Key) hostapi.PeerChanges {
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
				err = b.ApplyPeers(ctx, ic.make(present, before.PublicKey))
				return errs(
					wantCode("ApplyPeers with "+ic.rule, err, hostapi.CodeInvalidArgument),
					unchanged(ctx, b, before, "the rejected change"),
				)
			},
		})
	}
	return out
}
