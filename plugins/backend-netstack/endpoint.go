package netstack

import (
	"context"
	"sync"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/checksum"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/link/channel"
	"gvisor.dev/gvisor/pkg/tcpip/stack"
	"gvisor.dev/gvisor/pkg/tcpip/stack/gro"
)

// outQueue is the queue of packets the stacks (the link's and a gateway's)
// send to wireguard-go. Unlike a channel endpoint's queue it keeps a
// reference to each packet rather than a clone, and hands them out in
// batches: one lock and at most one wake-up per batch, not per packet.
// When it holds its capacity, further packets are dropped, as by a full
// channel endpoint (TCP sends them again).
type outQueue struct {
	mu     sync.Mutex
	ring   []*stack.PacketBuffer // capacity outboundQueueLen
	head   int                   // index of the oldest packet
	n      int                   // packets queued
	closed bool
	ready  chan struct{} // signalled when the queue turns non-empty
}

func newOutQueue(capacity int) *outQueue {
	return &outQueue{ring: make([]*stack.PacketBuffer, capacity), ready: make(chan struct{}, 1)}
}

// WritePackets queues what it can of pkts and returns how many it queued.
func (q *outQueue) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return 0, &tcpip.ErrClosedForSend{}
	}
	wasEmpty := q.n == 0
	written := 0
	for _, pkt := range pkts.AsSlice() {
		if q.n == len(q.ring) {
			break
		}
		q.ring[(q.head+q.n)%len(q.ring)] = pkt.IncRef()
		q.n++
		written++
	}
	q.mu.Unlock()
	if wasEmpty && written > 0 {
		select {
		case q.ready <- struct{}{}:
		default:
		}
	}
	return written, nil
}

// take blocks (if block) until at least one packet is queued or ctx is done, then
// moves up to len(dst) packets into dst and returns how many. The caller
// owns a reference to each.
func (q *outQueue) take(ctx context.Context, dst []*stack.PacketBuffer, block bool) int {
	for {
		q.mu.Lock()
		if q.n > 0 {
			k := min(q.n, len(dst))
			for i := range k {
				dst[i] = q.ring[q.head]
				q.ring[q.head] = nil
				q.head = (q.head + 1) % len(q.ring)
			}
			q.n -= k
			q.mu.Unlock()
			return k
		}
		closed := q.closed
		q.mu.Unlock()
		if closed || !block {
			return 0
		}
		select {
		case <-q.ready:
		case <-ctx.Done():
			return 0
		}
	}
}

// close drops every queued packet; later writes fail.
func (q *outQueue) close() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.closed = true
	for ; q.n > 0; q.n-- {
		q.ring[q.head].DecRef()
		q.ring[q.head] = nil
		q.head = (q.head + 1) % len(q.ring)
	}
}

// groBucketSize is how many packets a bucket of gro.GRO holds (its
// unexported groBucketSize).
const groBucketSize = 8

// linkEndpoint is the link's NIC: a channel endpoint for everything but the
// packets the stack sends, which go to out, and the batches wireguard-go
// writes, which deliver coalesces (GRO).
type linkEndpoint struct {
	*channel.Endpoint
	out *outQueue

	mu         sync.RWMutex
	dispatcher stack.NetworkDispatcher // set by Attach
	gros       sync.Pool               // of *gro.GRO, one per Write in progress
}

func newLinkEndpoint(mtu int, out *outQueue) *linkEndpoint {
	e := &linkEndpoint{Endpoint: channel.New(1, uint32(mtu), ""), out: out}
	e.gros.New = func() any {
		g := new(gro.GRO)
		g.Init(true)
		return g
	}
	return e
}

// Capabilities implements stack.LinkEndpoint.Capabilities: the stack need
// not verify the checksums of packets from the link (gVisor's
// CapabilityRXChecksumOffload), for every packet written into it comes
// from wireguard-go, which has authenticated it (ChaCha20-Poly1305) as
// sent by the peer whose allowed IPs hold its source; corruption in transit
// would have failed that. Kernel WireGuard marks what it decrypts the same
// way (CHECKSUM_UNNECESSARY). The stack still checks every header's
// lengths and fields; the checksums of what it sends are computed as
// always. The gateway's stack has its own NIC, which verifies them.
func (e *linkEndpoint) Capabilities() stack.LinkEndpointCapabilities {
	return stack.CapabilityRXChecksumOffload
}

// Attach implements stack.LinkEndpoint.Attach.
func (e *linkEndpoint) Attach(d stack.NetworkDispatcher) {
	e.Endpoint.Attach(d)
	e.mu.Lock()
	e.dispatcher = d
	e.mu.Unlock()
}

// inbound is one batch of packets being delivered into the stack: TCP
// segments of one flow that follow each other are coalesced into one
// (gVisor's GRO), so that the stack handles, and acknowledges, one larger
// segment rather than many. GRO checks the IP header and the TCP checksum
// of each packet before it merges it; what it does not merge reaches the
// stack as it came.
type inbound struct {
	e *linkEndpoint
	g *gro.GRO
}

// startInbound begins a batch; the caller must call inbound.flush.
func (e *linkEndpoint) startInbound() inbound {
	e.mu.RLock()
	d := e.dispatcher
	e.mu.RUnlock()
	if d == nil {
		return inbound{e: e}
	}
	g := e.gros.Get().(*gro.GRO)
	g.Dispatcher = d
	return inbound{e: e, g: g}
}

