package packetfilter

import (
	"cmp"
	"errors"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
	ft "github.com/rustynet/rustynet/plugins/internal/packetfilter/filtertest"
)

func TestCheck(t *testing.T) {
	tests := []struct {
		name  string
		rule  hostapi.FilterRule
		valid bool
	}{
		{"TCP with ports", hostapi.FilterRule{Src: pfx("100.64.0.0/10"), Dst: pfx("100.64.0.1/32", "fd7a::/48"), Proto: hostapi.ProtoTCP, Ports: ports(1, 65535)}, true},
		{"no sources: admits nothing, but valid", hostapi.FilterRule{Dst: pfx("100.64.0.1/32"), Proto: hostapi.ProtoAny}, true},
		{"a single port", hostapi.FilterRule{Src: pfx("0.0.0.0/0"), Dst: pfx("::/0"), Proto: hostapi.ProtoUDP, Ports: ports(0, 0)}, true},
		{"host bits in a source", hostapi.FilterRule{Src: pfx("100.64.0.1/10"), Dst: pfx("100.64.0.1/32")}, false},
		{"host bits in a destination", hostapi.FilterRule{Src: pfx("100.64.0.0/10"), Dst: pfx("fd7a::1/48")}, false},
		{"IPv4-mapped", hostapi.FilterRule{Src: pfx("::ffff:100.64.0.0/106"), Dst: pfx("100.64.0.1/32")}, false},
		{"invalid prefix", hostapi.FilterRule{Src: []netip.Prefix{{}}, Dst: pfx("100.64.0.1/32")}, false},
		{"empty port range", hostapi.FilterRule{Src: pfx("100.64.0.0/10"), Dst: pfx("100.64.0.1/32"), Proto: hostapi.ProtoTCP, Ports: ports(23, 22)}, false},
		{"unknown protocol", hostapi.FilterRule{Src: pfx("100.64.0.0/10"), Dst: pfx("100.64.0.1/32"), Proto: hostapi.ProtoICMP + 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := hostapi.CheckFilter(hostapi.Filter{Rules: []hostapi.FilterRule{tt.rule}})
			switch {
			case tt.valid && err != nil:
				t.Errorf("Check: got %v, want nil", err)
			case !tt.valid && !errors.Is(err, hostapi.ErrInvalidArgument):
				t.Errorf("Check: got %v, want INVALID_ARGUMENT", err)
			}
		})
	}
}

// randomRules returns n random rules over a small address and port space,
// so that rules overlap and packets hit their edges.
func randomRules(r *rand.Rand, n int) []hostapi.FilterRule {
	prefix := func(v6 bool) netip.Prefix {
		if v6 {
			a := netip.AddrFrom16([16]byte{0xfd, 0x7a, 14: byte(r.IntN(4)), 15: byte(r.IntN(256))})
			return netip.PrefixFrom(a, 112+r.IntN(17)).Masked()
		}
		a := netip.AddrFrom4([4]byte{100, 64, byte(r.IntN(4)), byte(r.IntN(256))})
		bits := 22 + r.IntN(11)
		if r.IntN(20) == 0 {
			bits = r.IntN(9) // a wide one, up to 0.0.0.0/0
		}
		return netip.PrefixFrom(a, bits).Masked()
	}
	var out []hostapi.FilterRule
	for range n {
		var rule hostapi.FilterRule
		for range r.IntN(3) {
			rule.Src = append(rule.Src, prefix(r.IntN(4) == 0))
		}
		for range r.IntN(3) {
			rule.Dst = append(rule.Dst, prefix(r.IntN(4) == 0))
		}
		rule.Proto = hostapi.Proto(r.IntN(4))
		for range r.IntN(3) {
			first := uint16(r.IntN(40))
			rule.Ports = append(rule.Ports, hostapi.PortRange{First: first, Last: first + uint16(r.IntN(8))})
		}
		if r.IntN(50) == 0 {
			rule.Ports = append(rule.Ports, hostapi.PortRange{First: 65530, Last: 65535})
		}
		out = append(out, rule)
	}
	return out
}

