package wgdev

import (
	"crypto/rand"
	"fmt"
	"net/netip"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

// benchPeers returns n peers with random keys and distinct /32s in 10/8,
// starting at offset.
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

func benchDevice(b *testing.B, existing int) *node {
	b.Helper()
	n := newNode(b, "10.255.255.254")
	if err := n.dev.ApplyPeers(hostapi.PeerChanges{Upsert: benchPeers(b, existing, 0)}); err != nil {
		b.Fatalf("ApplyPeers: %v", err)
	}
	return n
}

// BenchmarkApplyPeersAddOne adds one peer to a device holding N peers (and
// removes it again outside the timer).
func BenchmarkApplyPeersAddOne(b *testing.B) {
	for _, existing := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("N=%d", existing), func(b *testing.B) {
			n := benchDevice(b, existing)
			extra := benchPeers(b, b.N, existing)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := n.dev.ApplyPeers(hostapi.PeerChanges{Upsert: extra[i : i+1]}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := n.dev.RemovePeers([]hostapi.Key{extra[i].PublicKey}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkRemovePeersOne removes one peer from a device holding N peers
// (and adds it back outside the timer).
func BenchmarkRemovePeersOne(b *testing.B) {
	for _, existing := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("N=%d", existing), func(b *testing.B) {
			n := benchDevice(b, existing)
			extra := benchPeers(b, b.N, existing)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				if err := n.dev.ApplyPeers(hostapi.PeerChanges{Upsert: extra[i : i+1]}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := n.dev.RemovePeers([]hostapi.Key{extra[i].PublicKey}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkApplyPeersFullSet applies 10,000 peers to an empty device in one
// change (and removes them outside the timer).
func BenchmarkApplyPeersFullSet(b *testing.B) {
	const size = 10000
	n := newNode(b, "10.255.255.254")
	peers := benchPeers(b, size, 0)
	keys := make([]hostapi.Key, size)
	for i, p := range peers {
		keys[i] = p.PublicKey
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := n.dev.ApplyPeers(hostapi.PeerChanges{Upsert: peers}); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := n.dev.RemovePeers(keys); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}
