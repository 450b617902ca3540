package packetfilter

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers the filter looks into.
const (
	protoICMP   = 1
	protoTCP    = 6
	protoUDP    = 17
	protoICMPv6 = 58
)

// IPv6 extension headers the parser walks through.
const (
	extHopByHop = 0
	extRouting  = 43
	extFragment = 44
	extDestOpts = 60
)

// maxExtHeaders bounds the IPv6 extension headers walked through; a packet
// with more is dropped (a stack would not deliver it either).
const maxExtHeaders = 8

// TCP flags.
const (
	tcpFIN = 0x01
	tcpSYN = 0x02
	tcpRST = 0x04
	tcpACK = 0x10
)

// ICMP message types the filter distinguishes.
const (
	icmp4EchoReply   = 0
	icmp4Unreachable = 3
	icmp4EchoRequest = 8
	icmp4TimeExceed  = 11
	icmp4ParamProb   = 12
	icmp6Unreachable = 1
	icmp6TooBig      = 2
	icmp6TimeExceed  = 3
	icmp6ParamProb   = 4
	icmp6EchoRequest = 128
	icmp6EchoReply   = 129
)

// addr is an IP address as two 64-bit halves, big-endian: an IPv6 address
// fills both, an IPv4 address is the low 32 bits of lo with hi zero (the
// family is kept beside it).
type addr struct{ hi, lo uint64 }

func (a addr) less(b addr) bool { return a.hi < b.hi || a.hi == b.hi && a.lo < b.lo }

func addr4(b []byte) addr { return addr{lo: uint64(binary.BigEndian.Uint32(b))} }

func addr6(b []byte) addr {
	return addr{hi: binary.BigEndian.Uint64(b[:8]), lo: binary.BigEndian.Uint64(b[8:16])}
}

// netip converts a back; v6 says which family it is.
func (a addr) netip(v6 bool) netip.Addr {
	if !v6 {
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], uint32(a.lo))
		return netip.AddrFrom4(b)
	}
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], a.hi)
	binary.BigEndian.PutUint64(b[8:], a.lo)
	return netip.AddrFrom16(b)
}

// addrOf converts a netip address (not IPv4-mapped) to an addr.
func addrOf(a netip.Addr) addr {
	if a.Is4() {
		b := a.As4()
		return addr4(b[:])
	}
	b := a.As16()
	return addr6(b[:])
}

// fragment says where a packet stands in a fragmented datagram.
type fragment uint8

const (
	fragNone  fragment = iota // not fragmented (or an IPv6 atomic fragment)
	fragFirst                 // offset 0, more to come
	fragLater                 // offset > 0: no transport header
)

// packet is what the filter reads from an IP packet.
type packet struct {
	v6       bool
	proto    uint8 // transport protocol: IPv4's, or the header after IPv6's extension headers
	src, dst addr
	// sport and dport are the TCP or UDP ports; for an ICMP echo request
	// or reply, both are its identifier; zero otherwise.
	sport, dport uint16
	tcpFlags     uint8
	icmpType     uint8
	frag         fragment
	fragID       uint32 // IPv4 identification or IPv6 fragment identification
	// l4 is the transport header and everything after it (none for a
	// later fragment).
	l4 []byte
}

// isICMP reports whether p carries the ICMP of its own family.
func (p *packet) isICMP() bool {
	return !p.v6 && p.proto == protoICMP || p.v6 && p.proto == protoICMPv6
}

// isEchoRequest reports whether p is an ICMP or ICMPv6 echo request.
func (p *packet) isEchoRequest() bool {
	return p.isICMP() && (!p.v6 && p.icmpType == icmp4EchoRequest || p.v6 && p.icmpType == icmp6EchoRequest)
}

// isEcho reports whether p is an ICMP or ICMPv6 echo request or reply:
// tracked by its identifier.
func (p *packet) isEcho() bool {
	if !p.isICMP() {
		return false
	}
	if p.v6 {
		return p.icmpType == icmp6EchoRequest || p.icmpType == icmp6EchoReply
	}
	return p.icmpType == icmp4EchoRequest || p.icmpType == icmp4EchoReply
}

// isICMPError reports whether p is an ICMP error message: one that carries
// the start of the packet it is about.
func (p *packet) isICMPError() bool {
	if !p.isICMP() {
		return false
	}
	if p.v6 {
		switch p.icmpType {
		case icmp6Unreachable, icmp6TooBig, icmp6TimeExceed, icmp6ParamProb:
			return true
		}
		return false
	}
	switch p.icmpType {
	case icmp4Unreachable, icmp4TimeExceed, icmp4ParamProb:
		return true
	}
	return false
}

// opens reports whether p may open a connection: a TCP SYN (without ACK,
// RST or FIN), an ICMP echo request, or any packet of another protocol
// (UDP included) but ICMP.
func (p *packet) opens() bool {
	switch {
	case p.proto == protoTCP:
		return p.tcpFlags&(tcpSYN|tcpACK|tcpRST|tcpFIN) == tcpSYN
	case p.isICMP():
		return p.isEchoRequest()
	}
	return true
}

// minTransport is the length a first fragment (or a whole packet) must
// have of proto's header for the filter to read it, and how far a later
// fragment must start past the header's beginning not to overwrite it:
// what RFC 1858 asks of filters, for the ports and TCP flags.
func minTransport(v6 bool, proto uint8) int {
	switch {
	case proto == protoTCP:
		return 20
	case proto == protoUDP, !v6 && proto == protoICMP, v6 && proto == protoICMPv6:
		return 8
	}
	return 0
}

