package packetfilter

import (
	"sync"
	"time"
)

// Idle timeouts: a tracked connection ends when no packet of it has passed
// either way for its state's timeout.
const (
	// TCPHandshakeTimeout: a SYN seen, the handshake not complete.
	TCPHandshakeTimeout = 60 * time.Second
	// TCPEstablishedTimeout: the handshake complete, as RFC 5382 REQ-5
	// asks of NATs (at least 2 h 4 min), so that TCP keepalives at their
	// usual 2 h keep an idle connection.
	TCPEstablishedTimeout = 2*time.Hour + 4*time.Minute
	// TCPClosingTimeout: a FIN seen (a half-closed connection may still
	// carry data one way).
	TCPClosingTimeout = 2 * time.Minute
	// TCPResetTimeout: an RST seen; what is left in flight may pass.
	TCPResetTimeout = 10 * time.Second
	// UDPTimeout: datagrams seen one way only.
	UDPTimeout = 30 * time.Second
	// UDPStreamTimeout: datagrams seen both ways (RFC 4787 REQ-5 asks for
	// at least 2 min).
	UDPStreamTimeout = 3 * time.Minute
	// ICMPTimeout: an ICMP echo identifier.
	ICMPTimeout = 30 * time.Second
	// OtherTimeout and OtherStreamTimeout: any other protocol, tracked by
	// addresses alone, one way and both ways (as Linux's generic
	// conntrack).
	OtherTimeout       = 60 * time.Second
	OtherStreamTimeout = 10 * time.Minute
	// CutTimeout: a UDP or other connection that a filter change cut (see
	// stateCut) stays cut while this side keeps sending on it, and this
	// long after.
	CutTimeout = 30 * time.Second
)

// DefaultMaxConns is how many connections a Filter tracks unless
// Config.MaxConns says otherwise: about 8 MiB of table.
const DefaultMaxConns = 65536

// shardCount is how many shards the table has: packets of different
// connections, which wireguard-go writes from a goroutine per peer, rarely
// wait for each other.
const shardCount = 64

// sweepInterval is how often, at most, a full shard is scanned for expired
// connections before it refuses one.
const sweepInterval = time.Second

// evictScan is how many connections a full shard looks at for one it may
// drop (see connState.evictable) before it refuses a new one.
const evictScan = 16

// connKey identifies a tracked connection: protocol, addresses and ports
// (ICMP echo: the identifier as both ports; other protocols: no ports), in
// canonical order, endpoint a being the lesser address (and port).
type connKey struct {
	a, b   addr
	pa, pb uint16
	proto  uint8
	v6     bool
}

// key returns p's connection and whether p's source is its endpoint a.
func (p *packet) key() (k connKey, srcIsA bool) {
	if p.src.less(p.dst) || p.src == p.dst && p.sport <= p.dport {
		return connKey{a: p.src, b: p.dst, pa: p.sport, pb: p.dport, proto: p.proto, v6: p.v6}, true
	}
	return connKey{a: p.dst, b: p.src, pa: p.dport, pb: p.sport, proto: p.proto, v6: p.v6}, false
}

// tracked reports whether packets like p belong to connections: TCP, UDP,
// ICMP echo requests and replies, every protocol but ICMP. Other ICMP
// messages are either errors about a connection or nothing the filter
// passes from peers.
func (p *packet) tracked() bool { return !p.isICMP() || p.isEcho() }

// opening returns the packet that opened k's connection, as far as the
// rules look at it: from the initiator to the responder's port.
func (k connKey) opening(initA bool) packet {
	p := packet{v6: k.v6, proto: k.proto, src: k.a, dst: k.b, sport: k.pa, dport: k.pb}
	if !initA {
		p.src, p.dst, p.sport, p.dport = k.b, k.a, k.pb, k.pa
	}
	if p.isICMP() {
		p.icmpType = icmp4EchoRequest
		if p.v6 {
			p.icmpType = icmp6EchoRequest
		}
	}
	return p
}

// connState is where a tracked connection stands.
type connState uint8

const (
	tcpSynSent     connState = iota + 1 // the initiator's SYN seen
	tcpSynRecv                          // the responder's SYN-ACK seen
	tcpEstablished                      // the initiator's ACK of it seen
	tcpClosing                          // a FIN seen
	tcpReset                            // an RST seen
	udpOneWay                           // datagrams from the initiator only
	udpStream                           // datagrams both ways
	icmpEcho                            // an echo identifier
	otherOneWay                         // another protocol, one way
	otherStream                         // another protocol, both ways
	// stateCut marks a UDP or other connection that the peer had opened
	// and a filter change cut. Its packets from the peer are judged as new
	// ones; packets this side sends on it keep it cut instead of opening
	// it anew, which would let the peer's packets back in as replies.
	// (TCP needs no such mark: only a SYN opens a TCP connection.)
	stateCut
)

// timeout is how long a connection in state s lives without a packet.
func (s connState) timeout() time.Duration {
	switch s {
	case tcpSynSent, tcpSynRecv:
		return TCPHandshakeTimeout
	case tcpEstablished:
		return TCPEstablishedTimeout
	case tcpClosing:
		return TCPClosingTimeout
	case tcpReset:
		return TCPResetTimeout
	case udpOneWay:
		return UDPTimeout
	case udpStream:
		return UDPStreamTimeout
	case icmpEcho:
		return ICMPTimeout
	case otherOneWay:
		return OtherTimeout
	case otherStream:
		return OtherStreamTimeout
	}
	return CutTimeout
}

