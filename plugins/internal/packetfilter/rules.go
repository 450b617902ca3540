package packetfilter

import (
	"cmp"
	"math/bits"
	"net/netip"
	"slices"

	"github.com/rustynet/rustynet/hostapi"
)

// maxClassBytes bounds the memory of a compiled filter's rule sets (see
// ruleSet): a filter that would need more is refused. Real filters need a
// tiny fraction of it (a 1,000-rule filter over 1,000 sources: a few
// hundred KiB).
const maxClassBytes = 64 << 20

// ruleSet is a compiled hostapi.Filter: which rules admit a new connection,
// found without looking at the rules one by one.
//
// Each dimension a rule constrains — source and destination address per
// family, destination port per protocol — is cut into elementary
// intervals: the coarsest partition of the line in which every rule either
// covers a whole interval or none of it. Every interval carries the set of
// rules that cover it, a bitset with one bit per rule, interned so that
// intervals with the same rules share one (a class). A packet is admitted
// if the classes of its source, its destination and its protocol/port
// have a rule in common: three binary searches over sorted interval
// starts, then either the rules of the smallest class, listed, tested
// against the other two bitsets, or an AND over len(rules)/64 words,
// whichever touches less memory. (Most classes are small — a source is in
// few rules, so is a port — while a destination, the node itself, is in
// most.) The ICMP echo and "other protocol" dimensions have a single class
// each.
type ruleSet struct {
	words int      // uint64 words per bitset
	bits  []uint64 // class c is bits[c*words : (c+1)*words]; class 0 is empty
	// size[c] is how many rules class c holds; those of a class of at most
	// maxListed rules are members[listed[c]:listed[c]+size[c]].
	size    []int32
	listed  []int32
	members []int32
	src4    line4
	dst4    line4
	src6    line6
	dst6    line6
	tcp     linePort
	udp     linePort
	icmp    int32 // class of the rules admitting ICMP echo requests
	other   int32 // class of the rules admitting protocols other than TCP, UDP and ICMP
}

// line4, line6 and linePort are lines cut into elementary intervals: the
// interval i starts at starts[i] and ends before starts[i+1] (or at the end
// of the line), and its rules are class[i]. starts[0] is always zero.
type (
	line4 struct {
		starts []uint32
		class  []int32
	}
	line6 struct {
		starts []addr
		class  []int32
	}
	linePort struct {
		starts []uint16
		class  []int32
	}
)

func (l *line4) lookup(x uint32) int32 {
	lo, hi := 0, len(l.starts)
	for hi-lo > 1 {
		mid := int(uint(lo+hi) >> 1)
		if l.starts[mid] <= x {
			lo = mid
		} else {
			hi = mid
		}
	}
	return l.class[lo]
}

