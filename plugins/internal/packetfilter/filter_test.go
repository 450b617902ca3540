package packetfilter

import (
	"errors"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	ft "github.com/rustynet/rustynet/plugins/internal/packetfilter/filtertest"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newTestFilter returns a filter on a fake clock.
func newTestFilter(tb testing.TB, cfg Config) (*Filter, *fakeClock) {
	tb.Helper()
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	cfg.Now = clock.Now
	return New(cfg), clock
}

// step is one thing that happens to a filter in TestFilter: a packet from a
// peer (in, with the verdict wanted), a packet to a peer (out), a new
// filter (set), or time passing (wait).
type step struct {
	in   []byte
	want Verdict
	out  []byte
	set  *hostapi.Filter
	wait time.Duration
}

func in(pkt []byte, want Verdict) step { return step{in: pkt, want: want} }
func out(pkt []byte) step              { return step{out: pkt} }
func wait(d time.Duration) step        { return step{wait: d} }
func set(rules ...hostapi.FilterRule) step {
	return step{set: &hostapi.Filter{Rules: rules}}
}

func pfx(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}

func ports(first, last uint16) []hostapi.PortRange {
	return []hostapi.PortRange{{First: first, Last: last}}
}

func TestFilter(t *testing.T) {
	var (
		peer    = ap(peer4, 40000)
		peerB   = ap(netip.MustParseAddr("100.64.0.3"), 40000)
		ssh     = ap(self4, 22)
		web     = ap(self4, 443)
		dns     = ap(self4, 53)
		peerWeb = ap(peer4, 443)
		local   = ap(self4, 50000)
		host    = netip.MustParseAddr("10.1.0.5") // behind this node, a gateway
		far     = netip.MustParseAddr("10.9.0.9") // beyond the peer, an exit
		peer6p  = ap(peer6, 40000)
		ssh6    = ap(self6, 22)
		router  = netip.MustParseAddr("192.0.2.1") // a router beyond the peer, sending errors
	)
	sshRule := hostapi.FilterRule{Src: pfx("100.64.0.2/32"), Dst: pfx("100.64.0.1/32"), Proto: hostapi.ProtoTCP, Ports: ports(22, 22)}
	sshRule6 := hostapi.FilterRule{Src: pfx("fd7a::2/128"), Dst: pfx("fd7a::1/128"), Proto: hostapi.ProtoTCP, Ports: ports(22, 22)}
	dnsRule := hostapi.FilterRule{Src: pfx("100.64.0.0/24"), Dst: pfx("100.64.0.1/32"), Proto: hostapi.ProtoUDP, Ports: ports(53, 53)}
	pingRule := hostapi.FilterRule{Src: pfx("100.64.0.2/32"), Dst: pfx("100.64.0.1/32"), Proto: hostapi.ProtoICMP}
	anyRule := hostapi.FilterRule{Src: pfx("100.64.0.2/32"), Dst: pfx("100.64.0.1/32"), Proto: hostapi.ProtoAny}
	gre := ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoGRE, Payload: make([]byte, 8)}.Bytes()
	greBack := ft.Packet{Src: self4, Dst: peer4, Proto: ft.ProtoGRE, Payload: make([]byte, 8)}.Bytes()
	syn := ft.TCP(peer, ssh, ft.SYN)
	synAck := ft.TCP(ssh, peer, ft.SYN|ft.ACK)
	ack := ft.TCP(peer, ssh, ft.ACK)
	data := ft.TCP(peer, ssh, ft.ACK|ft.PSH)

	tests := []struct {
		name  string
		cfg   Config
		steps []step
	}{
		{"before the first filter everything passes", Config{}, []step{
			in(ft.TCP(peer, web, ft.ACK), PassUnfiltered),
			in(ft.UDP(peer, dns), PassUnfiltered),
			in([]byte{0x45}, PassUnfiltered),
			in(ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoICMP, Type: ft.Redirect4}.Bytes(), PassUnfiltered),
		}},
		{"an empty filter admits nothing new", Config{}, []step{
			set(),
			in(syn, DropNoRule),
			in(ft.UDP(peer, dns), DropNoRule),
			in(ft.Echo(peer4, self4, 1, false), DropNoRule),
			in(gre, DropNoRule),
		}},
		{"a rule admits by source, destination, protocol and port", Config{}, []step{
			set(sshRule),
			in(syn, PassNew),
			in(ft.TCP(peer, web, ft.SYN), DropNoRule),
			in(ft.TCP(peerB, ssh, ft.SYN), DropNoRule),
			in(ft.TCP(peer, ap(netip.MustParseAddr("100.64.0.9"), 22), ft.SYN), DropNoRule),
			in(ft.UDP(peer, ap(self4, 22)), DropNoRule),
		}},
		{"port ranges are inclusive", Config{}, []step{
			set(hostapi.FilterRule{Src: pfx("100.64.0.0/10"), Dst: pfx("100.64.0.1/32"), Proto: hostapi.ProtoTCP, Ports: []hostapi.PortRange{{First: 8000, Last: 8010}, {First: 22, Last: 22}}}),
			in(ft.TCP(peer, ap(self4, 7999), ft.SYN), DropNoRule),
			in(ft.TCP(peer, ap(self4, 8000), ft.SYN), PassNew),
			in(ft.TCP(peer, ap(self4, 8010), ft.SYN), PassNew),
			in(ft.TCP(peer, ap(self4, 8011), ft.SYN), DropNoRule),
			in(ft.TCP(peer, ap(self4, 22), ft.SYN), PassNew),
		}},
		{"a rule without sources admits nothing", Config{}, []step{
			set(hostapi.FilterRule{Dst: pfx("0.0.0.0/0"), Proto: hostapi.ProtoAny}),
			in(syn, DropNoRule),
		}},
		{"TCP: a connection opens with a SYN and carries on both ways", Config{}, []step{
			set(sshRule),
			in(ack, DropNotNew),
			in(ft.TCP(peer, ssh, ft.SYN|ft.ACK), DropNotNew),
			in(ft.TCP(peer, ssh, ft.SYN|ft.FIN), DropNotNew),
			in(ft.TCP(peer, ssh, ft.RST), DropNotNew),
			in(syn, PassNew),
			in(syn, PassTracked), // retransmitted
			out(synAck),
			in(ack, PassTracked),
			in(data, PassTracked),
			out(ft.TCP(ssh, peer, ft.ACK)),
			in(ft.TCP(peer, ssh, ft.FIN|ft.ACK), PassTracked),
		}},
		{"TCP: the peer as responder must answer with SYN-ACK or RST first", Config{}, []step{
			set(),
			out(ft.TCP(local, peerWeb, ft.SYN)),
			in(ft.TCP(peerWeb, local, ft.ACK|ft.PSH), DropInvalid),
			in(ft.TCP(peerWeb, local, ft.SYN|ft.ACK), PassTracked),
			in(ft.TCP(peerWeb, local, ft.ACK|ft.PSH), PassTracked),
		}},
		{"TCP: a refused connection from this side gets its RST", Config{}, []step{
			set(),
			out(ft.TCP(local, peerWeb, ft.SYN)),
			in(ft.TCP(peerWeb, local, ft.RST|ft.ACK), PassTracked),
		}},
		{"TCP: replies to a connection opened from this side pass, nothing else", Config{}, []step{
			set(),
			in(ft.TCP(peerWeb, local, ft.SYN|ft.ACK), DropNotNew),
			out(ft.TCP(local, peerWeb, ft.SYN)),
			in(ft.TCP(peerWeb, local, ft.SYN|ft.ACK), PassTracked),
			out(ft.TCP(local, peerWeb, ft.ACK)),
			in(ft.TCP(peerWeb, local, ft.ACK|ft.PSH), PassTracked),
			in(ft.TCP(peerWeb, ap(self4, 50001), ft.ACK|ft.PSH), DropNotNew),
		}},
		{"TCP: a host behind a gateway opens connections too", Config{}, []step{
			set(),
			out(ft.TCP(ap(host, 50000), ap(far, 80), ft.SYN)),
			in(ft.TCP(ap(far, 80), ap(host, 50000), ft.SYN|ft.ACK), PassTracked),
		}},
		{"TCP: a SYN after FIN reopens, judged anew", Config{}, []step{
			set(sshRule),
			in(syn, PassNew), out(synAck), in(ack, PassTracked),
			in(ft.TCP(peer, ssh, ft.FIN|ft.ACK), PassTracked),
			out(ft.TCP(ssh, peer, ft.FIN|ft.ACK)),
			set(),
			in(syn, DropNoRule),
		}},
		{"TCP: a connection from this side reuses a port the peer had used", Config{}, []step{
			set(sshRule),
			in(syn, PassNew), in(ft.TCP(peer, ssh, ft.RST), PassTracked),
			out(ft.TCP(ssh, peer, ft.SYN)),
			in(ft.TCP(peer, ssh, ft.SYN|ft.ACK), PassTracked),
		}},
		{"UDP: a datagram opens, the other side answers", Config{}, []step{
			set(dnsRule),
			in(ft.UDP(peer, dns), PassNew),
			out(ft.UDP(dns, peer)),
			in(ft.UDP(peer, dns), PassTracked),
			in(ft.UDP(peer, ap(self4, 54)), DropNoRule),
			out(ft.UDP(local, ap(peer4, 123))),
			in(ft.UDP(ap(peer4, 123), local), PassTracked),
			in(ft.UDP(ap(peer4, 124), local), DropNoRule),
		}},
		{"ICMP: echo requests by rule, replies to this side's", Config{}, []step{
			set(pingRule),
			in(ft.Echo(peer4, self4, 7, false), PassNew),
			out(ft.Echo(self4, peer4, 7, true)),
			in(ft.Echo(peerB.Addr(), self4, 7, false), DropNoRule),
			in(ft.Echo(peer4, self4, 9, true), DropNotNew),
			out(ft.Echo(self4, peer4, 9, false)),
			in(ft.Echo(peer4, self4, 9, true), PassTracked),
			in(ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoICMP, Type: ft.Timestamp4}.Bytes(), DropNotNew),
			in(ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoICMP, Type: ft.Redirect4}.Bytes(), DropNotNew),
		}},
		{"ICMP: an ICMP rule admits no TCP", Config{}, []step{
			set(pingRule),
			in(syn, DropNoRule),
		}},
		{"ICMPv6: echo requests by rule, no router advertisements", Config{}, []step{
			set(hostapi.FilterRule{Src: pfx("fd7a::/64"), Dst: pfx("fd7a::1/128"), Proto: hostapi.ProtoICMP}),
			in(ft.Echo(peer6, self6, 7, false), PassNew),
			in(ft.Packet{Src: peer6, Dst: self6, Proto: ft.ProtoICMPv6, Type: ft.RouterAdv6}.Bytes(), DropNotNew),
		}},
		{"any protocol: TCP, UDP, echo, GRE, but no ICMP but echo", Config{}, []step{
			set(anyRule),
			in(syn, PassNew),
			in(ft.UDP(peer, dns), PassNew),
			in(ft.Echo(peer4, self4, 3, false), PassNew),
			in(gre, PassNew),
			out(greBack),
			in(gre, PassTracked),
			in(ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoICMP, Type: ft.Redirect4}.Bytes(), DropNotNew),
		}},
		{"any protocol with ports limits TCP and UDP only", Config{}, []step{
			set(hostapi.FilterRule{Src: pfx("100.64.0.2/32"), Dst: pfx("100.64.0.1/32"), Proto: hostapi.ProtoAny, Ports: ports(22, 22)}),
			in(syn, PassNew),
			in(ft.TCP(peer, web, ft.SYN), DropNoRule),
			in(ft.UDP(peer, dns), DropNoRule),
			in(gre, PassNew),
		}},
		{"other protocols: replies to this side's", Config{}, []step{
			set(),
			in(gre, DropNoRule),
			out(greBack),
			in(gre, PassTracked),
		}},
		{"ICMP errors about tracked connections pass", Config{}, []step{
			set(),
			out(ft.TCP(local, peerWeb, ft.SYN)),
			in(ft.ICMPError(peer4, self4, ft.Unreachable4, ft.TCP(local, peerWeb, ft.SYN)[:28]), PassRelated),
			in(ft.ICMPError(router, self4, ft.TimeExceed4, ft.TCP(local, peerWeb, ft.SYN)), PassRelated),
			in(ft.ICMPError(peer4, self4, ft.Unreachable4, ft.TCP(ap(self4, 50001), peerWeb, ft.SYN)), DropUnrelated),
			in(ft.ICMPError(peer4, ap(peerB.Addr(), 0).Addr(), ft.Unreachable4, ft.TCP(local, peerWeb, ft.SYN)), DropUnrelated),
			in(ft.ICMPError(peer4, self4, ft.Unreachable4, ft.Echo(self4, peer4, 5, false)), DropUnrelated),
			in(ft.ICMPError(peer4, self4, ft.Unreachable4, []byte{0x45, 0}), DropUnrelated),
			in(ft.ICMPError(peer4, self4, ft.Unreachable4, ft.ICMPError(self4, peer4, ft.Unreachable4, ft.TCP(local, peerWeb, ft.SYN))), DropUnrelated),
		}},
		{"ICMPv6 errors about tracked connections pass", Config{}, []step{
			set(sshRule6),
			in(ft.TCP(peer6p, ssh6, ft.SYN), PassNew),
			in(ft.ICMPError(peer6, self6, ft.TooBig6, ft.TCP(ssh6, peer6p, ft.SYN|ft.ACK)), PassRelated),
			in(ft.ICMPError(peer6, self6, ft.TooBig6, ft.TCP(ap(self6, 23), peer6p, ft.SYN|ft.ACK)), DropUnrelated),
		}},
		{"IPv6: the same rules, through extension headers", Config{}, []step{
			set(sshRule6),
			in(ft.Packet{Src: peer6, Dst: self6, Proto: ft.ProtoTCP, SrcPort: 40000, DstPort: 22, Flags: ft.SYN, Ext: []ft.ExtHeader{{Type: 0}, {Type: 60}}}.Bytes(), PassNew),
			in(ft.TCP(peer6p, ap(self6, 23), ft.SYN), DropNoRule),
			in(ft.TCP(ap(peer4, 40000), ssh, ft.SYN), DropNoRule), // the IPv4 twin
			in(ft.Packet{Src: peer6, Dst: self6, Proto: ft.ProtoTCP, SrcPort: 40001, DstPort: 22, Flags: ft.SYN, Ext: []ft.ExtHeader{{Type: 43, SegmentsLeft: 1}}}.Bytes(), DropMalformed),
		}},
		{"fragments: later ones follow their first", Config{}, []step{
			set(dnsRule),
			in(ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoUDP, SrcPort: 40000, DstPort: 53, Frag: &ft.Fragment{ID: 1, More: true}}.Bytes(), PassNew),
			in(ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoUDP, Frag: &ft.Fragment{ID: 1, Offset: 1480, More: true}, Payload: make([]byte, 64)}.Bytes(), PassFragment),
			in(ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoUDP, Frag: &ft.Fragment{ID: 1, Offset: 2960}, Payload: make([]byte, 64)}.Bytes(), PassFragment),
			in(ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoUDP, Frag: &ft.Fragment{ID: 2, Offset: 1480}, Payload: make([]byte, 64)}.Bytes(), DropFragment),
			in(ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoTCP, Frag: &ft.Fragment{ID: 1, Offset: 1480}, Payload: make([]byte, 64)}.Bytes(), DropFragment),
			in(ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoUDP, SrcPort: 40000, DstPort: 54, Frag: &ft.Fragment{ID: 3, More: true}}.Bytes(), DropNoRule),
			in(ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoUDP, Frag: &ft.Fragment{ID: 3, Offset: 1480}, Payload: make([]byte, 64)}.Bytes(), DropFragment),
			wait(FragmentTimeout),
			in(ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoUDP, Frag: &ft.Fragment{ID: 1, Offset: 1480}, Payload: make([]byte, 64)}.Bytes(), DropFragment),
		}},
		{"fragments: IPv6", Config{}, []step{
			set(hostapi.FilterRule{Src: pfx("fd7a::2/128"), Dst: pfx("fd7a::1/128"), Proto: hostapi.ProtoUDP}),
			in(ft.Packet{Src: peer6, Dst: self6, Proto: ft.ProtoUDP, SrcPort: 40000, DstPort: 53, Frag: &ft.Fragment{ID: 70000, More: true}}.Bytes(), PassNew),
			in(ft.Packet{Src: peer6, Dst: self6, Proto: ft.ProtoUDP, Frag: &ft.Fragment{ID: 70000, Offset: 1232}, Payload: make([]byte, 64)}.Bytes(), PassFragment),
			in(ft.Packet{Src: peer6, Dst: self6, Proto: ft.ProtoUDP, Frag: &ft.Fragment{ID: 70001, Offset: 1232}, Payload: make([]byte, 64)}.Bytes(), DropFragment),
		}},
		{"fragments: a filter change forgets them", Config{}, []step{
			set(dnsRule),
			in(ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoUDP, SrcPort: 40000, DstPort: 53, Frag: &ft.Fragment{ID: 1, More: true}}.Bytes(), PassNew),
			set(dnsRule),
			in(ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoUDP, Frag: &ft.Fragment{ID: 1, Offset: 1480}, Payload: make([]byte, 64)}.Bytes(), DropFragment),
		}},
		{"malformed packets are dropped", Config{}, []step{
			set(anyRule),
			in([]byte{0x45}, DropMalformed),
			in(ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoTCP, SrcPort: 1, DstPort: 22, Flags: ft.SYN, Options: []byte{131, 7, 4, 10, 0, 0, 1}}.Bytes(), DropMalformed),
		}},
		{"timeouts: TCP", Config{}, []step{
			set(sshRule),
			in(syn, PassNew),
			wait(TCPHandshakeTimeout - time.Second), in(syn, PassTracked),
			out(synAck), in(ack, PassTracked),
			wait(TCPEstablishedTimeout - time.Second), in(data, PassTracked),
			wait(TCPEstablishedTimeout - time.Second), out(ft.TCP(ssh, peer, ft.ACK)),
			wait(TCPEstablishedTimeout), in(data, DropNotNew),
		}},
		{"timeouts: a TCP handshake left half done", Config{}, []step{
			set(),
			out(ft.TCP(local, peerWeb, ft.SYN)),
			wait(TCPHandshakeTimeout),
			in(ft.TCP(peerWeb, local, ft.SYN|ft.ACK), DropNotNew),
		}},
		{"timeouts: after an RST", Config{}, []step{
			set(sshRule),
			in(syn, PassNew), out(synAck), in(ack, PassTracked),
			out(ft.TCP(ssh, peer, ft.RST)),
			wait(TCPResetTimeout - time.Second), in(data, PassTracked),
			wait(TCPResetTimeout), in(data, DropNotNew),
		}},
		{"timeouts: UDP one way and both ways", Config{}, []step{
			set(),
			out(ft.UDP(local, ap(peer4, 123))),
			wait(UDPTimeout), in(ft.UDP(ap(peer4, 123), local), DropNoRule),
			out(ft.UDP(local, ap(peer4, 123))),
			in(ft.UDP(ap(peer4, 123), local), PassTracked),
			wait(UDPStreamTimeout - time.Second), in(ft.UDP(ap(peer4, 123), local), PassTracked),
			wait(UDPStreamTimeout), in(ft.UDP(ap(peer4, 123), local), DropNoRule),
		}},
		{"timeouts: ICMP echo", Config{}, []step{
			set(),
			out(ft.Echo(self4, peer4, 9, false)),
			wait(ICMPTimeout - time.Second), in(ft.Echo(peer4, self4, 9, true), PassTracked),
			wait(ICMPTimeout), in(ft.Echo(peer4, self4, 9, true), DropNotNew),
		}},
		{"change: a connection the new rules admit carries on", Config{}, []step{
			set(sshRule, dnsRule),
			in(syn, PassNew), out(synAck), in(ack, PassTracked),
			set(sshRule),
			in(data, PassTracked),
		}},
		{"change: a TCP connection the new rules deny is cut", Config{}, []step{
			set(sshRule),
			in(syn, PassNew), out(synAck), in(ack, PassTracked),
			set(dnsRule),
			in(data, DropNotNew),
			out(ft.TCP(ssh, peer, ft.ACK|ft.PSH)), // the node still talks: nothing reopens
			in(data, DropNotNew),
			set(sshRule),
			in(data, DropNotNew), // a TCP connection reopens only with a SYN
		}},
		{"change: a UDP flow the new rules deny stays cut while this side sends", Config{}, []step{
			set(dnsRule),
			in(ft.UDP(peer, dns), PassNew), out(ft.UDP(dns, peer)),
			set(),
			in(ft.UDP(peer, dns), DropNoRule),
			out(ft.UDP(dns, peer)),
			in(ft.UDP(peer, dns), DropNoRule),
			in(ft.ICMPError(peer4, self4, ft.Unreachable4, ft.UDP(dns, peer)), DropUnrelated),
			wait(CutTimeout - time.Second), out(ft.UDP(dns, peer)),
			wait(CutTimeout - time.Second), in(ft.UDP(peer, dns), DropNoRule),
			set(dnsRule),
			in(ft.UDP(peer, dns), PassNew),
		}},
		{"change: a UDP flow cut then silent can be opened from this side again", Config{}, []step{
			set(dnsRule),
			in(ft.UDP(peer, dns), PassNew),
			set(),
			wait(CutTimeout),
			out(ft.UDP(dns, peer)),
			in(ft.UDP(peer, dns), PassTracked),
		}},
		{"change: an ICMP echo the new rules deny is cut", Config{}, []step{
			set(pingRule),
			in(ft.Echo(peer4, self4, 7, false), PassNew),
			set(),
			in(ft.Echo(peer4, self4, 7, false), DropNoRule),
		}},
		{"change: connections opened from this side stay", Config{}, []step{
			set(sshRule),
			out(ft.TCP(local, peerWeb, ft.SYN)),
			in(ft.TCP(peerWeb, local, ft.SYN|ft.ACK), PassTracked),
			set(),
			in(ft.TCP(peerWeb, local, ft.ACK), PassTracked),
		}},
		{"change: connections made before the first filter are judged by it", Config{}, []step{
			in(syn, PassUnfiltered),
			in(ft.TCP(peer, web, ft.SYN), PassUnfiltered),
			set(sshRule),
			in(data, PassTracked),
			in(ft.TCP(peer, web, ft.ACK), DropNotNew),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, clock := newTestFilter(t, tt.cfg)
			for i, s := range tt.steps {
				switch {
				case s.in != nil:
					if got := f.FromPeer(s.in); got != s.want {
						t.Fatalf("step %d: FromPeer: got %v, want %v", i, got, s.want)
					}
				case s.out != nil:
					f.ToPeer(s.out)
				case s.set != nil:
					if err := f.Set(*s.set); err != nil {
						t.Fatalf("step %d: Set: %v", i, err)
					}
				default:
					clock.Advance(s.wait)
				}
			}
		})
	}
}