// evictable reports whether a connection in state s may be dropped to make
// room for a new one: one that has not been answered (or is being torn
// down by an RST) and whose loss only ever closes, never opens. Established
// TCP, answered UDP and other connections, connections closing with a FIN,
// and cut connections are never evicted.
func (s connState) evictable() bool {
	switch s {
	case tcpSynSent, tcpSynRecv, tcpReset, udpOneWay, icmpEcho, otherOneWay:
		return true
	}
	return false
}

// initialState is the state of a connection p opens.
func initialState(p *packet) connState {
	switch {
	case p.proto == protoTCP:
		return tcpSynSent
	case p.proto == protoUDP:
		return udpOneWay
	case p.isICMP():
		return icmpEcho
	}
	return otherOneWay
}

// conn is a tracked connection.
type conn struct {
	deadline int64 // on the filter's clock; the connection has ended at or after it
	state    connState
	initA    bool // the initiator is endpoint a of the key
	local    bool // opened from this side (by a packet to a peer)
}

// advance moves c on for packet p, sent by the initiator if fromInit, at
// time now. It returns false, leaving c as it was, if p does not fit
// where c stands: the responder of a TCP connection sending anything but
// SYN or RST before its SYN-ACK.
func (c *conn) advance(p *packet, fromInit bool, now int64) bool {
	switch c.state {
	case tcpSynSent, tcpSynRecv, tcpEstablished, tcpClosing, tcpReset:
		f := p.tcpFlags
		switch {
		case f&tcpRST != 0:
			c.state = tcpReset
		case f&tcpSYN != 0:
			if c.state == tcpSynSent && f&tcpACK != 0 && !fromInit {
				c.state = tcpSynRecv
			}
			// Otherwise a retransmission, or the other side's SYN in a
			// simultaneous open: the state stays.
		default:
			if c.state == tcpSynSent && !fromInit {
				return false
			}
			if c.state == tcpSynRecv && fromInit && f&tcpACK != 0 {
				c.state = tcpEstablished
			}
			if f&tcpFIN != 0 && (c.state == tcpEstablished || c.state == tcpSynRecv) {
				c.state = tcpClosing
			}
		}
	case udpOneWay:
		if !fromInit {
			c.state = udpStream
		}
	case otherOneWay:
		if !fromInit {
			c.state = otherStream
		}
	}
	c.deadline = now + int64(c.state.timeout())
	return true
}

// restarts reports whether p opens a new connection over c, which then
// ends: a TCP SYN over a connection closed by FIN or RST (a port reused).
func (c *conn) restarts(p *packet) bool {
	return p.proto == protoTCP && p.opens() && (c.state == tcpClosing || c.state == tcpReset)
}

// shard is a part of the connection table with a lock of its own.
type shard struct {
	mu        sync.Mutex
	conns     map[connKey]*conn // guarded by mu
	max       int               // most connections it holds
	nextSweep int64             // guarded by mu: when a full shard may sweep again
	_         [64]byte          // keeps neighbouring shards' locks off one cache line
}

// live returns k's connection, removing it if it has expired by now. s.mu
// is held.
func (s *shard) live(k connKey, now int64) *conn {
	c := s.conns[k]
	if c != nil && now >= c.deadline {
		delete(s.conns, k)
		return nil
	}
	return c
}

// insert adds c as k's connection, making room if the shard is full: first
// by removing expired connections (at most once per sweepInterval), then by
// dropping one evictable connection among evictScan looked at. It returns
// false, changing nothing, if there is no room. s.mu is held.
func (s *shard) insert(k connKey, c *conn, now int64) bool {
	if len(s.conns) >= s.max && !s.makeRoom(now) {
		return false
	}
	s.conns[k] = c
	return true
}

func (s *shard) makeRoom(now int64) bool {
	if now >= s.nextSweep {
		s.nextSweep = now + int64(sweepInterval)
		for k, c := range s.conns {
			if now >= c.deadline {
				delete(s.conns, k)
			}
		}
		if len(s.conns) < s.max {
			return true
		}
	}
	n := 0
	for k, c := range s.conns { // map order is random: a different few each time
		if c.state.evictable() {
			delete(s.conns, k)
			return true
		}
		if n++; n == evictScan {
			break
		}
	}
	return false
}

// count returns how many connections the shard holds that have not
// expired by now. s.mu is held.
func (s *shard) count(now int64) int {
	n := 0
	for _, c := range s.conns {
		if now < c.deadline {
			n++
		}
	}
	return n
}

// mix64 is SplitMix64's finaliser: it spreads every bit of x over the
// result.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// hash hashes k with seed: which shard holds k, unpredictable to a peer
// choosing ports to crowd one shard.
func (k *connKey) hash(seed uint64) uint64 {
	h := mix64(seed ^ k.a.hi)
	h = mix64(h ^ k.a.lo)
	h = mix64(h ^ k.b.hi)
	h = mix64(h ^ k.b.lo)
	return mix64(h ^ uint64(k.pa)<<16 ^ uint64(k.pb) ^ uint64(k.proto)<<32)
}
