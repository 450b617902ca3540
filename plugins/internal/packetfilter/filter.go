package packetfilter

import (
	"crypto/rand"
	"encoding/binary"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// Config configures a Filter. The zero value is the defaults.
type Config struct {
	// MaxConns bounds the connections tracked at once (0:
	// DefaultMaxConns). The table is split in 64 shards of MaxConns/64
	// each (at least one), and a new connection is refused when its own
	// shard is full: the table holds at most max(MaxConns, 64) and may
	// refuse one a little before (about 64,500 of the default 65,536).
	MaxConns int
	// MaxFragments bounds the fragmented datagrams remembered at once (0:
	// DefaultMaxFragments).
	MaxFragments int
	// Now is the clock (nil: time.Now). Tests inject one to move time.
	Now func() time.Time
	// Logger receives a warning, at most once a minute, while the table is
	// full and refuses connections; nil discards it.
	Logger *slog.Logger

	shards int // 0: shardCount; tests set 1 to make MaxConns exact
}

// fullWarnInterval is how often, at most, a full table is logged.
const fullWarnInterval = time.Minute

// Filter is a stateful packet filter between a WireGuard device and the
// stack or TUN device it delivers to, enforcing a hostapi.Filter as
// hostapi.Backend.SetFilter states (see the package documentation).
//
// FromPeer judges every packet arriving from a peer; ToPeer must see every
// packet leaving for a peer, so that replies to connections opened from
// this side pass. Until the first Set, every packet passes (connections
// are tracked all the same, so that the first filter can keep those it
// admits). All methods are safe for concurrent use: FromPeer and ToPeer
// lock one shard of the table, Set every shard in turn.
type Filter struct {
	now  func() time.Time
	base time.Time // the clock's zero: connection deadlines are nanoseconds since
	seed uint64    // shard hash seed
	log  *slog.Logger

	// rules is the compiled filter; nil before the first Set (nothing is
	// filtered). A new connection from a peer is judged by the rules
	// loaded while its shard is locked, so that Set, which prunes every
	// shard after storing new rules, never misses one admitted by the old.
	// Lock order: setMu, then a shard's mu, then the fragment table's.
	rules  atomic.Pointer[ruleSet]
	setMu  sync.Mutex // serialises Set
	shards []shard
	frags  *fragTable

	stats    counters
	lastWarn atomic.Int64 // clock of the last "table full" warning, plus one
}

// counters are the Filter's drop counts, read by Stats.
type counters struct {
	verdicts  [verdictCount]atomic.Uint64 // drops only: passes are not counted, to keep them contention-free
	untracked atomic.Uint64
}

// New returns a Filter that passes everything until the first Set.
func New(cfg Config) *Filter {
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	if cfg.MaxFragments <= 0 {
		cfg.MaxFragments = DefaultMaxFragments
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	n := cfg.shards
	if n <= 0 {
		n = shardCount
	}
	var seed [8]byte
	_, _ = rand.Read(seed[:]) // never fails (crypto/rand panics instead)
	f := &Filter{
		now:    cfg.Now,
		base:   cfg.Now(),
		seed:   binary.LittleEndian.Uint64(seed[:]),
		log:    cfg.Logger,
		shards: make([]shard, n),
		frags:  newFragTable(cfg.MaxFragments),
	}
	for i := range f.shards {
		f.shards[i] = shard{conns: make(map[connKey]*conn), max: max(1, cfg.MaxConns/n)}
	}
	return f
}

// clock returns the time now on the filter's clock.
func (f *Filter) clock() int64 { return int64(f.now().Sub(f.base)) }

func (f *Filter) shardOf(k *connKey) *shard {
	return &f.shards[k.hash(f.seed)%uint64(len(f.shards))]
}

// Set replaces the filter with hf: from its return, a new connection from
// a peer passes only if a rule of hf admits it, and every tracked
// connection a peer opened that hf does not admit is cut — TCP and ICMP
// ones forgotten, UDP and other ones marked cut (see stateCut) — so that
// its next packet from the peer is dropped. Connections opened from this
// side stay: their replies are not the rules' business. Datagrams whose
// later fragments were expected are forgotten. An invalid hf (Check) or
// one too large to compile fails with hostapi.ErrInvalidArgument, and
// nothing changes.
func (f *Filter) Set(hf hostapi.Filter) error {
	if err := hostapi.CheckFilter(hf); err != nil {
		return err
	}
	rs, err := compile(hf)
	if err != nil {
		return err
	}
	f.setMu.Lock()
	defer f.setMu.Unlock()
	f.rules.Store(rs)
	now := f.clock()
	for i := range f.shards {
		s := &f.shards[i]
		s.mu.Lock()
		for k, c := range s.conns {
			switch {
			case now >= c.deadline:
				delete(s.conns, k)
			case c.local || c.state == stateCut:
			default:
				if p := k.opening(c.initA); !rs.admits(&p) {
					f.cut(s, k, c, now)
				}
			}
		}
		s.mu.Unlock()
	}
	f.frags.clear()
	return nil
}

// cut ends connection c (key k in s) that the rules no longer admit. s.mu
// is held.
func (f *Filter) cut(s *shard, k connKey, c *conn, now int64) {
	if k.proto == protoTCP || c.state == icmpEcho {
		delete(s.conns, k)
		return
	}
	c.state = stateCut
	c.deadline = now + int64(CutTimeout)
}

// FromPeer judges pkt, an IP packet arriving from a peer, and records it.
func (f *Filter) FromPeer(pkt []byte) Verdict { return f.fromPeer(pkt, f.clock()) }

// FromPeers judges the packets bufs[i][offset:] arriving from peers (the
// shape of tun.Device.Write) and returns those that pass: bufs itself if
// all do, else scratch[:0] with them appended.
func (f *Filter) FromPeers(bufs [][]byte, offset int, scratch [][]byte) [][]byte {
	now := f.clock()
	for i, b := range bufs {
		if f.fromPeer(b[offset:], now).Pass() {
			continue
		}
		out := append(scratch[:0], bufs[:i]...)
		for _, b := range bufs[i+1:] {
			if f.fromPeer(b[offset:], now).Pass() {
				out = append(out, b)
			}
		}
		return out
	}
	return bufs
}

// ToPeer records pkt, an IP packet leaving for a peer: a packet that opens
// a connection from this side makes the peer's replies pass.
func (f *Filter) ToPeer(pkt []byte) { f.toPeer(pkt, f.clock()) }

// ToPeers records the packets bufs[i][offset:offset+sizes[i]] leaving for
// peers (the shape of tun.Device.Read).
func (f *Filter) ToPeers(bufs [][]byte, sizes []int, offset int) {
	now := f.clock()
	for i, b := range bufs {
		f.toPeer(b[offset:offset+sizes[i]], now)
	}
}

func (f *Filter) fromPeer(pkt []byte, now int64) Verdict {
	v := f.judge(pkt, now)
	if !v.Pass() {
		f.stats.verdicts[v].Add(1)
	}
	return v
}

// judge decides a packet from a peer.
func (f *Filter) judge(pkt []byte, now int64) Verdict {
	p, ok := parse(pkt, false)
	switch {
	case !ok:
		if f.rules.Load() == nil {
			return PassUnfiltered
		}
		return DropMalformed
	case p.frag == fragLater:
		return f.laterFragment(&p, now)
	case p.isICMPError():
		return f.icmpError(&p, now)
	case !p.tracked():
		if f.rules.Load() == nil {
			return PassUnfiltered
		}
		return DropNotNew
	}
	k, srcIsA := p.key()
	s := f.shardOf(&k)
	s.mu.Lock()
	v := f.judgeLocked(s, k, srcIsA, &p, now)
	if v.Pass() && p.frag == fragFirst {
		// Under the shard's lock (then the fragment table's), so that a
		// Set that cuts the connection also forgets the datagram.
		f.frags.admit(p.fragKey(), now+int64(FragmentTimeout))
	}
	s.mu.Unlock()
	if v == DropTableFull {
		f.warnFull(now)
	}
	return v
}

// judgeLocked decides a tracked kind of packet from a peer. s.mu is held.
func (f *Filter) judgeLocked(s *shard, k connKey, srcIsA bool, p *packet, now int64) Verdict {
	c := s.live(k, now)
	if c != nil && c.restarts(p) {
		delete(s.conns, k)
		c = nil
	}
	if c != nil && c.state != stateCut {
		if !c.advance(p, srcIsA == c.initA, now) {
			return DropInvalid
		}
		return PassTracked
	}
	rs := f.rules.Load()
	if rs == nil {
		if p.opens() && c == nil && !s.insert(k, newConn(p, srcIsA, false, now), now) {
			f.stats.untracked.Add(1)
		}
		return PassUnfiltered
	}
	switch {
	case !p.opens():
		return DropNotNew
	case !rs.admits(p):
		return DropNoRule
	}
	if c != nil { // cut, and admitted again
		*c = *newConn(p, srcIsA, false, now)
		return PassNew
	}
	if !s.insert(k, newConn(p, srcIsA, false, now), now) {
		return DropTableFull
	}
	return PassNew
}

func newConn(p *packet, srcIsA, local bool, now int64) *conn {
	c := &conn{state: initialState(p), initA: srcIsA, local: local}
	c.deadline = now + int64(c.state.timeout())
	return c
}

// laterFragment decides a fragment after the first: it passes if the
// first fragment of its datagram did.
func (f *Filter) laterFragment(p *packet, now int64) Verdict {
	switch {
	case f.rules.Load() == nil:
		return PassUnfiltered
	case f.frags.admitted(p.fragKey(), now):
		return PassFragment
	}
	return DropFragment
}

// icmpError decides an ICMP error from a peer: it passes if the packet it
// quotes belongs to a tracked connection that is not cut, and the error
// goes back to that packet's sender.
func (f *Filter) icmpError(p *packet, now int64) Verdict {
	if f.rules.Load() == nil {
		return PassUnfiltered
	}
	q, ok := parse(p.l4[8:], true)
	if !ok || q.v6 != p.v6 || q.frag == fragLater || !q.tracked() || q.isICMPError() || q.src != p.dst {
		return DropUnrelated
	}
	k, _ := q.key()
	s := f.shardOf(&k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.live(k, now); c == nil || c.state == stateCut {
		return DropUnrelated
	}
	if p.frag == fragFirst {
		f.frags.admit(p.fragKey(), now+int64(FragmentTimeout))
	}
	return PassRelated
}

// toPeer records a packet leaving for a peer.
func (f *Filter) toPeer(pkt []byte, now int64) {
	p, ok := parse(pkt, false)
	if !ok || p.frag == fragLater || !p.tracked() {
		return
	}
	k, srcIsA := p.key()
	s := f.shardOf(&k)
	s.mu.Lock()
	full := false
	c := s.live(k, now)
	switch {
	case c != nil && c.restarts(&p):
		delete(s.conns, k)
		full = !s.insert(k, newConn(&p, srcIsA, true, now), now)
	case c != nil && c.state == stateCut:
		c.deadline = now + int64(CutTimeout)
	case c != nil:
		c.advance(&p, srcIsA == c.initA, now)
	case p.opens():
		full = !s.insert(k, newConn(&p, srcIsA, true, now), now)
	}
	s.mu.Unlock()
	if full {
		f.stats.untracked.Add(1)
		f.warnFull(now)
	}
}

// warnFull logs, at most once per fullWarnInterval, that the table is full.
func (f *Filter) warnFull(now int64) {
	last := f.lastWarn.Load()
	if last != 0 && now < last-1+int64(fullWarnInterval) {
		return
	}
	if f.lastWarn.CompareAndSwap(last, now+1) {
		f.log.Warn("packet filter: the connection table is full; new connections from peers are dropped and new ones to peers get no replies until connections end",
			"max_conns", len(f.shards)*f.shards[0].max)
	}
}

// Stats is a snapshot of a Filter's table and counters.
type Stats struct {
	// Conns is how many connections are tracked (cut ones included).
	Conns int
	// Dropped counts the packets from peers dropped, by verdict, since New.
	Dropped map[Verdict]uint64
	// Untracked counts connections that could not be tracked for want of
	// room: packets from peers that passed unfiltered, and packets to peers
	// whose replies will not pass.
	Untracked uint64
}

// Stats returns a snapshot of f's table and counters.
func (f *Filter) Stats() Stats {
	now := f.clock()
	st := Stats{Dropped: make(map[Verdict]uint64), Untracked: f.stats.untracked.Load()}
	for i := range f.shards {
		s := &f.shards[i]
		s.mu.Lock()
		st.Conns += s.count(now)
		s.mu.Unlock()
	}
	for v := range f.stats.verdicts {
		if n := f.stats.verdicts[v].Load(); n > 0 {
			st.Dropped[Verdict(v)] = n
		}
	}
	return st
}
