package packetfilter

import (
	"encoding/binary"
	"net/netip"
	"slices"

	"golang.org/x/net/ipv4"

	"github.com/rustynet/rustynet/hostapi"
)

// The reference: the contract read naively, rule by rule, over a packet
// read by other code than parse (golang.org/x/net/ipv4 for IPv4 headers, a
// plain walk of IPv6's). It is deliberately lenient in what it reads, so
// that "the filter admits only what the reference admits" tests the
// filter's parsing and matching, not the reference's strictness.

// refPacket is what the reference reads of a packet.
type refPacket struct {
	v6       bool
	src, dst netip.Addr
	proto    int
	later    bool   // a fragment after the first
	l4       []byte // the transport header on
}

func refParse(b []byte) (refPacket, bool) {
	if len(b) == 0 {
		return refPacket{}, false
	}
	if b[0]>>4 == 4 {
		h, err := ipv4.ParseHeader(b)
		if err != nil || h.Len < 20 || h.TotalLen < h.Len || h.TotalLen > len(b) {
			return refPacket{}, false
		}
		src, _ := netip.AddrFromSlice(h.Src.To4())
		dst, _ := netip.AddrFromSlice(h.Dst.To4())
		return refPacket{src: src, dst: dst, proto: h.Protocol, later: h.FragOff > 0, l4: b[h.Len:h.TotalLen]}, true
	}
	if b[0]>>4 != 6 || len(b) < 40 {
		return refPacket{}, false
	}
	end := 40 + int(binary.BigEndian.Uint16(b[4:6]))
	if end > len(b) {
		return refPacket{}, false
	}
	p := refPacket{v6: true, src: netip.AddrFrom16([16]byte(b[8:24])), dst: netip.AddrFrom16([16]byte(b[24:40]))}
	next, at := int(b[6]), 40
	for {
		switch next {
		case 0, 43, 60:
			if at+2 > end {
				return refPacket{}, false
			}
			next, at = int(b[at]), at+8*(int(b[at+1])+1)
		case 44:
			if at+8 > end {
				return refPacket{}, false
			}
			p.later = p.later || binary.BigEndian.Uint16(b[at+2:at+4])>>3 > 0
			next, at = int(b[at]), at+8
		default:
			if at > end {
				return refPacket{}, false
			}
			p.proto, p.l4 = next, b[at:end]
			return p, true
		}
	}
}

// refAdmitsNew reports whether the contract admits packet b from a peer as
// a new connection under rules.
func refAdmitsNew(rules []hostapi.FilterRule, b []byte) bool {
	p, ok := refParse(b)
	if !ok || p.later {
		return false
	}
	icmp := 1
	if p.v6 {
		icmp = 58
	}
	var dport uint16
	switch p.proto {
	case 6:
		if len(p.l4) < 14 || p.l4[13]&0x17 != 0x02 {
			return false
		}
		dport = binary.BigEndian.Uint16(p.l4[2:4])
	case 17:
		if len(p.l4) < 4 {
			return false
		}
		dport = binary.BigEndian.Uint16(p.l4[2:4])
	case icmp:
		if len(p.l4) < 1 || !(p.l4[0] == 8 && !p.v6 || p.l4[0] == 128 && p.v6) {
			return false
		}
	}
	for _, r := range rules {
		if refRuleAdmits(r, p, icmp, dport) {
			return true
		}
	}
	return false
}

func refRuleAdmits(r hostapi.FilterRule, p refPacket, icmp int, dport uint16) bool {
	contains := func(ps []netip.Prefix, a netip.Addr) bool {
		return slices.ContainsFunc(ps, func(x netip.Prefix) bool { return x.Contains(a) })
	}
	if !contains(r.Src, p.src) || !contains(r.Dst, p.dst) {
		return false
	}
	inPorts := len(r.Ports) == 0 || slices.ContainsFunc(r.Ports, func(pr hostapi.PortRange) bool { return pr.First <= dport && dport <= pr.Last })
	switch r.Proto {
	case hostapi.ProtoTCP:
		return p.proto == 6 && inPorts
	case hostapi.ProtoUDP:
		return p.proto == 17 && inPorts
	case hostapi.ProtoICMP:
		return p.proto == icmp
	case hostapi.ProtoAny:
		return p.proto != 6 && p.proto != 17 || inPorts
	}
	return false
}
