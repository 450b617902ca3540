package wgtun

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"io"
	"net"
	"net/netip"
	"strconv"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/netnstest"
	"github.com/rustynet/rustynet/internal/testbin"
	"github.com/rustynet/rustynet/plugins/internal/packetfilter/filtertest"
)

// benchBackend launches one configured wgtun plugin inside a fresh namespace,
// holding n peers (added in batches).
func benchBackend(b *testing.B, n int) *hostapi.BackendClient {
	b.Helper()
	netnstest.Require(b)
	ns := netnstest.New(b)
	c := launch(b, ns)
	ctx := context.Background()
	cfg := hostapi.InterfaceConfig{
		Name:       netnstest.UniqueName("wgb"),
		PrivateKey: newKey().priv,
		Addresses:  []netip.Prefix{netip.MustParsePrefix("198.18.0.1/15")},
	}
	if err := c.Configure(ctx, cfg); err != nil {
		b.Fatal(err)
	}
	const batch = 1000
	for i := 0; i < n; i += batch {
		var ch hostapi.PeerChanges
		for j := i; j < min(i+batch, n); j++ {
			ch.Upsert = append(ch.Upsert, benchPeer(j))
		}
		if err := c.ApplyPeers(ctx, ch); err != nil {
			b.Fatal(err)
		}
	}
	return c
}

// benchPeer is the i-th peer: a random public key and the i-th /32 of
// 198.18.0.0/15 above 198.18.0.1.
func benchPeer(i int) hostapi.PeerConfig {
	var k hostapi.Key
	if _, err := rand.Read(k[:]); err != nil {
		panic(err)
	}
	var ip [4]byte
	binary.BigEndian.PutUint32(ip[:], 198<<24|18<<16+uint32(i)+2)
	return hostapi.PeerConfig{
		PublicKey:  k,
		AllowedIPs: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4(ip), 32)},
	}
}

// BenchmarkApplyAddOnePeer measures ApplyPeers adding one peer to a wgtun
// plugin that holds N peers, through the real plugin boundary (gRPC). The
// added peer is removed again outside the timer, so N stays fixed.
func BenchmarkApplyAddOnePeer(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run("peers="+strconv.Itoa(n), func(b *testing.B) {
			c := benchBackend(b, n)
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				p := benchPeer(n + i)
				if err := c.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p}}); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if err := c.RemovePeers(ctx, []hostapi.Key{p.PublicKey}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
		})
	}
}

// BenchmarkRemoveOnePeer measures RemovePeers of one peer out of N, through
// the plugin boundary; the peer is added back outside the timer.
func BenchmarkRemoveOnePeer(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run("peers="+strconv.Itoa(n), func(b *testing.B) {
			c := benchBackend(b, n)
			ctx := context.Background()
			for i := 0; b.Loop(); i++ {
				b.StopTimer()
				p := benchPeer(n + i)
				if err := c.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p}}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				if err := c.RemovePeers(ctx, []hostapi.Key{p.PublicKey}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPluginRoundTrip measures a call that does no work (Info) on the
// same plugin setup: the floor the apply figures above include.
func BenchmarkPluginRoundTrip(b *testing.B) {
	c := benchBackend(b, 0)
	ctx := context.Background()
	for b.Loop() {
		if _, err := c.Info(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// throughputChunk is what one benchmark iteration sends.
const throughputChunk = 1 << 20

// BenchmarkThroughput pushes TCP data through the tunnel between two
// namespaces joined by a veth pair, with wgtun plugins at both ends —
// without a packet filter, and with a 1,000-rule filter on both ends that
// admits the benchmark's connection — and with plain wireguard-go at both
// ends (same setup, same MTU), and reports MB/s.
func BenchmarkThroughput(b *testing.B) {
	netnstest.Require(b)

	wgtunA, wgtunB := topology(b)
	configurePair(b, wgtunA, wgtunB, launch(b, wgtunA.ns), launch(b, wgtunB.ns))

	filteredA, filteredB := topology(b)
	fa, fb := launch(b, filteredA.ns), launch(b, filteredB.ns)
	configurePair(b, filteredA, filteredB, fa, fb)
	for _, side := range []struct {
		be       hostapi.Backend
		from, to *node
	}{{fa, filteredB, filteredA}, {fb, filteredA, filteredB}} {
		admit := hostapi.FilterRule{Src: []netip.Prefix{side.from.tunAddr}, Dst: []netip.Prefix{side.to.tunAddr}, Proto: hostapi.ProtoTCP}
		if err := side.be.SetFilter(context.Background(), filtertest.Synthetic(1000, 1, admit)); err != nil {
			b.Fatal(err)
		}
	}

	bin := testbin.Package(b, "golang.zx2c4.com/wireguard", "wireguard-go")
	plainA, plainB := topology(b)
	startWireguardGo(b, bin, plainA, plainB)
	startWireguardGo(b, bin, plainB, plainA)

	for _, v := range []struct {
		name string
		a, b *node
	}{{"wgtun", wgtunA, wgtunB}, {"wgtun-filter-1000", filteredA, filteredB}, {"wireguard-go", plainA, plainB}} {
		b.Run(v.name, func(b *testing.B) { pushTCP(b, v.a, v.b) })
	}
}

// pushTCP sends b.N chunks from a to b over the tunnel and waits until b
// has received them all.
func pushTCP(b *testing.B, from, to *node) {
	var ln net.Listener
	if err := to.ns.Do(func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(to.tunAddr.Addr(), 0).String())
		return err
	}); err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	received := make(chan int64, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			received <- -1
			return
		}
		defer c.Close()
		n, _ := io.Copy(io.Discard, c)
		received <- n
	}()
	c := dial(b, from.ns, ln.Addr().(*net.TCPAddr).AddrPort())
	buf := make([]byte, throughputChunk)
	b.SetBytes(throughputChunk)
	b.ResetTimer()
	for range b.N {
		if _, err := c.Write(buf); err != nil {
			b.Fatal(err)
		}
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		b.Fatal(err)
	}
	if got, want := <-received, int64(b.N)*throughputChunk; got != want {
		b.Fatalf("received %d bytes, want %d", got, want)
	}
	b.StopTimer()
}
