package packetfilter

import (
	"cmp"
	"encoding/binary"
	"math/bits"
	"net/netip"
	"slices"

	"github.com/rustynet/rustynet/hostapi"
)

// Kind is the kind of connection a Cell admits.
type Kind uint8

// Kinds of connection.
const (
	// KindTCP: TCP to a port in Cell.Ports.
	KindTCP Kind = iota + 1
	// KindUDP: UDP to a port in Cell.Ports.
	KindUDP
	// KindICMPEcho: ICMP echo requests (ICMPv6 for IPv6 addresses).
	KindICMPEcho
	// KindOther: every IP protocol but TCP, UDP and the family's ICMP.
	KindOther
)

// AddrRange is the addresses from First to Last, both included, of one
// family.
type AddrRange struct{ First, Last netip.Addr }

// Cell is a part of what a filter admits as new connections: connections
// of Kind from an address in one of Src to an address in Dst and, for TCP
// and UDP, a destination port in Ports.
type Cell struct {
	Kind Kind
	// AnyPort marks TCP and UDP cells from rules without Ports (Ports is
	// then 0-65535).
	AnyPort bool
	Dst     AddrRange
	Ports   hostapi.PortRange // TCP and UDP only
	Src     []AddrRange       // sorted, neither overlapping nor adjacent
}

// Cells describes what f admits as new connections as cells that do not
// overlap within a group: the cells of one Kind, family and AnyPort never
// share a destination and port, so no point (source, destination, port)
// lies in two of them. (Rules without ports are kept apart from rules with
// ports, which would otherwise multiply their sources into every port
// range.) This is the form a set of disjoint ranges needs, such as an
// nftables set of concatenated intervals, with an element per source range
// of each cell and a set per group. It fails with
// hostapi.ErrInvalidArgument if f is invalid (Check), too large to
// compile, or would need more than limit source ranges in all.
func Cells(f hostapi.Filter, limit int) ([]Cell, error) {
	if err := hostapi.CheckFilter(f); err != nil {
		return nil, err
	}
	var ported, whole []rule
	for _, fr := range f.Rules {
		r := ruleOf(fr)
		if len(r.ports) > 0 && (r.tcp || r.udp) {
			ported = append(ported, rule{src: r.src, dst: r.dst, tcp: r.tcp, udp: r.udp, ports: r.ports})
			r.tcp, r.udp = false, false
		}
		whole = append(whole, r)
	}
	d := decomposer{limit: limit}
	for _, layer := range []struct {
		rules   []rule
		anyPort bool
		kinds   []Kind
	}{
		{ported, false, []Kind{KindTCP, KindUDP}},
		{whole, true, []Kind{KindTCP, KindUDP, KindICMPEcho, KindOther}},
	} {
		rs, err := compileRules(layer.rules)
		if err != nil {
			return nil, err
		}
		d.start(rs, layer.rules, layer.anyPort, layer.kinds)
		d.family(false, rs.dst4.asLine())
		d.family(true, rs.dst6)
	}
	if d.over {
		return nil, hostapi.Errorf(hostapi.CodeInvalidArgument, "filter too large: it needs more than %d address ranges in disjoint cells", limit)
	}
	return d.cells, nil
}

// decomposer builds the cells of a compiled filter: for each elementary
// interval of the destination line, the rules that cover it (its class),
// and of those the ones of each kind, cut along their ports into
// elementary port ranges, each with the union of its rules' sources.
// Work is per destination class, over that class's rules only.
type decomposer struct {
	rs      *ruleSet
	rules   []rule
	anyPort bool        // the rules have no ports
	kinds   []Kind      // the kinds of cell to build
	src     [2][][]span // by family (IPv6: 1), by rule: its source ranges
	limit   int
	count   int // source ranges so far
	over    bool
	cells   []Cell
	srcs    map[string][]AddrRange // by family and rule bitset: those rules' sources, merged
	parts   map[[3]int32][]part    // by family, kind and destination class
	key     []byte
}

// start makes d decompose rs, compiled from rules.
func (d *decomposer) start(rs *ruleSet, rules []rule, anyPort bool, kinds []Kind) {
	d.rs, d.rules, d.anyPort, d.kinds = rs, rules, anyPort, kinds
	d.srcs, d.parts = make(map[string][]AddrRange), make(map[[3]int32][]part)
	for f := range d.src {
		d.src[f] = make([][]span, len(rules))
	}
	for i, r := range rules {
		if len(r.dst) == 0 {
			continue
		}
		v4, v6 := appendPrefixSpans(nil, nil, int32(i), r.src)
		d.src[0][i], d.src[1][i] = v4, v6
	}
}

// part is the sources admitted to one port range (or to all, for kinds
// without ports) of one destination interval.
type part struct {
	ports hostapi.PortRange
	src   []AddrRange
}

