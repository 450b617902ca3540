package packetfilter

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
	ft "github.com/rustynet/rustynet/plugins/internal/packetfilter/filtertest"
)

// FuzzFromPeer feeds arbitrary bytes to a fresh filter, under rules drawn
// from seed: it must never panic, and a packet it passes must be one the
// reference admits as a new connection (a fresh filter tracks nothing, so
// nothing else may pass). The same bytes sent to a peer, and parsed as the
// quote of an ICMP error, must not panic either.
func FuzzFromPeer(f *testing.F) {
	for _, pkt := range seedPackets() {
		f.Add(uint64(1), pkt)
	}
	f.Fuzz(func(t *testing.T, seed uint64, pkt []byte) {
		r := rand.New(rand.NewPCG(seed, 0))
		rules := randomRules(r, 1+r.IntN(12))
		rules = append(rules, hostapi.FilterRule{Src: pfx("100.64.0.0/10", "fd7a::/16"), Dst: pfx("100.64.0.1/32", "fd7a::1/128"), Proto: hostapi.Proto(seed % 4), Ports: ports(0, 1024)})
		fl, _ := newTestFilter(t, Config{shards: 1, MaxFragments: 16})
		if err := fl.Set(hostapi.Filter{Rules: rules}); err != nil {
			t.Fatal(err)
		}
		v := fl.FromPeer(pkt)
		if v.Pass() && (v != PassNew || !refAdmitsNew(rules, pkt)) {
			t.Fatalf("fresh filter: %v for % x, which the reference does not admit as new under %+v", v, pkt, rules)
		}
		fl.ToPeer(pkt)
		_, _ = parse(pkt, true)
	})
}

// seedPackets are a corpus of well-formed and odd packets.
func seedPackets() [][]byte {
	tcp := ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoTCP, SrcPort: 1, DstPort: 22, Flags: ft.SYN}
	tcp6 := ft.Packet{Src: peer6, Dst: self6, Proto: ft.ProtoTCP, SrcPort: 1, DstPort: 22, Flags: ft.SYN}
	with := func(p ft.Packet, f func(*ft.Packet)) []byte { f(&p); return p.Bytes() }
	return [][]byte{
		tcp.Bytes(), tcp6.Bytes(),
		ft.UDP(ap(peer4, 1), ap(self4, 53)),
		ft.UDP(ap(peer6, 1), ap(self6, 53)),
		ft.Echo(peer4, self4, 1, false), ft.Echo(peer6, self6, 1, false),
		ft.ICMPError(peer4, self4, ft.Unreachable4, ft.UDP(ap(self4, 53), ap(peer4, 1))),
		ft.ICMPError(peer6, self6, ft.TooBig6, ft.TCP(ap(self6, 22), ap(peer6, 1), ft.ACK)),
		with(tcp, func(p *ft.Packet) { p.Options = []byte{1, 7, 3, 4} }),
		with(tcp, func(p *ft.Packet) { p.Frag = &ft.Fragment{ID: 5, More: true} }),
		with(tcp, func(p *ft.Packet) { p.Frag = &ft.Fragment{ID: 5, Offset: 24}; p.Payload = []byte{1, 2, 3} }),
		with(tcp6, func(p *ft.Packet) { p.Ext = []ft.ExtHeader{{Type: 0}, {Type: 43}, {Type: 60}} }),
		with(tcp6, func(p *ft.Packet) { p.Frag = &ft.Fragment{ID: 5, More: true} }),
		ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoGRE, Payload: []byte{0, 0, 8, 0}}.Bytes(),
		ft.Packet{Src: netip.MustParseAddr("100.64.1.2"), Dst: netip.MustParseAddr("100.64.0.1"), Proto: ft.ProtoUDP, SrcPort: 9, DstPort: 1000}.Bytes(),
	}
}