// parse reads an IP packet. It returns false for anything a filter cannot
// judge safely: a truncated or inconsistent header, an IPv4 source-route
// option, an IPv6 routing header with segments left (the destination would
// not be the final one), IPv4-mapped IPv6 addresses, too many extension
// headers, a first fragment too short for its transport header, or a later
// fragment that overlaps it.
//
// embedded parses the packet quoted in an ICMP error instead: it may be
// cut short after 8 bytes of transport header, which is all the ports
// need.
func parse(b []byte, embedded bool) (p packet, ok bool) {
	if len(b) == 0 {
		return p, false
	}
	switch b[0] >> 4 {
	case 4:
		return parse4(b, embedded)
	case 6:
		return parse6(b, embedded)
	}
	return p, false
}

func parse4(b []byte, embedded bool) (p packet, ok bool) {
	if len(b) < 20 {
		return p, false
	}
	ihl := int(b[0]&0x0f) * 4
	total := int(binary.BigEndian.Uint16(b[2:4]))
	if ihl < 20 || total < ihl || ihl > len(b) {
		return p, false
	}
	switch {
	case total <= len(b):
		b = b[:total]
	case !embedded:
		return p, false
	}
	if !options4Safe(b[20:ihl]) {
		return p, false
	}
	p.proto = b[9]
	p.src, p.dst = addr4(b[12:16]), addr4(b[16:20])
	p.fragID = uint32(binary.BigEndian.Uint16(b[4:6]))
	ff := binary.BigEndian.Uint16(b[6:8])
	offset, more := int(ff&0x1fff)*8, ff&0x2000 != 0
	switch {
	case offset > 0:
		if offset < minTransport(false, p.proto) {
			return p, false // would overwrite the transport header (RFC 1858)
		}
		p.frag = fragLater
		return p, true
	case more:
		p.frag = fragFirst
	}
	return p, transport(&p, b[ihl:], embedded)
}

// options4Safe reports whether IPv4 options are well formed and carry no
// source route (loose or strict), which would make the destination address
// a waypoint rather than the destination.
func options4Safe(opts []byte) bool {
	for i := 0; i < len(opts); {
		switch t := opts[i]; t {
		case 0: // end of options
			return true
		case 1: // no operation
			i++
		case 131, 137: // loose, strict source and record route
			return false
		default:
			if i+1 >= len(opts) {
				return false
			}
			n := int(opts[i+1])
			if n < 2 || i+n > len(opts) {
				return false
			}
			i += n
		}
	}
	return true
}

func parse6(b []byte, embedded bool) (p packet, ok bool) {
	if len(b) < 40 {
		return p, false
	}
	// A jumbogram (payload length 0 and a hop-by-hop jumbo option) is
	// refused below: its hop-by-hop header lies past the 40 bytes.
	total := 40 + int(binary.BigEndian.Uint16(b[4:6]))
	switch {
	case total <= len(b):
		b = b[:total]
	case !embedded:
		return p, false
	}
	p.v6 = true
	p.src, p.dst = addr6(b[8:24]), addr6(b[24:40])
	if isMapped(p.src) || isMapped(p.dst) {
		return p, false
	}
	next, off := b[6], 40
	sawFragment := false
	for range maxExtHeaders + 1 {
		switch next {
		case extHopByHop, extDestOpts, extRouting:
			if off+8 > len(b) {
				return p, false
			}
			if next == extRouting && b[off+3] != 0 {
				return p, false // segments left: the destination is a waypoint
			}
			next, off = b[off], off+(int(b[off+1])+1)*8
			if off > len(b) {
				return p, false
			}
		case extFragment:
			if sawFragment || off+8 > len(b) {
				return p, false
			}
			sawFragment = true
			fo := binary.BigEndian.Uint16(b[off+2 : off+4])
			offset, more := int(fo>>3)*8, fo&1 != 0
			p.fragID = binary.BigEndian.Uint32(b[off+4 : off+8])
			next, off = b[off], off+8
			switch {
			case offset > 0:
				p.proto = next
				if offset < minTransport(true, next) {
					return p, false
				}
				p.frag = fragLater
				return p, true
			case more:
				p.frag = fragFirst
			}
		default:
			p.proto = next
			return p, transport(&p, b[off:], embedded)
		}
	}
	return p, false
}

// isMapped reports whether a (as IPv6) is IPv4-mapped, ::ffff:0:0/96: no
// such address is valid on the wire (RFC 4291 §2.5.5.2).
func isMapped(a addr) bool { return a.hi == 0 && a.lo>>32 == 0xffff }

// transport reads the transport header l4 of p, which must hold all of it
// that the filter reads (with embedded: the first 8 bytes).
func transport(p *packet, l4 []byte, embedded bool) bool {
	p.l4 = l4
	need := minTransport(p.v6, p.proto)
	if embedded {
		need = min(need, 8)
	}
	if len(l4) < need {
		return false
	}
	switch {
	case p.proto == protoTCP:
		p.sport, p.dport = binary.BigEndian.Uint16(l4[0:2]), binary.BigEndian.Uint16(l4[2:4])
		if len(l4) > 13 {
			p.tcpFlags = l4[13]
		}
	case p.proto == protoUDP:
		p.sport, p.dport = binary.BigEndian.Uint16(l4[0:2]), binary.BigEndian.Uint16(l4[2:4])
	case p.isICMP():
		p.icmpType = l4[0]
		if p.isEcho() {
			id := binary.BigEndian.Uint16(l4[4:6])
			p.sport, p.dport = id, id
		}
	}
	return true
}