// TestSetInvalid checks that an invalid filter changes nothing.
func TestSetInvalid(t *testing.T) {
	f, _ := newTestFilter(t, Config{})
	ok := hostapi.FilterRule{Src: pfx("100.64.0.2/32"), Dst: pfx("100.64.0.1/32"), Proto: hostapi.ProtoTCP, Ports: ports(22, 22)}
	if err := f.Set(hostapi.Filter{Rules: []hostapi.FilterRule{ok}}); err != nil {
		t.Fatal(err)
	}
	syn := ft.TCP(ap(peer4, 40000), ap(self4, 22), ft.SYN)
	if got := f.FromPeer(syn); got != PassNew {
		t.Fatalf("FromPeer: got %v, want %v", got, PassNew)
	}
	bad := hostapi.FilterRule{Src: pfx("100.64.0.2/24"), Dst: pfx("100.64.0.1/32")}
	if err := f.Set(hostapi.Filter{Rules: []hostapi.FilterRule{bad}}); !errors.Is(err, hostapi.ErrInvalidArgument) {
		t.Fatalf("Set of an invalid filter: got %v, want INVALID_ARGUMENT", err)
	}
	if got := f.FromPeer(ft.TCP(ap(peer4, 40000), ap(self4, 22), ft.ACK)); got != PassTracked {
		t.Errorf("after the refused Set, the connection: got %v, want %v", got, PassTracked)
	}
	if got := f.FromPeer(ft.TCP(ap(peer4, 40001), ap(self4, 22), ft.SYN)); got != PassNew {
		t.Errorf("after the refused Set, a new connection: got %v, want %v (the old rules)", got, PassNew)
	}
}