func (d *decomposer) family(v6 bool, dst line6) {
	end := end4
	if v6 {
		end = end6
	}
	for _, kind := range d.kinds {
		var runDst AddrRange
		var run []part
		flush := func() {
			for _, p := range run {
				c := Cell{Kind: kind, Dst: runDst, Ports: p.ports, Src: p.src}
				if kind == KindTCP || kind == KindUDP {
					c.AnyPort = d.anyPort
				} else {
					c.Ports = hostapi.PortRange{}
				}
				d.emit(c)
			}
			run = nil
		}
		for i, dc := range dst.class {
			first := dst.starts[i]
			last := end
			if i+1 < len(dst.starts) {
				last = prev(dst.starts[i+1])
			}
			var parts []part
			if dc != 0 {
				parts = d.partsOf(kind, v6, dc)
			}
			if len(parts) > 0 && len(run) > 0 && samePorts(parts, run) {
				runDst.Last = last.netip(v6) // the same sources to the same ports: one destination range
				continue
			}
			flush()
			if len(parts) > 0 {
				runDst, run = AddrRange{first.netip(v6), last.netip(v6)}, parts
			}
		}
		flush()
	}
}

// partsOf returns, for destination class dc, the sources admitted per port
// range (kinds without ports: one part), adjacent port ranges with the same
// sources merged.
func (d *decomposer) partsOf(kind Kind, v6 bool, dc int32) []part {
	key := [3]int32{int32(b2i(v6)), int32(kind), dc}
	if p, ok := d.parts[key]; ok {
		return p
	}
	var out []part
	switch kind {
	case KindICMPEcho, KindOther:
		kc := d.rs.icmp
		if kind == KindOther {
			kc = d.rs.other
		}
		x, y := d.rs.class(dc), d.rs.class(kc)
		set := make([]uint64, len(x))
		for i := range set {
			set[i] = x[i] & y[i]
		}
		if srcs := d.sources(v6, set); len(srcs) > 0 {
			out = []part{{src: srcs}}
		}
	case KindTCP, KindUDP:
		var spans []span
		forRules(d.rs.class(dc), func(r int32) {
			if kind == KindTCP && d.rules[r].tcp || kind == KindUDP && d.rules[r].udp {
				spans = appendPortSpans(spans, r, d.rules[r].ports)
			}
		})
		if len(spans) == 0 {
			break
		}
		b := newBuilder(len(d.rules))
		starts, classes := b.sweep(spans, endPort)
		for i, c := range classes {
			if c == 0 {
				continue
			}
			ports := hostapi.PortRange{First: uint16(starts[i].lo), Last: 65535}
			if i+1 < len(starts) {
				ports.Last = uint16(starts[i+1].lo - 1)
			}
			srcs := d.sources(v6, b.class(c))
			if len(srcs) == 0 {
				continue
			}
			if n := len(out); n > 0 && out[n-1].ports.Last+1 == ports.First && slices.Equal(out[n-1].src, srcs) {
				out[n-1].ports.Last = ports.Last
				continue
			}
			out = append(out, part{ports, srcs})
		}
	}
	d.parts[key] = out
	return out
}

// forRules calls fn with every rule in set.
func forRules(set []uint64, fn func(r int32)) {
	for i, w := range set {
		for w != 0 {
			fn(int32(i*64 + bits.TrailingZeros64(w)))
			w &= w - 1
		}
	}
}

// sources returns the source ranges of the rules in set, of one family,
// merged.
func (d *decomposer) sources(v6 bool, set []uint64) []AddrRange {
	d.key = append(d.key[:0], b2i(v6))
	for _, w := range set {
		d.key = binary.LittleEndian.AppendUint64(d.key, w)
	}
	if r, ok := d.srcs[string(d.key)]; ok {
		return r
	}
	var spans []span
	forRules(set, func(r int32) { spans = append(spans, d.src[b2i(v6)][r]...) })
	slices.SortFunc(spans, func(x, y span) int {
		if c := cmp.Compare(x.first.hi, y.first.hi); c != 0 {
			return c
		}
		return cmp.Compare(x.first.lo, y.first.lo)
	})
	end := end4
	if v6 {
		end = end6
	}
	var merged []span
	for _, s := range spans {
		if n := len(merged); n > 0 && (merged[n-1].last == end || !next(merged[n-1].last).less(s.first)) {
			if merged[n-1].last.less(s.last) {
				merged[n-1].last = s.last
			}
			continue
		}
		merged = append(merged, s)
	}
	out := make([]AddrRange, len(merged))
	for i, s := range merged {
		out[i] = AddrRange{s.first.netip(v6), s.last.netip(v6)}
	}
	d.srcs[string(d.key)] = out
	return out
}

func b2i(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// emit adds a cell, counting its source ranges against the limit.
func (d *decomposer) emit(c Cell) {
	if d.over {
		return
	}
	d.count += len(c.Src)
	if d.count > d.limit {
		d.over = true
		return
	}
	d.cells = append(d.cells, c)
}

// samePorts reports whether two destination intervals admit the same
// sources to the same ports.
func samePorts(a, b []part) bool {
	return slices.EqualFunc(a, b, func(x, y part) bool { return x.ports == y.ports && slices.Equal(x.src, y.src) })
}

// prev returns a-1; a is not zero.
func prev(a addr) addr {
	if a.lo == 0 {
		return addr{a.hi - 1, ^uint64(0)}
	}
	return addr{a.hi, a.lo - 1}
}

// asLine widens an IPv4 line back to the common form.
func (l *line4) asLine() line6 {
	out := line6{starts: make([]addr, len(l.starts)), class: l.class}
	for i, s := range l.starts {
		out.starts[i] = addr{lo: uint64(s)}
	}
	return out
}