// randomPacket returns a packet that opens a connection, in the space
// randomRules draws from.
func randomPacket(r *rand.Rand) []byte {
	addr := func(v6 bool) netip.Addr {
		if v6 {
			return netip.AddrFrom16([16]byte{0xfd, 0x7a, 14: byte(r.IntN(4)), 15: byte(r.IntN(256))})
		}
		if r.IntN(20) == 0 {
			return netip.AddrFrom4([4]byte{byte(r.IntN(256)), byte(r.IntN(256)), 0, byte(r.IntN(256))})
		}
		return netip.AddrFrom4([4]byte{100, 64, byte(r.IntN(4)), byte(r.IntN(256))})
	}
	v6 := r.IntN(4) == 0
	src, dst := addr(v6), addr(v6)
	port := uint16(r.IntN(50))
	if r.IntN(50) == 0 {
		port = 65535 - uint16(r.IntN(8))
	}
	switch r.IntN(5) {
	case 0:
		return ft.TCP(netip.AddrPortFrom(src, 1), netip.AddrPortFrom(dst, port), ft.SYN)
	case 1:
		return ft.UDP(netip.AddrPortFrom(src, 1), netip.AddrPortFrom(dst, port))
	case 2:
		return ft.Echo(src, dst, port, false)
	case 3:
		return ft.Packet{Src: src, Dst: dst, Proto: ft.ProtoGRE}.Bytes()
	}
	p := ft.Packet{Src: src, Dst: dst, Proto: ft.ProtoICMP, Type: ft.Timestamp4}
	if v6 {
		p.Proto, p.Type = ft.ProtoICMPv6, ft.RouterAdv6
	}
	return p.Bytes()
}

// TestRulesMatchReference compares the compiled matcher with the reference
// on random filters and packets.
func TestRulesMatchReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 200 {
		rules := randomRules(r, 1+r.IntN(40))
		rs, err := compile(hostapi.Filter{Rules: rules})
		if err != nil {
			t.Fatal(err)
		}
		for range 200 {
			pkt := randomPacket(r)
			p, ok := parse(pkt, false)
			if !ok {
				t.Fatalf("round %d: parse refused a generated packet %x", round, pkt)
			}
			if got, want := p.opens() && rs.admits(&p), refAdmitsNew(rules, pkt); got != want {
				t.Fatalf("round %d: packet %+v under %+v: got admitted=%v, want %v", round, p, rules, got, want)
			}
		}
	}
}

// TestCompileTooLarge checks that a filter beyond the compiled size limit
// is refused, not half built.
func TestCompileTooLarge(t *testing.T) {
	// 32,768 rules, each to a port of its own: 32,768 classes of 4 KiB on
	// the port line, 128 MiB.
	var f hostapi.Filter
	for i := range 1 << 15 {
		f.Rules = append(f.Rules, hostapi.FilterRule{Src: pfx("100.64.0.0/10"), Dst: pfx("100.64.0.1/32"), Proto: hostapi.ProtoTCP, Ports: ports(uint16(i), uint16(i))})
	}
	_, err := compile(f)
	if !errors.Is(err, hostapi.ErrInvalidArgument) {
		t.Errorf("compile: got %v, want INVALID_ARGUMENT (too large)", err)
	}
}