// add delivers pkt, or holds it to be merged with the next packets of its
// flow. The caller keeps its reference.
func (in inbound) add(proto tcpip.NetworkProtocolNumber, pkt *stack.PacketBuffer) {
	if in.g == nil {
		return // not attached: dropped, as by a channel endpoint
	}
	pkt.NetworkProtocolNumber = proto
	in.g.Enqueue(pkt)
}

// flush delivers every packet still held.
func (in inbound) flush() {
	if in.g == nil {
		return
	}
	// gro.GRO.Flush delivers only the oldest packet of each of its buckets
	// (removing one ends its walk of the bucket's list), so it is called
	// as many times as a bucket holds packets (groBucketSize) to empty
	// them all.
	for range groBucketSize {
		in.g.Flush()
	}
	in.g.Dispatcher = nil
	in.e.gros.Put(in.g)
}

// WritePackets queues the stack's packets for wireguard-go.
func (e *linkEndpoint) WritePackets(pkts stack.PacketBufferList) (int, tcpip.Error) {
	return e.out.WritePackets(pkts)
}

// gsoMaxSize is the largest TCP segment the stack hands the link at once,
// headers included (see linkEndpoint.SupportedGSO): the most that IPv4's
// total length can state. The link cuts it into packets of the MSS.
const gsoMaxSize = 1<<16 - 1

// SupportedGSO implements stack.GSOEndpoint.SupportedGSO: the stack's TCP
// sends segments of up to gsoMaxSize in one pass through the stack, as to
// a NIC that segments them (host GSO), and link.Read cuts each into
// packets of the MSS with their own IP and TCP headers and checksums,
// which it computes in full. wireguard-go and the packet filter only ever
// see ordinary packets.
func (*linkEndpoint) SupportedGSO() stack.SupportedGSO { return stack.HostGSOSupported }

// GSOMaxSize implements stack.GSOEndpoint.GSOMaxSize.
func (*linkEndpoint) GSOMaxSize() uint32 { return gsoMaxSize }

// segmentCount returns how many packets pkt becomes: 1 unless it is a
// TCP segment to cut (gso).
func segmentCount(pkt *stack.PacketBuffer) int {
	g := pkt.GSOOptions
	if g.Type != stack.GSOTCPv4 && g.Type != stack.GSOTCPv6 || g.MSS == 0 {
		return 1
	}
	payload := pkt.Data().Size()
	return max(1, (payload+int(g.MSS)-1)/int(g.MSS))
}

// writeSegment writes packet i of pkt (see segmentCount) into dst and
// returns its size. A packet that is not cut is copied whole. Otherwise
// packet i carries payload bytes [i*MSS, (i+1)*MSS) behind a copy of the
// headers with its own IPv4 total length, identification and header
// checksum (or IPv6 payload length), sequence number, flags (FIN and PSH
// only on the last packet, CWR only on the first) and TCP checksum.
func writeSegment(dst []byte, pkt *stack.PacketBuffer, slices [][]byte, i int) int {
	g := pkt.GSOOptions
	if g.Type != stack.GSOTCPv4 && g.Type != stack.GSOTCPv6 || g.MSS == 0 {
		size := 0
		for _, s := range slices {
			size += copy(dst[size:], s)
		}
		return size
	}
	netLen := len(pkt.NetworkHeader().Slice())
	hdrLen := netLen + len(pkt.TransportHeader().Slice())
	payload := pkt.Data().Size()
	mss := int(g.MSS)
	start := i * mss
	n := min(mss, payload-start)
	copyRange(dst[:hdrLen], slices, 0)
	copyRange(dst[hdrLen:hdrLen+n], slices, hdrLen+start)
	size := hdrLen + n
	tcpHdr := header.TCP(dst[netLen:hdrLen])
	tcpLen := size - netLen
	var src, dstAddr tcpip.Address
	if g.Type == stack.GSOTCPv4 {
		ip := header.IPv4(dst[:netLen])
		ip.SetTotalLength(uint16(size))
		ip.SetID(ip.ID() + uint16(i))
		ip.SetChecksum(0)
		ip.SetChecksum(^ip.CalculateChecksum())
		src, dstAddr = ip.SourceAddress(), ip.DestinationAddress()
	} else {
		ip := header.IPv6(dst[:netLen])
		ip.SetPayloadLength(uint16(size - header.IPv6MinimumSize))
		src, dstAddr = ip.SourceAddress(), ip.DestinationAddress()
	}
	tcpHdr.SetSequenceNumber(tcpHdr.SequenceNumber() + uint32(start))
	flags := tcpHdr.Flags()
	if start+n < payload {
		flags &^= header.TCPFlagFin | header.TCPFlagPsh
	}
	if i > 0 {
		flags &^= header.TCPFlagCwr
	}
	tcpHdr.SetFlags(uint8(flags))
	tcpHdr.SetChecksum(0)
	xsum := header.PseudoHeaderChecksum(header.TCPProtocolNumber, src, dstAddr, uint16(tcpLen))
	xsum = checksum.Checksum(dst[hdrLen:size], xsum)
	tcpHdr.SetChecksum(^tcpHdr.CalculateChecksum(xsum))
	return size
}

// copyRange fills dst from the concatenation of slices, starting at off.
func copyRange(dst []byte, slices [][]byte, off int) {
	for _, s := range slices {
		if len(dst) == 0 {
			return
		}
		if off >= len(s) {
			off -= len(s)
			continue
		}
		c := copy(dst, s[off:])
		dst = dst[c:]
		off = 0
	}
}
