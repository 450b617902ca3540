package wgdev

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/netip"
	"slices"
	"sync"
	"testing"
	"time"

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

// BenchmarkState reads back a device holding N peers: every peer with its
// live endpoint, handshake and counters, read in place (livestats.go).
// via=ipcget is wireguard-go's own serialisation of the same device into
// io.Discard: the least a read of the counters through UAPI text costs,
// as State read them before (and still does if the fields are not there).
func BenchmarkState(b *testing.B) {
	for _, existing := range []int{1000, 10000} {
		n := benchDevice(b, existing)
		b.Run(fmt.Sprintf("N=%d", existing), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				st, err := n.dev.State()
				if err != nil {
					b.Fatal(err)
				}
				if len(st.Peers) != existing {
					b.Fatalf("got %d peers, want %d", len(st.Peers), existing)
				}
			}
		})
		b.Run(fmt.Sprintf("N=%d/via=ipcget", existing), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := n.dev.dev.IpcGetOperation(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkApplyWhileReading adds one peer to a device holding 10,000
// peers (and removes it again outside the timer) while R goroutines read
// State back to back; readers=0 is the apply alone. Metrics: p50-µs and
// p95-µs of the add.
func BenchmarkApplyWhileReading(b *testing.B) {
	const existing = 10000
	n := benchDevice(b, existing)
	for _, readers := range []int{0, 5} {
		b.Run(fmt.Sprintf("N=%d/readers=%d", existing, readers), func(b *testing.B) {
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range readers {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						if _, err := n.dev.State(); err != nil {
							b.Error(err)
							return
						}
					}
				})
			}
			extra := benchPeers(b, b.N, existing)
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				if err := n.dev.ApplyPeers(hostapi.PeerChanges{Upsert: extra[i : i+1]}); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
				b.StopTimer()
				if err := n.dev.RemovePeers([]hostapi.Key{extra[i].PublicKey}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.StopTimer()
			close(stop)
			wg.Wait()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds()), "p95-µs")
		})
	}
}