// TestTableFull checks the bounds: a full table refuses new connections
// from peers, keeps established ones, and makes room only from unanswered
// ones.
func TestTableFull(t *testing.T) {
	const max = 4
	f, clock := newTestFilter(t, Config{MaxConns: max, shards: 1})
	if err := f.Set(hostapi.Filter{Rules: []hostapi.FilterRule{{Src: pfx("100.64.0.0/10"), Dst: pfx("100.64.0.1/32"), Proto: hostapi.ProtoTCP}}}); err != nil {
		t.Fatal(err)
	}
	established := func(port uint16) {
		t.Helper()
		peer, self := ap(peer4, port), ap(self4, 22)
		for _, s := range []struct {
			in   bool
			pkt  []byte
			want Verdict
		}{{true, ft.TCP(peer, self, ft.SYN), PassNew}, {false, ft.TCP(self, peer, ft.SYN|ft.ACK), 0}, {true, ft.TCP(peer, self, ft.ACK), PassTracked}} {
			if !s.in {
				f.ToPeer(s.pkt)
				continue
			}
			if got := f.FromPeer(s.pkt); got != s.want {
				t.Fatalf("connection from port %d: got %v, want %v", port, got, s.want)
			}
		}
	}
	for port := range uint16(max) {
		established(1000 + port)
	}
	if got := f.FromPeer(ft.TCP(ap(peer4, 2000), ap(self4, 22), ft.SYN)); got != DropTableFull {
		t.Fatalf("a new connection into a table full of established ones: got %v, want %v", got, DropTableFull)
	}
	f.ToPeer(ft.TCP(ap(self4, 3000), ap(peer4, 80), ft.SYN))
	if got := f.FromPeer(ft.TCP(ap(peer4, 80), ap(self4, 3000), ft.SYN|ft.ACK)); got != DropNotNew {
		t.Fatalf("the reply to a connection opened into a full table: got %v, want %v", got, DropNotNew)
	}
	for port := range uint16(max) {
		if got := f.FromPeer(ft.TCP(ap(peer4, 1000+port), ap(self4, 22), ft.ACK)); got != PassTracked {
			t.Fatalf("established connection %d after the table filled: got %v, want %v", port, got, PassTracked)
		}
	}
	st := f.Stats()
	if st.Conns != max || st.Dropped[DropTableFull] != 1 || st.Untracked != 1 {
		t.Errorf("Stats: got %d connections, %d dropped for a full table, %d untracked; want %d, 1, 1", st.Conns, st.Dropped[DropTableFull], st.Untracked, max)
	}

	// One connection ends by idling out: its room is found by a sweep.
	clock.Advance(TCPEstablishedTimeout - time.Second)
	for port := range uint16(max - 1) {
		f.FromPeer(ft.TCP(ap(peer4, 1000+port), ap(self4, 22), ft.ACK))
	}
	clock.Advance(time.Second)
	if got := f.FromPeer(ft.TCP(ap(peer4, 2001), ap(self4, 22), ft.SYN)); got != PassNew {
		t.Fatalf("a new connection once one idled out: got %v, want %v", got, PassNew)
	}
	// The new, unanswered connection may give way to another new one; the
	// established ones may not.
	if got := f.FromPeer(ft.TCP(ap(peer4, 2002), ap(self4, 22), ft.SYN)); got != PassNew {
		t.Fatalf("a new connection evicting an unanswered one: got %v, want %v", got, PassNew)
	}
	if got := f.FromPeer(ft.TCP(ap(peer4, 2001), ap(self4, 22), ft.ACK)); got != DropNotNew {
		t.Errorf("the evicted unanswered connection: got %v, want %v", got, DropNotNew)
	}
	for port := range uint16(max - 1) {
		if got := f.FromPeer(ft.TCP(ap(peer4, 1000+port), ap(self4, 22), ft.ACK)); got != PassTracked {
			t.Errorf("established connection %d: got %v, want %v", port, got, PassTracked)
		}
	}
}

