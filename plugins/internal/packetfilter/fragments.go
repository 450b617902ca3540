package packetfilter

import (
	"sync"
	"time"
)

// FragmentTimeout is how long after a datagram's first fragment passed its
// later fragments pass: as long as Linux waits to reassemble an IPv4
// datagram.
const FragmentTimeout = 30 * time.Second

// DefaultMaxFragments is how many fragmented datagrams a Filter remembers
// unless Config.MaxFragments says otherwise.
const DefaultMaxFragments = 4096

// fragKey identifies a fragmented datagram: addresses and identification,
// and for IPv4 the protocol too (RFC 791 §3.2; IPv6 identifications are
// unique per address pair).
type fragKey struct {
	src, dst addr
	id       uint32
	proto    uint8
	v6       bool
}

func (p *packet) fragKey() fragKey {
	k := fragKey{src: p.src, dst: p.dst, id: p.fragID, v6: p.v6}
	if !p.v6 {
		k.proto = p.proto
	}
	return k
}

// fragTable remembers the datagrams whose first fragment passed, so that
// their later fragments, which carry no transport header, pass too. When
// full it forgets the datagram admitted longest ago: that only ever drops
// fragments, never passes one.
type fragTable struct {
	mu   sync.Mutex
	m    map[fragKey]fragEntry // guarded by mu
	ring []fragKey             // guarded by mu: keys in the order admitted, len = capacity
	next int                   // guarded by mu: the ring slot to fill next
}

type fragEntry struct {
	deadline int64
	slot     int32 // where in the ring the key was last put
}

func newFragTable(max int) *fragTable {
	return &fragTable{m: make(map[fragKey]fragEntry), ring: make([]fragKey, max)}
}

// admit lets the later fragments of k's datagram pass until deadline.
func (t *fragTable) admit(k fragKey, deadline int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	slot := int32(t.next)
	if e, ok := t.m[t.ring[slot]]; ok && e.slot == slot {
		delete(t.m, t.ring[slot]) // the oldest datagram makes room
	}
	t.ring[slot] = k
	t.m[k] = fragEntry{deadline: deadline, slot: slot}
	t.next = (t.next + 1) % len(t.ring)
}

// admitted reports whether later fragments of k's datagram pass at now.
func (t *fragTable) admitted(k fragKey, now int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[k]
	return ok && now < e.deadline
}

// clear forgets every datagram.
func (t *fragTable) clear() {
	t.mu.Lock()
	defer t.mu.Unlock()
	clear(t.m)
	clear(t.ring)
}