// TestCells checks the disjoint decomposition against the matcher: every
// sampled point is in at most one cell of a group (Kind, family, AnyPort),
// and in one if and only if the matcher admits it.
func TestCells(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 100 {
		rules := randomRules(r, 1+r.IntN(30))
		f := hostapi.Filter{Rules: rules}
		cells, err := Cells(f, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		rs, err := compile(f)
		if err != nil {
			t.Fatal(err)
		}
		for range 300 {
			pkt := randomPacket(r)
			p, _ := parse(pkt, false)
			want := p.opens() && rs.admits(&p)
			ported, any := cellsHolding(cells, &p)
			if ported > 1 || any > 1 || (ported+any > 0) != want {
				t.Fatalf("round %d: packet %+v is in %d cells with ports and %d without, want admitted=%v; rules %+v\ncells %+v", round, p, ported, any, want, rules, cells)
			}
		}
		for i, c := range cells {
			if len(c.Src) == 0 {
				t.Fatalf("round %d: cell %d has no sources", round, i)
			}
			for j := 1; j < len(c.Src); j++ {
				if c.Src[j].First.Prev().Compare(c.Src[j-1].Last) <= 0 {
					t.Fatalf("round %d: cell %d: sources %v and %v overlap or touch", round, i, c.Src[j-1], c.Src[j])
				}
			}
		}
	}
}

// cellsHolding counts the cells that hold packet p: with ports, and
// without (AnyPort, and the kinds without ports).
func cellsHolding(cells []Cell, p *packet) (ported, any int) {
	in := func(r AddrRange, a netip.Addr) bool { return r.First.Compare(a) <= 0 && a.Compare(r.Last) <= 0 }
	for _, c := range cells {
		if c.Dst.First.Is6() != p.v6 || !in(c.Dst, p.dst.netip(p.v6)) {
			continue
		}
		switch c.Kind {
		case KindTCP, KindUDP:
			if c.Kind == KindTCP && p.proto != protoTCP || c.Kind == KindUDP && p.proto != protoUDP || p.dport < c.Ports.First || p.dport > c.Ports.Last {
				continue
			}
		case KindICMPEcho:
			if !p.isEchoRequest() {
				continue
			}
		case KindOther:
			if p.proto == protoTCP || p.proto == protoUDP || p.isICMP() {
				continue
			}
		}
		for _, s := range c.Src {
			switch {
			case !in(s, p.src.netip(p.v6)):
			case (c.Kind == KindTCP || c.Kind == KindUDP) && !c.AnyPort:
				ported++
			default:
				any++
			}
		}
	}
	return ported, any
}

// TestCellsLimit checks that Cells refuses a filter needing more ranges
// than the limit.
func TestCellsLimit(t *testing.T) {
	f := ft.Synthetic(1000, 1)
	if _, err := Cells(f, 10); !errors.Is(err, hostapi.ErrInvalidArgument) {
		t.Errorf("Cells with limit 10: got %v, want INVALID_ARGUMENT", err)
	}
	cells, err := Cells(f, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, c := range cells {
		n += len(c.Src)
	}
	t.Logf("a synthetic 1,000-rule filter: %d cells, %d source ranges", len(cells), n)
}

// TestSortHigh32 compares sortHigh32 with a stable sort by the high 32
// bits: positions drawn from narrow and wide ranges (so that some bytes
// are the same in every element and are skipped), with many ties.
func TestSortHigh32(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tests := []struct {
		name string
		n    int
		high func() uint64 // a position
	}{
		{"empty", 0, func() uint64 { return 0 }},
		{"one", 1, func() uint64 { return 7 }},
		{"all equal", 300, func() uint64 { return 0x01020304 }},
		{"ports", 2000, func() uint64 { return uint64(r.IntN(65536)) }},
		{"few ports, many ties", 2000, func() uint64 { return uint64(r.IntN(4)) * 443 }},
		{"IPv4 addresses", 5000, func() uint64 { return uint64(r.Uint32()) }},
		{"one /16", 3000, func() uint64 { return 0x64400000 | uint64(r.IntN(1<<16)) }},
		{"top byte only", 1000, func() uint64 { return uint64(r.IntN(256)) << 24 }},
		{"the line's ends", 100, func() uint64 { return uint64(r.IntN(2)) * (1<<32 - 1) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := make([]uint64, tt.n)
			for i := range in {
				in[i] = tt.high()<<32 | uint64(i) // the low bits number the elements: ties keep their order
			}
			r.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
			want := slices.Clone(in)
			slices.SortStableFunc(want, func(x, y uint64) int { return cmp.Compare(x>>32, y>>32) })
			got := sortHigh32(slices.Clone(in), make([]uint64, len(in)))
			if !slices.Equal(got, want) {
				t.Fatalf("sortHigh32 of %d elements differs from a stable sort by the high 32 bits", tt.n)
			}
		})
	}
}