// TestTableFullUnfiltered checks that before the first filter a full table
// still passes everything, counting what it could not track.
func TestTableFullUnfiltered(t *testing.T) {
	f, _ := newTestFilter(t, Config{MaxConns: 1, shards: 1})
	f.ToPeer(ft.UDP(ap(self4, 1), ap(peer4, 1)))
	f.FromPeer(ft.UDP(ap(peer4, 1), ap(self4, 1))) // answered: not evictable
	if got := f.FromPeer(ft.TCP(ap(peer4, 2), ap(self4, 2), ft.SYN)); got != PassUnfiltered {
		t.Fatalf("got %v, want %v", got, PassUnfiltered)
	}
	if st := f.Stats(); st.Untracked != 1 {
		t.Errorf("Stats.Untracked: got %d, want 1", st.Untracked)
	}
}

// TestFragmentTableBound checks that the fragment table forgets the oldest
// datagram when full.
func TestFragmentTableBound(t *testing.T) {
	f, _ := newTestFilter(t, Config{MaxFragments: 2})
	if err := f.Set(hostapi.Filter{Rules: []hostapi.FilterRule{{Src: pfx("100.64.0.2/32"), Dst: pfx("100.64.0.1/32"), Proto: hostapi.ProtoUDP}}}); err != nil {
		t.Fatal(err)
	}
	first := func(id uint32) []byte {
		return ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoUDP, SrcPort: 1, DstPort: 2, Frag: &ft.Fragment{ID: id, More: true}}.Bytes()
	}
	later := func(id uint32) []byte {
		return ft.Packet{Src: peer4, Dst: self4, Proto: ft.ProtoUDP, Frag: &ft.Fragment{ID: id, Offset: 8}, Payload: make([]byte, 8)}.Bytes()
	}
	for id := range uint32(3) {
		if got := f.FromPeer(first(id)); got != PassNew && got != PassTracked {
			t.Fatalf("first fragment %d: got %v", id, got)
		}
	}
	for id, want := range []Verdict{DropFragment, PassFragment, PassFragment} {
		if got := f.FromPeer(later(uint32(id))); got != want {
			t.Errorf("later fragment of datagram %d: got %v, want %v", id, got, want)
		}
	}
}