func (l *line6) lookup(x addr) int32 {
	lo, hi := 0, len(l.starts)
	for hi-lo > 1 {
		mid := int(uint(lo+hi) >> 1)
		if !x.less(l.starts[mid]) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return l.class[lo]
}

func (l *linePort) lookup(x uint16) int32 {
	lo, hi := 0, len(l.starts)
	for hi-lo > 1 {
		mid := int(uint(lo+hi) >> 1)
		if l.starts[mid] <= x {
			lo = mid
		} else {
			hi = mid
		}
	}
	return l.class[lo]
}

// admits reports whether a rule admits p as a new connection: TCP and UDP
// by addresses and destination port, ICMP and ICMPv6 echo requests by
// addresses (other ICMP messages never), other protocols by addresses.
func (rs *ruleSet) admits(p *packet) bool {
	var pc int32
	switch {
	case p.proto == protoTCP:
		pc = rs.tcp.lookup(p.dport)
	case p.proto == protoUDP:
		pc = rs.udp.lookup(p.dport)
	case p.isICMP():
		if !p.isEchoRequest() {
			return false
		}
		pc = rs.icmp
	default:
		pc = rs.other
	}
	if pc == 0 {
		return false
	}
	var sc, dc int32
	if p.v6 {
		sc, dc = rs.src6.lookup(p.src), rs.dst6.lookup(p.dst)
	} else {
		sc, dc = rs.src4.lookup(uint32(p.src.lo)), rs.dst4.lookup(uint32(p.dst.lo))
	}
	return rs.common(sc, dc, pc)
}

// maxListed is the largest class whose rules are listed beside its bitset.
const maxListed = 64

// common reports whether classes a, b and c share a rule.
func (rs *ruleSet) common(a, b, c int32) bool {
	if a == 0 || b == 0 || c == 0 {
		return false
	}
	w := rs.words
	if rs.size[b] < rs.size[a] {
		a, b = b, a
	}
	if rs.size[c] < rs.size[a] {
		a, c = c, a
	}
	if n := rs.size[a]; n <= maxListed && int(n)*2 < 3*w {
		for _, r := range rs.members[rs.listed[a] : rs.listed[a]+n] {
			word, bit := int(r)/64, uint(r)%64
			if (rs.bits[int(b)*w+word]&rs.bits[int(c)*w+word])>>bit&1 != 0 {
				return true
			}
		}
		return false
	}
	x := rs.bits[int(a)*w : int(a)*w+w]
	y := rs.bits[int(b)*w : int(b)*w+w]
	z := rs.bits[int(c)*w : int(c)*w+w]
	for i := range x {
		if x[i]&y[i]&z[i] != 0 {
			return true
		}
	}
	return false
}

// list fills in the sizes of the classes and the rules of the small ones.
func (rs *ruleSet) list() {
	n := len(rs.bits) / rs.words
	rs.size, rs.listed = make([]int32, n), make([]int32, n)
	total := 0
	for c := range n {
		size := 0
		for _, w := range rs.class(int32(c)) {
			size += bits.OnesCount64(w)
		}
		rs.size[c] = int32(size)
		if size <= maxListed {
			total += size
		}
	}
	rs.members = make([]int32, 0, total)
	for c := range n {
		rs.listed[c] = int32(len(rs.members))
		if rs.size[c] > maxListed {
			continue
		}
		for i, w := range rs.class(int32(c)) {
			for w != 0 {
				rs.members = append(rs.members, int32(i*64+bits.TrailingZeros64(w)))
				w &= w - 1
			}
		}
	}
}

// class returns the bitset of class c.
func (rs *ruleSet) class(c int32) []uint64 {
	return rs.bits[int(c)*rs.words : int(c)*rs.words+rs.words]
}

// compile compiles f, which must have passed Check. It fails with
// ErrInvalidArgument if the compiled form would exceed maxClassBytes.
func compile(f hostapi.Filter) (*ruleSet, error) {
	rules := make([]rule, 0, len(f.Rules))
	for _, r := range f.Rules {
		rules = append(rules, ruleOf(r))
	}
	return compileRules(rules)
}

// rule is a FilterRule as the compiler reads it: which kinds of connection
// it admits between its sources and destinations.
type rule struct {
	src, dst []netip.Prefix
	tcp, udp bool
	ports    []hostapi.PortRange // TCP and UDP; none: every port
	icmp     bool                // echo requests
	other    bool                // every protocol but TCP, UDP and ICMP
}

// ruleOf reads r: ProtoAny is every kind, with r.Ports for TCP and UDP.
func ruleOf(r hostapi.FilterRule) rule {
	out := rule{src: r.Src, dst: r.Dst, ports: r.Ports}
	switch r.Proto {
	case hostapi.ProtoTCP:
		out.tcp = true
	case hostapi.ProtoUDP:
		out.udp = true
	case hostapi.ProtoICMP:
		out.icmp = true
	case hostapi.ProtoAny:
		out.tcp, out.udp, out.icmp, out.other = true, true, true, true
	}
	return out
}

func compileRules(rules []rule) (*ruleSet, error) {
	b := newBuilder(len(rules))
	src4, dst4, src6, dst6, tcp, udp := spanLists(rules)
	icmp := make([]uint64, b.words)
	other := make([]uint64, b.words)
	for i, r := range rules {
		if len(r.src) == 0 || len(r.dst) == 0 {
			continue // admits nothing
		}
		n := int32(i)
		src4, src6 = appendPrefixSpans(src4, src6, n, r.src)
		dst4, dst6 = appendPrefixSpans(dst4, dst6, n, r.dst)
		if r.tcp {
			tcp = appendPortSpans(tcp, n, r.ports)
		}
		if r.udp {
			udp = appendPortSpans(udp, n, r.ports)
		}
		if r.icmp {
			icmp[i/64] |= 1 << (i % 64)
		}
		if r.other {
			other[i/64] |= 1 << (i % 64)
		}
	}
	rs := &ruleSet{words: b.words}
	rs.icmp, rs.other = b.intern(icmp), b.intern(other)
	var s4, d4 line6
	s4.starts, s4.class = b.sweep(src4, end4)
	d4.starts, d4.class = b.sweep(dst4, end4)
	rs.src4, rs.dst4 = narrow4(s4), narrow4(d4)
	rs.src6.starts, rs.src6.class = b.sweep(src6, end6)
	rs.dst6.starts, rs.dst6.class = b.sweep(dst6, end6)
	var t, u line6
	t.starts, t.class = b.sweep(tcp, endPort)
	u.starts, u.class = b.sweep(udp, endPort)
	rs.tcp, rs.udp = narrowPort(t), narrowPort(u)
	if b.tooLarge {
		return nil, hostapi.Errorf(hostapi.CodeInvalidArgument,
			"filter too large: its %d rules need more than %d MiB compiled", len(rules), maxClassBytes>>20)
	}
	rs.bits = slices.Clone(b.bits) // without the room sweeps reserved
	rs.list()
	return rs, nil
}

// spanLists returns empty span lists, one per line of rules, each with
// room for the spans rules will append to it.
func spanLists(rules []rule) (src4, dst4, src6, dst6, tcp, udp []span) {
	var n [6]int
	count := func(i4, i6 int, ps []netip.Prefix) {
		for _, p := range ps {
			if p.Addr().Is4() {
				n[i4]++
			} else {
				n[i6]++
			}
		}
	}
	for _, r := range rules {
		if len(r.src) == 0 || len(r.dst) == 0 {
			continue
		}
		count(0, 2, r.src)
		count(1, 3, r.dst)
		if r.tcp {
			n[4] += max(1, len(r.ports))
		}
		if r.udp {
			n[5] += max(1, len(r.ports))
		}
	}
	return make([]span, 0, n[0]), make([]span, 0, n[1]), make([]span, 0, n[2]),
		make([]span, 0, n[3]), make([]span, 0, n[4]), make([]span, 0, n[5])
}

// span is a closed range [first, last] of a line that a rule covers.
type span struct {
	first, last addr
	rule        int32
}

// appendPrefixSpans appends a span per prefix of ps, to v4 or v6 by its
// family.
func appendPrefixSpans(v4, v6 []span, rule int32, ps []netip.Prefix) ([]span, []span) {
	for _, p := range ps {
		first, last := prefixRange(p)
		if p.Addr().Is4() {
			v4 = append(v4, span{first, last, rule})
		} else {
			v6 = append(v6, span{first, last, rule})
		}
	}
	return v4, v6
}

// prefixRange returns the first and last address of p.
func prefixRange(p netip.Prefix) (first, last addr) {
	first = addrOf(p.Masked().Addr())
	hostBits := p.Addr().BitLen() - p.Bits()
	last = first
	switch {
	case hostBits >= 64:
		last.lo = ^uint64(0)
		last.hi |= ^uint64(0) >> (128 - hostBits)
	case hostBits > 0:
		last.lo |= ^uint64(0) >> (64 - hostBits)
	}
	return first, last
}

// appendPortSpans appends a span per port range (all ports if none).
func appendPortSpans(s []span, rule int32, prs []hostapi.PortRange) []span {
	if len(prs) == 0 {
		return append(s, span{addr{}, addr{lo: 65535}, rule})
	}
	for _, pr := range prs {
		s = append(s, span{addr{lo: uint64(pr.First)}, addr{lo: uint64(pr.Last)}, rule})
	}
	return s
}

// builder interns rule bitsets while lines are cut. A bitset's hash is
// the XOR of a random number per rule in it (Zobrist hashing), which a
// sweep keeps up to date in O(1) as rules start and stop.
type builder struct {
	words    int
	zobrist  []uint64 // per rule
	bits     []uint64
	index    map[uint64]int32   // by hash of the bitset: its first class
	more     map[uint64][]int32 // further classes whose bitsets share a hash
	tooLarge bool               // the classes would exceed maxClassBytes
}

func newBuilder(rules int) *builder {
	b := &builder{words: max(1, (rules+63)/64), index: make(map[uint64]int32), more: make(map[uint64][]int32)}
	b.zobrist = make([]uint64, b.words*64)
	for i := range b.zobrist {
		b.zobrist[i] = mix64(uint64(i) + 0x9e3779b97f4a7c15)
	}
	b.intern(make([]uint64, b.words)) // class 0: no rule
	return b
}

// intern returns the class of bitset set, adding it if new.
func (b *builder) intern(set []uint64) int32 {
	var h uint64
	for i, w := range set {
		for w != 0 {
			h ^= b.zobrist[i*64+bits.TrailingZeros64(w)]
			w &= w - 1
		}
	}
	return b.internHashed(set, h)
}

// internHashed is intern of a set whose hash h the caller knows.
func (b *builder) internHashed(set []uint64, h uint64) int32 {
	if b.tooLarge {
		return 0
	}
	if c, ok := b.index[h]; ok {
		if slices.Equal(b.class(c), set) {
			return c
		}
		for _, c := range b.more[h] {
			if slices.Equal(b.class(c), set) {
				return c
			}
		}
	}
	if (len(b.bits)+b.words)*8 > maxClassBytes {
		b.tooLarge = true
		return 0
	}
	c := int32(len(b.bits) / b.words)
	b.bits = append(b.bits, set...)
	if _, ok := b.index[h]; ok {
		b.more[h] = append(b.more[h], c)
	} else {
		b.index[h] = c
	}
	return c
}

func (b *builder) class(c int32) []uint64 {
	return b.bits[int(c)*b.words : int(c)*b.words+b.words]
}

// edge is where a rule starts (+1) or stops (-1) covering a line.
type edge struct {
	pos   addr
	rule  int32
	delta int32
}

// Ends of the lines.
var (
	end4    = addr{lo: 1<<32 - 1}
	end6    = addr{hi: ^uint64(0), lo: ^uint64(0)}
	endPort = addr{lo: 65535}
)

// sweep cuts the line that ends at end into the elementary intervals of
// spans and returns their starts and classes; adjacent intervals of one
// class are merged.
func (b *builder) sweep(spans []span, end addr) ([]addr, []int32) {
	edges := sortedEdges(spans, end)
	// Each position of edges starts at most one interval.
	starts, class := make([]addr, 1, len(edges)+1), make([]int32, 1, len(edges)+1)
	count := make([]int32, b.words*64)
	cur := make([]uint64, b.words)
	var h uint64
	if room := min(len(edges)*b.words, maxClassBytes/8-len(b.bits)); cap(b.bits)-len(b.bits) < room {
		b.bits = slices.Grow(b.bits, room)
	}
	for i := 0; i < len(edges); {
		pos := edges[i].pos
		for ; i < len(edges) && edges[i].pos == pos; i++ {
			e := edges[i]
			was := count[e.rule] > 0
			count[e.rule] += e.delta
			if is := count[e.rule] > 0; is != was {
				cur[e.rule/64] ^= 1 << (e.rule % 64)
				h ^= b.zobrist[e.rule]
			}
		}
		c := b.internHashed(cur, h)
		switch last := len(starts) - 1; {
		case starts[last] == pos:
			class[last] = c
			if last > 0 && class[last-1] == c {
				starts, class = starts[:last], class[:last]
			}
		case class[last] != c:
			starts, class = append(starts, pos), append(class, c)
		}
	}
	return starts, class
}

// sortedEdges returns the edges of spans on the line that ends at end, by
// position; edges at one position come in no particular order (a sweep
// takes them together). On a line of at most 32 bits (IPv4 addresses,
// ports) edges sort as packed integers by radix, which is several times
// faster.
func sortedEdges(spans []span, end addr) []edge {
	edges := make([]edge, 0, 2*len(spans))
	if end.hi != 0 || end.lo > 1<<32-1 {
		for _, s := range spans {
			edges = append(edges, edge{s.first, s.rule, 1})
			if s.last != end {
				edges = append(edges, edge{next(s.last), s.rule, -1})
			}
		}
		slices.SortFunc(edges, func(x, y edge) int {
			if c := cmp.Compare(x.pos.hi, y.pos.hi); c != 0 {
				return c
			}
			return cmp.Compare(x.pos.lo, y.pos.lo)
		})
		return edges
	}
	// Packed: position, rule, and whether the rule starts.
	packed := make([]uint64, 0, 2*len(spans))
	for _, s := range spans {
		packed = append(packed, s.first.lo<<32|uint64(s.rule)<<1|1)
		if s.last != end {
			packed = append(packed, (s.last.lo+1)<<32|uint64(s.rule)<<1)
		}
	}
	packed = sortHigh32(packed, make([]uint64, len(packed)))
	for _, p := range packed {
		delta := int32(-1)
		if p&1 == 1 {
			delta = 1
		}
		edges = append(edges, edge{addr{lo: p >> 32}, int32(uint32(p) >> 1), delta})
	}
	return edges
}

// next returns a+1; a is not the end of its line.
func next(a addr) addr {
	lo, carry := bits.Add64(a.lo, 1, 0)
	return addr{a.hi + carry, lo}
}

// narrow4 and narrowPort keep lines of IPv4 addresses and ports in their
// own width, which is faster to search.
func narrow4(l line6) line4 {
	out := line4{starts: make([]uint32, len(l.starts)), class: l.class}
	for i, s := range l.starts {
		out.starts[i] = uint32(s.lo)
	}
	return out
}

func narrowPort(l line6) linePort {
	out := linePort{starts: make([]uint16, len(l.starts)), class: l.class}
	for i, s := range l.starts {
		out.starts[i] = uint16(s.lo)
	}
	return out
}

// sortHigh32 sorts a by the high 32 bits of its elements, keeping the
// order of elements equal there (a least-significant-digit radix sort a
// byte at a time, skipping bytes that are the same in every element). It
// uses tmp, as long as a, for scratch and returns the sorted slice, which
// is a or tmp.
func sortHigh32(a, tmp []uint64) []uint64 {
	for shift := uint(32); shift < 64; shift += 8 {
		var count [256]int
		for _, x := range a {
			count[byte(x>>shift)]++
		}
		if len(a) == 0 || count[byte(a[0]>>shift)] == len(a) {
			continue // this byte is the same in every element
		}
		at := 0
		for i, n := range count {
			count[i] = at
			at += n
		}
		for _, x := range a {
			d := byte(x >> shift)
			tmp[count[d]] = x
			count[d]++
		}
		a, tmp = tmp, a
	}
	return a
}
