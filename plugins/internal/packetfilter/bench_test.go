package packetfilter

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
	ft "github.com/rustynet/rustynet/plugins/internal/packetfilter/filtertest"
)

// benchRule admits the benchmarks' own traffic: TCP from the mesh to
// 100.64.0.1, any port.
var benchRule = hostapi.FilterRule{Src: pfx("100.64.0.0/10"), Dst: pfx("100.64.0.1/32"), Proto: hostapi.ProtoTCP}

// benchPackets returns n parsed packets that open connections: half of
// them drawn from f's rules (source, destination and port of a rule,
// admitted), half from the same spaces at random (mostly refused).
func benchPackets(f hostapi.Filter, n int) []packet {
	r := rand.New(rand.NewPCG(7, 7))
	out := make([]packet, n)
	for i := range out {
		src := netip.AddrFrom4([4]byte{100, byte(64 + r.IntN(64)), byte(r.IntN(256)), byte(r.IntN(256))})
		dst := netip.MustParseAddr("100.64.0.1")
		if r.IntN(2) == 0 {
			dst = netip.AddrFrom4([4]byte{10, byte(r.IntN(16)), byte(r.IntN(16)), byte(r.IntN(256))})
		}
		port, udp := uint16(1+r.IntN(20000)), r.IntN(4) == 0
		if rule := f.Rules[r.IntN(len(f.Rules))]; i%2 == 0 && (rule.Proto == hostapi.ProtoTCP || rule.Proto == hostapi.ProtoUDP) {
			src, dst = rule.Src[0].Addr(), rule.Dst[0].Addr()
			port, udp = rule.Ports[0].First, rule.Proto == hostapi.ProtoUDP
		}
		pkt := ft.TCP(netip.AddrPortFrom(src, 40000), netip.AddrPortFrom(dst, port), ft.SYN)
		if udp {
			pkt = ft.UDP(netip.AddrPortFrom(src, 40000), netip.AddrPortFrom(dst, port))
		}
		out[i], _ = parse(pkt, false)
	}
	return out
}

// BenchmarkMatch measures the compiled matcher alone: does a rule admit
// this new connection, for filters of 10 to 10,000 synthetic rules.
func BenchmarkMatch(b *testing.B) {
	for _, n := range []int{10, 100, 1000, 10000} {
		b.Run("rules="+strconv.Itoa(n), func(b *testing.B) {
			f := ft.Synthetic(n, 1)
			pkts := benchPackets(f, 4096)
			rs, err := compile(f)
			if err != nil {
				b.Fatal(err)
			}
			admitted := 0
			i := 0
			for b.Loop() {
				if rs.admits(&pkts[i%len(pkts)]) {
					admitted++
				}
				i++
			}
			b.ReportMetric(float64(admitted)/float64(i), "admitted/op")
		})
	}
}

// BenchmarkCompile measures compiling a 1,000-rule filter.
func BenchmarkCompile(b *testing.B) {
	f := ft.Synthetic(1000, 1)
	for b.Loop() {
		if _, err := compile(f); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFromPeer measures FromPeer under a 1,000-rule filter: a packet
// of an established connection (the common case: parse and one table
// lookup), and a packet opening a new connection (parse, the rules, an
// insert; the clock moves on so that old connections expire and the table
// stays below its bound, sweeps included).
func BenchmarkFromPeer(b *testing.B) {
	b.Run("established", func(b *testing.B) {
		f, _ := newTestFilter(b, Config{})
		if err := f.Set(ft.Synthetic(1000, 1, benchRule)); err != nil {
			b.Fatal(err)
		}
		peer, self := netip.MustParseAddrPort("100.64.9.9:40000"), netip.MustParseAddrPort("100.64.0.1:443")
		f.FromPeer(ft.TCP(peer, self, ft.SYN))
		f.ToPeer(ft.TCP(self, peer, ft.SYN|ft.ACK))
		pkt := append(ft.TCP(peer, self, ft.ACK), make([]byte, 1380)...)
		pkt[2], pkt[3] = byte(len(pkt)>>8), byte(len(pkt))
		b.SetBytes(int64(len(pkt)))
		for b.Loop() {
			if v := f.FromPeer(pkt); v != PassTracked {
				b.Fatal(v)
			}
		}
	})
	b.Run("new", func(b *testing.B) {
		f, clock := newTestFilter(b, Config{})
		if err := f.Set(ft.Synthetic(1000, 1, benchRule)); err != nil {
			b.Fatal(err)
		}
		self := netip.MustParseAddrPort("100.64.0.1:443")
		i := 0
		for b.Loop() {
			peer := netip.AddrPortFrom(netip.AddrFrom4([4]byte{100, 64, byte(i >> 16), byte(i >> 8)}), uint16(i))
			if v := f.FromPeer(ft.TCP(peer, self, ft.SYN)); v != PassNew {
				b.Fatal(i, v)
			}
			if i++; i%(DefaultMaxConns/2) == 0 {
				clock.Advance(TCPHandshakeTimeout)
			}
		}
	})
}

// BenchmarkFromPeerParallel measures established packets of distinct
// connections from parallel goroutines, as wireguard-go's per-peer writers
// do: the shards' locks at work.
func BenchmarkFromPeerParallel(b *testing.B) {
	f, _ := newTestFilter(b, Config{})
	if err := f.Set(ft.Synthetic(1000, 1, benchRule)); err != nil {
		b.Fatal(err)
	}
	self := netip.MustParseAddrPort("100.64.0.1:443")
	const conns = 256
	pkts := make([][]byte, conns)
	for i := range pkts {
		peer := netip.AddrPortFrom(netip.AddrFrom4([4]byte{100, 64, 1, byte(i)}), 40000)
		f.FromPeer(ft.TCP(peer, self, ft.SYN))
		f.ToPeer(ft.TCP(self, peer, ft.SYN|ft.ACK))
		pkts[i] = ft.TCP(peer, self, ft.ACK)
	}
	var next atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		i := int(next.Add(1)) * 37
		for pb.Next() {
			if v := f.FromPeer(pkts[i%conns]); v != PassTracked {
				b.Error(v)
				return
			}
			i++
		}
	})
}

// BenchmarkSet measures a filter change: compiling 1,000 rules and judging
// 10,000 tracked connections against them.
func BenchmarkSet(b *testing.B) {
	f, _ := newTestFilter(b, Config{})
	if err := f.Set(ft.Synthetic(1000, 1, benchRule)); err != nil {
		b.Fatal(err)
	}
	self := netip.MustParseAddrPort("100.64.0.1:443")
	for i := range 10000 {
		f.FromPeer(ft.TCP(netip.AddrPortFrom(netip.AddrFrom4([4]byte{100, 64, byte(i >> 8), byte(i)}), 40000), self, ft.SYN))
	}
	next := ft.Synthetic(1000, 2, benchRule)
	for b.Loop() {
		if err := f.Set(next); err != nil {
			b.Fatal(err)
		}
	}
	if st := f.Stats(); st.Conns != 10000 {
		b.Fatalf("Stats.Conns: got %d, want 10000", st.Conns)
	}
}
