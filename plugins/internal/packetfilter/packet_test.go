package packetfilter

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	ft "github.com/rustynet/rustynet/plugins/internal/packetfilter/filtertest"
)

var (
	peer4 = netip.MustParseAddr("100.64.0.2")
	self4 = netip.MustParseAddr("100.64.0.1")
	peer6 = netip.MustParseAddr("fd7a::2")
	self6 = netip.MustParseAddr("fd7a::1")
)

func ap(a netip.Addr, port uint16) netip.AddrPort { return netip.AddrPortFrom(a, port) }

// parsed is what TestParse compares of a packet.
type parsed struct {
	V6           bool
	Proto        uint8
	Src, Dst     netip.Addr
	Sport, Dport uint16
	Flags, Type  uint8
	Frag         fragment
	FragID       uint32
}

func TestParse(t *testing.T) {
	tcp4 := ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoTCP, SrcPort: 40000, DstPort: 22, Flags: ft.SYN}
	tcp6 := ft.Packet{Src: peer6, Dst: self6, Proto: ft.ProtoTCP, SrcPort: 40000, DstPort: 22, Flags: ft.SYN}
	with := func(p ft.Packet, f func(*ft.Packet)) []byte { f(&p); return p.Bytes() }
	want4 := parsed{Proto: 6, Src: peer4, Dst: self4, Sport: 40000, Dport: 22, Flags: ft.SYN}
	want6 := parsed{V6: true, Proto: 6, Src: peer6, Dst: self6, Sport: 40000, Dport: 22, Flags: ft.SYN}
	tests := []struct {
		name string
		pkt  []byte
		want *parsed // nil: refused
	}{
		{"IPv4 TCP", tcp4.Bytes(), &want4},
		{"IPv6 TCP", tcp6.Bytes(), &want6},
		{"IPv4 UDP", ft.UDP(ap(peer4, 5353), ap(self4, 53)), &parsed{Proto: 17, Src: peer4, Dst: self4, Sport: 5353, Dport: 53}},
		{"IPv4 echo: the identifier as both ports", ft.Echo(peer4, self4, 77, false), &parsed{Proto: 1, Src: peer4, Dst: self4, Sport: 77, Dport: 77, Type: 8}},
		{"IPv6 echo reply", ft.Echo(peer6, self6, 77, true), &parsed{V6: true, Proto: 58, Src: peer6, Dst: self6, Sport: 77, Dport: 77, Type: 129}},
		{"IPv4 with harmless options", with(tcp4, func(p *ft.Packet) { p.Options = []byte{1, 1, 7, 3, 4} }), &want4},
		{"IPv4 loose source route", with(tcp4, func(p *ft.Packet) { p.Options = []byte{131, 7, 4, 10, 0, 0, 1} }), nil},
		{"IPv4 strict source route", with(tcp4, func(p *ft.Packet) { p.Options = []byte{137, 7, 4, 10, 0, 0, 1} }), nil},
		{"IPv4 option running past the header", with(tcp4, func(p *ft.Packet) { p.Options = []byte{7, 9, 4} }), nil},
		{"IPv4 option length under 2", with(tcp4, func(p *ft.Packet) { p.Options = []byte{7, 1, 0, 0} }), nil},
		{"IPv6 through hop-by-hop and destination options", with(tcp6, func(p *ft.Packet) { p.Ext = []ft.ExtHeader{{Type: 0}, {Type: 60}} }), &want6},
		{"IPv6 routing header, no segments left", with(tcp6, func(p *ft.Packet) { p.Ext = []ft.ExtHeader{{Type: 43}} }), &want6},
		{"IPv6 routing header with segments left", with(tcp6, func(p *ft.Packet) { p.Ext = []ft.ExtHeader{{Type: 43, SegmentsLeft: 1}} }), nil},
		{"IPv6 with too many extension headers", with(tcp6, func(p *ft.Packet) {
			for range maxExtHeaders + 1 {
				p.Ext = append(p.Ext, ft.ExtHeader{Type: 60})
			}
		}), nil},
		{"IPv6 with IPv4-mapped source", with(tcp6, func(p *ft.Packet) { p.Src = netip.MustParseAddr("::ffff:100.64.0.2") }), nil},
		{"IPv6 with IPv4-mapped destination", with(tcp6, func(p *ft.Packet) { p.Dst = netip.MustParseAddr("::ffff:100.64.0.1") }), nil},
		{"IPv4 first fragment", with(tcp4, func(p *ft.Packet) { p.Frag = &ft.Fragment{ID: 9, More: true} }),
			&parsed{Proto: 6, Src: peer4, Dst: self4, Sport: 40000, Dport: 22, Flags: ft.SYN, Frag: fragFirst, FragID: 9}},
		{"IPv4 later fragment", with(tcp4, func(p *ft.Packet) { p.Frag = &ft.Fragment{ID: 9, Offset: 24}; p.Payload = make([]byte, 16) }),
			&parsed{Proto: 6, Src: peer4, Dst: self4, Frag: fragLater, FragID: 9}},
		{"IPv4 later fragment overlapping the TCP header", with(tcp4, func(p *ft.Packet) { p.Frag = &ft.Fragment{ID: 9, Offset: 8}; p.Payload = make([]byte, 16) }), nil},
		{"IPv4 first fragment too short for TCP", with(tcp4, func(p *ft.Packet) {
			p.Frag = &ft.Fragment{ID: 9, More: true}
			p.NoTransport = true
			p.Payload = make([]byte, 8)
		}), nil},
		{"IPv6 atomic fragment", with(tcp6, func(p *ft.Packet) { p.Frag = &ft.Fragment{ID: 9} }), &parsed{V6: true, Proto: 6, Src: peer6, Dst: self6, Sport: 40000, Dport: 22, Flags: ft.SYN, FragID: 9}},
		{"IPv6 later fragment", with(tcp6, func(p *ft.Packet) { p.Frag = &ft.Fragment{ID: 9, Offset: 32}; p.Payload = make([]byte, 16) }),
			&parsed{V6: true, Proto: 6, Src: peer6, Dst: self6, Frag: fragLater, FragID: 9}},
		{"IPv6 later fragment overlapping the TCP header", with(tcp6, func(p *ft.Packet) { p.Frag = &ft.Fragment{ID: 9, Offset: 8}; p.Payload = make([]byte, 16) }), nil},
		{"IPv6 later UDP fragment just past the header", with(tcp6, func(p *ft.Packet) {
			p.Proto = ft.ProtoUDP
			p.Frag = &ft.Fragment{ID: 9, Offset: 8}
			p.Payload = make([]byte, 16)
		}),
			&parsed{V6: true, Proto: 17, Src: peer6, Dst: self6, Frag: fragLater, FragID: 9}},
		{"IPv6 first fragment without its transport header", with(tcp6, func(p *ft.Packet) { p.Frag = &ft.Fragment{ID: 9, More: true}; p.NoTransport = true }), nil},
		{"TCP header cut short", ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoTCP, NoTransport: true, Payload: make([]byte, 19)}.Bytes(), nil},
		{"UDP header cut short", ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoUDP, NoTransport: true, Payload: make([]byte, 7)}.Bytes(), nil},
		{"GRE: no ports", ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoGRE, Payload: make([]byte, 4)}.Bytes(), &parsed{Proto: 47, Src: peer4, Dst: self4}},
		{"empty", nil, nil},
		{"version 5", []byte{0x50, 0, 0, 20}, nil},
		{"IPv4 total length past the buffer", tcp4.Bytes()[:30], nil},
		{"IPv4 header length under 20", func() []byte { b := tcp4.Bytes(); b[0] = 0x44; return b }(), nil},
		{"IPv6 payload length past the buffer", tcp6.Bytes()[:50], nil},
		{"IPv6 jumbogram", func() []byte {
			b := with(tcp6, func(p *ft.Packet) { p.Ext = []ft.ExtHeader{{Type: 0}} })
			b[4], b[5] = 0, 0
			return b
		}(), nil},
		{"IPv6 with no next header and no payload", ft.Packet{Src: peer6, Dst: self6, Proto: 59}.Bytes(), &parsed{V6: true, Proto: 59, Src: peer6, Dst: self6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ok := parse(tt.pkt, false)
			if tt.want == nil {
				if ok {
					t.Fatalf("parse: got %+v, want the packet refused", p)
				}
				return
			}
			if !ok {
				t.Fatal("parse refused the packet")
			}
			got := parsed{V6: p.v6, Proto: p.proto, Src: p.src.netip(p.v6), Dst: p.dst.netip(p.v6), Sport: p.sport, Dport: p.dport,
				Flags: p.tcpFlags, Type: p.icmpType, Frag: p.frag, FragID: p.fragID}
			if diff := cmp.Diff(*tt.want, got, cmp.Comparer(func(a, b netip.Addr) bool { return a == b })); diff != "" {
				t.Errorf("parse (-want +got):\n%s", diff)
			}
		})
	}
}

// TestParseEmbedded checks the quoted packet of an ICMP error, which may
// stop 8 bytes into its transport header.
func TestParseEmbedded(t *testing.T) {
	full := ft.TCP(ap(self4, 40000), ap(peer4, 443), ft.SYN|ft.ACK)
	quoted := full[:28]
	if _, ok := parse(quoted, false); ok {
		t.Fatal("a quoted packet parses as a whole one")
	}
	p, ok := parse(quoted, true)
	if !ok || p.sport != 40000 || p.dport != 443 {
		t.Fatalf("parse(embedded): got %+v, %v; want ports 40000 and 443", p, ok)
	}
	if _, ok := parse(full[:27], true); ok {
		t.Error("a quote with less than 8 bytes of transport header parses")
	}
}
