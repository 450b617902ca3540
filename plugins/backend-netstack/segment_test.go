package netstack

import (
	"bytes"
	"fmt"
	"testing"

	"gvisor.dev/gvisor/pkg/buffer"
	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
)

// gsoPacket builds a TCP segment as the stack hands it to the link with
// host GSO: headers with a partial checksum and payload bytes beyond one
// MSS.
func gsoPacket(v6 bool, payload []byte, mss uint16, flags header.TCPFlags) *stack.PacketBuffer {
	pkt := stack.NewPacketBuffer(stack.PacketBufferOptions{ReserveHeaderBytes: 80, Payload: buffer.MakeWithData(payload)})
	opts := []byte{1, 1, 8, 10, 1, 2, 3, 4, 5, 6, 7, 8} // NOP NOP timestamps
	tcp := header.TCP(pkt.TransportHeader().Push(header.TCPMinimumSize + len(opts)))
	tcp.Encode(&header.TCPFields{SrcPort: 9, DstPort: 40000, SeqNum: 0xfffff000, AckNum: 77, DataOffset: uint8(len(tcp)), Flags: flags, WindowSize: 1000})
	copy(tcp[header.TCPMinimumSize:], opts)
	tcp.SetChecksum(0x1234) // partial: must be replaced
	size := len(tcp) + len(payload)
	if v6 {
		ip := header.IPv6(pkt.NetworkHeader().Push(header.IPv6MinimumSize))
		ip.Encode(&header.IPv6Fields{PayloadLength: uint16(size), TransportProtocol: header.TCPProtocolNumber, HopLimit: 64,
			SrcAddr: tcpip.AddrFrom16([16]byte{0xfd, 1: 1}), DstAddr: tcpip.AddrFrom16([16]byte{0xfd, 1: 2})})
		pkt.GSOOptions = stack.GSO{Type: stack.GSOTCPv6, L3HdrLen: header.IPv6MinimumSize, MSS: mss, NeedsCsum: true, CsumOffset: header.TCPChecksumOffset}
	} else {
		ip := header.IPv4(pkt.NetworkHeader().Push(header.IPv4MinimumSize))
		ip.Encode(&header.IPv4Fields{TotalLength: uint16(header.IPv4MinimumSize + size), ID: 65534, Flags: header.IPv4FlagDontFragment, TTL: 64, Protocol: uint8(header.TCPProtocolNumber),
			SrcAddr: tcpip.AddrFrom4([4]byte{100, 64, 0, 1}), DstAddr: tcpip.AddrFrom4([4]byte{100, 64, 0, 2})})
		ip.SetChecksum(^ip.CalculateChecksum())
		pkt.GSOOptions = stack.GSO{Type: stack.GSOTCPv4, L3HdrLen: header.IPv4MinimumSize, MSS: mss, NeedsCsum: true, CsumOffset: header.TCPChecksumOffset}
	}
	return pkt
}

// TestWriteSegment checks that a segment sent with host GSO becomes
// packets of at most the MSS with valid headers and checksums, sequence
// numbers and identifications that follow each other, FIN and PSH only on
// the last, and the payload in order.
func TestWriteSegment(t *testing.T) {
	for _, v6 := range []bool{false, true} {
		for _, n := range []int{1, 1379, 1380, 1381, 5000, 65474} {
			t.Run(fmt.Sprintf("v6=%v/%d", v6, n), func(t *testing.T) {
				payload := make([]byte, n)
				for i := range payload {
					payload[i] = byte(i * 7)
				}
				const mss = 1380
				pkt := gsoPacket(v6, payload, mss, header.TCPFlagAck|header.TCPFlagPsh|header.TCPFlagFin)
				defer pkt.DecRef()
				count := segmentCount(pkt)
				if want := (n + mss - 1) / mss; count != want {
					t.Fatalf("segmentCount = %d, want %d", count, want)
				}
				slices := pkt.AsSlices()
				var got []byte
				for i := range count {
					buf := make([]byte, 2000)
					size := writeSegment(buf, pkt, slices, i)
					p := buf[:size]
					var src, dst tcpip.Address
					var tcp header.TCP
					if v6 {
						ip := header.IPv6(p)
						if int(ip.PayloadLength()) != size-header.IPv6MinimumSize {
							t.Fatalf("packet %d: payload length %d, size %d", i, ip.PayloadLength(), size)
						}
						src, dst, tcp = ip.SourceAddress(), ip.DestinationAddress(), header.TCP(p[header.IPv6MinimumSize:])
					} else {
						ip := header.IPv4(p)
						if !ip.IsValid(size) || !ip.IsChecksumValid() || int(ip.TotalLength()) != size {
							t.Fatalf("packet %d: invalid IPv4 header % x", i, p[:20])
						}
						if want := uint16(65534 + i); ip.ID() != want {
							t.Errorf("packet %d: ID %d, want %d", i, ip.ID(), want)
						}
						src, dst, tcp = ip.SourceAddress(), ip.DestinationAddress(), header.TCP(p[header.IPv4MinimumSize:])
					}
					data := tcp[tcp.DataOffset():]
					if len(data) > mss {
						t.Fatalf("packet %d: %d bytes of payload, MSS %d", i, len(data), mss)
					}
					xsum := header.PseudoHeaderChecksum(header.TCPProtocolNumber, src, dst, uint16(len(tcp)))
					if !tcp.IsChecksumValid(src, dst, checksum.Checksum(data, 0), uint16(len(data))) {
						t.Fatalf("packet %d: bad TCP checksum (pseudo-header %#x)", i, xsum)
					}
					if want := uint32(0xfffff000) + uint32(i*mss); tcp.SequenceNumber() != want {
						t.Errorf("packet %d: seq %#x, want %#x", i, tcp.SequenceNumber(), want)
					}
					last := i == count-1
					if fin := tcp.Flags()&(header.TCPFlagFin|header.TCPFlagPsh) != 0; fin != last {
						t.Errorf("packet %d of %d: flags %v", i, count, tcp.Flags())
					}
					got = append(got, data...)
				}
				if !bytes.Equal(got, payload) {
					t.Fatal("payload not reassembled in order")
				}
			})
		}
	}
}
