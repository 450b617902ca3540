package wgkernel

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

// BenchmarkPlanPeers measures validating a one-peer change against a peer
// set of n members (the work ApplyPeers does before touching the kernel).
func BenchmarkPlanPeers(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			members := make([]hostapi.PeerConfig, n)
			for i := range n {
				members[i] = hostapi.PeerConfig{PublicKey: benchKey(i), AllowedIPs: []netip.Prefix{benchPrefix(i)}}
			}
			current := hostapi.NewPeerSet(members...)
			change := hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{
				PublicKey:  benchKey(n),
				AllowedIPs: []netip.Prefix{benchPrefix(n)},
			}}}
			b.ResetTimer()
			for b.Loop() {
				if _, _, err := planPeers(current, hostapi.Key{}, change); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func benchKey(i int) hostapi.Key {
	var k hostapi.Key
	binary.BigEndian.PutUint32(k[:], uint32(i)+1)
	return k
}

// benchPrefix is member i's /32 in 100.64.0.0/10.
func benchPrefix(i int) netip.Prefix {
	var a [4]byte
	binary.BigEndian.PutUint32(a[:], 100<<24|64<<16+uint32(i))
	return netip.PrefixFrom(netip.AddrFrom4(a), 32)
}
