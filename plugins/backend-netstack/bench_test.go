package netstack

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/netip"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

// benchPeers returns n peers with random keys and distinct /32s in 10/8.
func benchPeers(tb testing.TB, n, offset int) []hostapi.PeerConfig {
	tb.Helper()
	peers := make([]hostapi.PeerConfig, n)
	for i := range peers {
		var k hostapi.Key
		if _, err := rand.Read(k[:]); err != nil {
			tb.Fatal(err)
		}
		j := i + offset
		ip := netip.AddrFrom4([4]byte{10, byte(j >> 16), byte(j >> 8), byte(j)})
		peers[i] = hostapi.PeerConfig{PublicKey: k, AllowedIPs: []netip.Prefix{netip.PrefixFrom(ip, 32)}}
	}
	return peers
}

// BenchmarkBackendApplyPeersAddOne adds one peer to a netstack backend
// holding N peers (and removes it outside the timer).
func BenchmarkBackendApplyPeersAddOne(b *testing.B) {
	ctx := context.Background()
	for _, existing := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("N=%d", existing), func(b *testing.B) {
			n := newTestNode(b, "100.64.0.1", nil)
			if err := n.b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: benchPeers(b, existing, 0)}); err != nil {
				b.Fatal(err)
			}
			extra := benchPeers(b, b.N, existing)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := n.b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: extra[i : i+1]}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := n.b.RemovePeers(ctx, []hostapi.Key{extra[i].PublicKey}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkBackendRemovePeersOne removes one peer from a netstack backend
// holding N peers (and adds it back outside the timer).
func BenchmarkBackendRemovePeersOne(b *testing.B) {
	ctx := context.Background()
	for _, existing := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("N=%d", existing), func(b *testing.B) {
			n := newTestNode(b, "100.64.0.1", nil)
			if err := n.b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: benchPeers(b, existing, 0)}); err != nil {
				b.Fatal(err)
			}
			extra := benchPeers(b, b.N, existing)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if err := n.b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: extra[i : i+1]}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := n.b.RemovePeers(ctx, []hostapi.Key{extra[i].PublicKey}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBackendApplyPeersFullSet applies 10,000 peers to an empty
// netstack backend in one change (and removes them outside the timer).
func BenchmarkBackendApplyPeersFullSet(b *testing.B) {
	ctx := context.Background()
	n := newTestNode(b, "100.64.0.1", nil)
	peers := benchPeers(b, 10000, 0)
	keys := make([]hostapi.Key, len(peers))
	for i, p := range peers {
		keys[i] = p.PublicKey
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := n.b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: peers}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := n.b.RemovePeers(ctx, keys); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