// TestFromPeers checks the batch form: bufs itself when everything passes,
// else the passing packets in order.
func TestFromPeers(t *testing.T) {
	f, _ := newTestFilter(t, Config{})
	if err := f.Set(hostapi.Filter{Rules: []hostapi.FilterRule{{Src: pfx("100.64.0.2/32"), Dst: pfx("100.64.0.1/32"), Proto: hostapi.ProtoUDP, Ports: ports(53, 53)}}}); err != nil {
		t.Fatal(err)
	}
	const offset = 16
	buf := func(pkt []byte) []byte { return append(make([]byte, offset), pkt...) }
	pass1, pass2 := buf(ft.UDP(ap(peer4, 1), ap(self4, 53))), buf(ft.UDP(ap(peer4, 2), ap(self4, 53)))
	drop := buf(ft.UDP(ap(peer4, 1), ap(self4, 54)))

	all := [][]byte{pass1, pass2}
	if got := f.FromPeers(all, offset, nil); &got[0] != &all[0] || len(got) != 2 {
		t.Errorf("all passing: got a copy of %d, want bufs itself", len(got))
	}
	scratch := make([][]byte, 0, 4)
	got := f.FromPeers([][]byte{pass1, drop, pass2, drop}, offset, scratch)
	if len(got) != 2 || &got[0][0] != &pass1[0] || &got[1][0] != &pass2[0] {
		t.Errorf("got %d packets, want the two passing ones in order", len(got))
	}
	f.ToPeers([][]byte{buf(ft.UDP(ap(self4, 9), ap(peer4, 9)))}, []int{28}, offset)
	if got := f.FromPeer(ft.UDP(ap(peer4, 9), ap(self4, 9))); got != PassTracked {
		t.Errorf("reply after ToPeers: got %v, want %v", got, PassTracked)
	}
}

// TestConcurrent drives one filter from many goroutines while its rules
// change: run with -race.
func TestConcurrent(t *testing.T) {
	f, _ := newTestFilter(t, Config{MaxConns: 1024})
	rules := ft.Synthetic(200, 1, hostapi.FilterRule{Src: pfx("100.64.0.0/10"), Dst: pfx("100.64.0.1/32"), Proto: hostapi.ProtoTCP})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				peer := ap(netip.AddrFrom4([4]byte{100, 64, byte(g), byte(i)}), uint16(i))
				f.FromPeer(ft.TCP(peer, ap(self4, 22), ft.SYN))
				f.ToPeer(ft.TCP(ap(self4, 22), peer, ft.SYN|ft.ACK))
				f.FromPeer(ft.TCP(peer, ap(self4, 22), ft.ACK))
			}
		})
	}
	wg.Go(func() {
		for i := range 20 {
			if err := f.Set(ft.Synthetic(200, uint64(i), rules.Rules[len(rules.Rules)-1])); err != nil {
				t.Error(err)
			}
		}
	})
	wg.Wait()
	if st := f.Stats(); st.Conns > 1024 {
		t.Errorf("Stats.Conns: got %d, more than MaxConns 1024", st.Conns)
	}
}
