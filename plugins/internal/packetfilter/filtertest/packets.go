// Package filtertest builds raw IP packets and filters for tests and
// benchmarks of packet filters: plugins/internal/packetfilter and the
// backends that put it in their data path.
package filtertest

import (
	"encoding/binary"
	"net/netip"
)

// IP protocol numbers.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoGRE    = 47
	ProtoICMPv6 = 58
)

// TCP flags.
const (
	FIN = 0x01
	SYN = 0x02
	RST = 0x04
	PSH = 0x08
	ACK = 0x10
)

// ICMP types.
const (
	EchoReply4   = 0
	Unreachable4 = 3
	Redirect4    = 5
	EchoRequest4 = 8
	TimeExceed4  = 11
	Timestamp4   = 13
	Unreachable6 = 1
	TooBig6      = 2
	EchoRequest6 = 128
	EchoReply6   = 129
	RouterAdv6   = 134
)

// ExtHeader is an IPv6 extension header to put before the transport
// header: Type 0 (hop-by-hop), 43 (routing, with SegmentsLeft), 44
// (fragment: use Packet.Frag instead) or 60 (destination options).
type ExtHeader struct {
	Type         uint8
	SegmentsLeft uint8 // routing headers
}

// Fragment makes a packet a fragment of datagram ID, starting at byte
// Offset (a multiple of 8) of the datagram's payload, with more fragments
// to come if More. IPv6 packets get a fragment header.
type Fragment struct {
	ID     uint32
	Offset int
	More   bool
}

// Packet describes an IP packet. Checksums are left zero: a filter does not
// read them.
type Packet struct {
	Src, Dst netip.Addr
	Proto    uint8
	// TCP and UDP.
	SrcPort, DstPort uint16
	Flags            uint8 // TCP
	// ICMP (ICMPv6 for IPv6 addresses): Type, Code and, for echo, ID.
	Type, Code uint8
	ID         uint16
	// Quote is the packet an ICMP error quotes.
	Quote []byte
	// Payload follows the transport header; with Frag.Offset > 0 the
	// packet carries only it.
	Payload []byte
	Frag    *Fragment
	// Options are IPv4 options (padded to 4 bytes); Ext are IPv6
	// extension headers.
	Options []byte
	Ext     []ExtHeader
	// NoTransport leaves the transport header out (a truncated packet).
	NoTransport bool
}

// TCP returns a TCP packet from src to dst with flags.
func TCP(src, dst netip.AddrPort, flags uint8) []byte {
	return Packet{Src: src.Addr(), Dst: dst.Addr(), Proto: ProtoTCP, SrcPort: src.Port(), DstPort: dst.Port(), Flags: flags}.Bytes()
}

// UDP returns a UDP datagram from src to dst.
func UDP(src, dst netip.AddrPort) []byte {
	return Packet{Src: src.Addr(), Dst: dst.Addr(), Proto: ProtoUDP, SrcPort: src.Port(), DstPort: dst.Port()}.Bytes()
}

// Echo returns an ICMP (or ICMPv6) echo request, or reply, with identifier
// id.
func Echo(src, dst netip.Addr, id uint16, reply bool) []byte {
	p := Packet{Src: src, Dst: dst, Proto: ProtoICMP, Type: EchoRequest4, ID: id}
	switch {
	case src.Is6() && reply:
		p.Proto, p.Type = ProtoICMPv6, EchoReply6
	case src.Is6():
		p.Proto, p.Type = ProtoICMPv6, EchoRequest6
	case reply:
		p.Type = EchoReply4
	}
	return p.Bytes()
}

// ICMPError returns an ICMP error of type typ from src to dst quoting
// quote (for IPv6 addresses, ICMPv6).
func ICMPError(src, dst netip.Addr, typ uint8, quote []byte) []byte {
	p := Packet{Src: src, Dst: dst, Proto: ProtoICMP, Type: typ, Quote: quote}
	if src.Is6() {
		p.Proto = ProtoICMPv6
	}
	return p.Bytes()
}

// Bytes encodes p.
func (p Packet) Bytes() []byte {
	l4 := p.transport()
	if p.Frag != nil && p.Frag.Offset > 0 {
		l4 = p.Payload
	}
	if p.Src.Is4() {
		return p.ipv4(l4)
	}
	return p.ipv6(l4)
}

func (p Packet) transport() []byte {
	if p.NoTransport {
		return nil
	}
	var h []byte
	switch p.Proto {
	case ProtoTCP:
		h = make([]byte, 20)
		binary.BigEndian.PutUint16(h[0:], p.SrcPort)
		binary.BigEndian.PutUint16(h[2:], p.DstPort)
		h[12] = 5 << 4
		h[13] = p.Flags
		binary.BigEndian.PutUint16(h[14:], 65535)
	case ProtoUDP:
		h = make([]byte, 8)
		binary.BigEndian.PutUint16(h[0:], p.SrcPort)
		binary.BigEndian.PutUint16(h[2:], p.DstPort)
		binary.BigEndian.PutUint16(h[4:], uint16(8+len(p.Payload)))
	case ProtoICMP, ProtoICMPv6:
		h = make([]byte, 8)
		h[0], h[1] = p.Type, p.Code
		binary.BigEndian.PutUint16(h[4:], p.ID)
		h = append(h, p.Quote...)
	}
	return append(h, p.Payload...)
}

func (p Packet) ipv4(l4 []byte) []byte {
	opts := append([]byte(nil), p.Options...)
	for len(opts)%4 != 0 {
		opts = append(opts, 0)
	}
	ihl := 20 + len(opts)
	b := make([]byte, ihl, ihl+len(l4))
	b[0] = 4<<4 | byte(ihl/4)
	binary.BigEndian.PutUint16(b[2:], uint16(ihl+len(l4)))
	if p.Frag != nil {
		binary.BigEndian.PutUint16(b[4:], uint16(p.Frag.ID))
		ff := uint16(p.Frag.Offset / 8)
		if p.Frag.More {
			ff |= 0x2000
		}
		binary.BigEndian.PutUint16(b[6:], ff)
	}
	b[8] = 64
	b[9] = p.Proto
	s, d := p.Src.As4(), p.Dst.As4()
	copy(b[12:], s[:])
	copy(b[16:], d[:])
	copy(b[20:], opts)
	return append(b, l4...)
}

func (p Packet) ipv6(l4 []byte) []byte {
	var ext []byte
	next := p.Proto
	// Headers are built last to first, each naming the one after it.
	if p.Frag != nil {
		h := make([]byte, 8)
		h[0] = next
		fo := uint16(p.Frag.Offset/8) << 3
		if p.Frag.More {
			fo |= 1
		}
		binary.BigEndian.PutUint16(h[2:], fo)
		binary.BigEndian.PutUint32(h[4:], p.Frag.ID)
		ext, next = append(h, ext...), 44
	}
	for i := len(p.Ext) - 1; i >= 0; i-- {
		h := make([]byte, 8)
		h[0] = next
		if p.Ext[i].Type == 43 {
			h[3] = p.Ext[i].SegmentsLeft
		}
		ext, next = append(h, ext...), p.Ext[i].Type
	}
	b := make([]byte, 40, 40+len(ext)+len(l4))
	b[0] = 6 << 4
	binary.BigEndian.PutUint16(b[4:], uint16(len(ext)+len(l4)))
	b[6] = next
	b[7] = 64
	s, d := p.Src.As16(), p.Dst.As16()
	copy(b[8:], s[:])
	copy(b[24:], d[:])
	b = append(b, ext...)
	return append(b, l4...)
}
