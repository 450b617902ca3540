package filtertest

import (
	"math/rand/v2"
	"net/netip"

	"github.com/rustynet/rustynet/hostapi"
)

// Synthetic returns a filter of n rules shaped like a policy compiled for
// one node of a large mesh, the same for the same seed: sources are member
// addresses in 100.64.0.0/10 (one to four each, now and then a /24) or
// IPv6 member addresses in fd7a:115c:a1e0::/48; destinations are the
// node's address, or subnets it routes in 10.0.0.0/8 and fd00::/8;
// protocols are TCP (six rules in ten, one to three port ranges), UDP,
// ICMP and, rarely, any. The rules in admit come last, so that a benchmark
// can make its own traffic pass a filter of n rules in all.
func Synthetic(n int, seed uint64, admit ...hostapi.FilterRule) hostapi.Filter {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	var f hostapi.Filter
	for range max(0, n-len(admit)) {
		v6 := r.IntN(8) == 0
		rule := hostapi.FilterRule{Src: sources(r, v6), Dst: []netip.Prefix{destination(r, v6)}}
		switch x := r.IntN(20); {
		case x < 12:
			rule.Proto, rule.Ports = hostapi.ProtoTCP, ports(r)
		case x < 17:
			rule.Proto, rule.Ports = hostapi.ProtoUDP, ports(r)
		case x < 19:
			rule.Proto = hostapi.ProtoICMP
		default:
			rule.Proto = hostapi.ProtoAny
		}
		f.Rules = append(f.Rules, rule)
	}
	return hostapi.Filter{Rules: append(f.Rules, admit...)}
}

func sources(r *rand.Rand, v6 bool) []netip.Prefix {
	var out []netip.Prefix
	for range 1 + r.IntN(4) {
		if v6 {
			var b [16]byte
			copy(b[:], []byte{0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0})
			b[14], b[15] = byte(r.IntN(256)), byte(r.IntN(256))
			out = append(out, netip.PrefixFrom(netip.AddrFrom16(b), 128))
			continue
		}
		a := netip.AddrFrom4([4]byte{100, byte(64 + r.IntN(64)), byte(r.IntN(256)), byte(r.IntN(256))})
		bits := 32
		if r.IntN(10) == 0 {
			bits = 24
		}
		out = append(out, netip.PrefixFrom(a, bits).Masked())
	}
	return out
}

func destination(r *rand.Rand, v6 bool) netip.Prefix {
	switch {
	case v6 && r.IntN(2) == 0:
		return netip.MustParsePrefix("fd7a:115c:a1e0::1/128")
	case v6:
		return netip.PrefixFrom(netip.AddrFrom16([16]byte{0xfd, 0, 0, byte(r.IntN(16))}), 64)
	case r.IntN(2) == 0:
		return netip.MustParsePrefix("100.64.0.1/32")
	}
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, byte(r.IntN(16)), byte(r.IntN(16)), 0}), 24)
}

func ports(r *rand.Rand) []hostapi.PortRange {
	var out []hostapi.PortRange
	for range 1 + r.IntN(3) {
		first := uint16(1 + r.IntN(20000))
		last := first
		if r.IntN(4) == 0 {
			last += uint16(r.IntN(100))
		}
		out = append(out, hostapi.PortRange{First: first, Last: last})
	}
	return out
}
