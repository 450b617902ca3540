package hostroute

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"golang.org/x/sys/unix"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/netnstest"
	ft "github.com/rustynet/rustynet/plugins/internal/packetfilter/filtertest"
)

func TestFilterChains(t *testing.T) {
	const wg = "wg0"
	sets := []*filterSet{{name: "ports4", kind: setPorts}, {name: "echo6", kind: setEcho, v6: true}}
	entry := []rule{{iif: wg, ctState: expr.CtStateBitINVALID, verdict: drop}, {iif: wg, ctReply: true, verdict: accept}}
	toFilter := rule{iif: wg, verdict: jump, target: filterChain}
	input := chain{name: "input", typ: nftables.ChainTypeFilter, hook: *nftables.ChainHookInput, priority: *nftables.ChainPriorityFilter,
		rules: append(append([]rule(nil), entry...), toFilter, rule{iif: wg, verdict: drop})}
	filter := chain{name: filterChain, regular: true, rules: []rule{
		{tcpNotSYN: true, verdict: drop},
		{ctState: expr.CtStateBitRELATED, lookup: &lookup{set: sets[0], ct: true}, verdict: accept},
		{ctState: expr.CtStateBitRELATED, lookup: &lookup{set: sets[1], ct: true}, verdict: accept},
		{lookup: &lookup{set: sets[0]}, verdict: accept},
		{lookup: &lookup{set: sets[1]}, verdict: accept},
	}}
	forward := func(rules ...rule) chain {
		return chain{name: "forward", typ: nftables.ChainTypeFilter, hook: *nftables.ChainHookForward, priority: *nftables.ChainPriorityFilter,
			rules: append(append(append([]rule(nil), entry...), rules...), rule{iif: wg, verdict: drop})}
	}
	router := toFilter
	router.daddr = netip.MustParsePrefix("10.20.0.0/24")
	var v4excluded []rule
	for _, p := range pfx("0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4") {
		v4excluded = append(v4excluded, rule{iif: wg, daddr: p, verdict: drop})
	}
	tests := []struct {
		name string
		f    firewall
		want []chain
	}{
		{"a filter without a gateway: input through the rules, nothing forwarded",
			firewall{iface: wg, filter: &packetFilter{sets: sets}}, []chain{forward(), input, filter}},
		{"a filter on a router: forwarded through the rules too",
			firewall{iface: wg, filter: &packetFilter{sets: sets}, gateway: &hostapi.GatewayConfig{Prefixes: pfx("10.20.0.0/24")}},
			[]chain{forward(append(v4excluded, router)...), input, filter}},
		{"an empty filter: nothing but replies",
			firewall{iface: wg, filter: &packetFilter{}}, []chain{forward(), input, {name: filterChain, regular: true, rules: []rule{{tcpNotSYN: true, verdict: drop}}}}},
	}
	opts := cmp.Options{cmp.AllowUnexported(chain{}, rule{}, lookup{}, filterSet{}), prefixCmp}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.f.chains(), opts); diff != "" {
				t.Errorf("chains (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLookupExprs pins the register layout of the set lookups: the fields
// of a concatenation in consecutive 32-bit registers from NFT_REG32_00,
// loaded from the packet's headers or from the connection's original
// tuple. (TestLinkFilter checks that the kernel agrees.)
func TestLookupExprs(t *testing.T) {
	ports4 := &filterSet{name: "ports4", kind: setPorts}
	echo6 := &filterSet{name: "echo6", kind: setEcho, v6: true}
	family := func(f byte) []expr.Any {
		return []expr.Any{&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1}, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{f}}}
	}
	tests := []struct {
		name string
		l    lookup
		want []expr.Any
	}{
		{"IPv4 ports, by header", lookup{set: ports4}, append(family(unix.NFPROTO_IPV4),
			&expr.Payload{DestRegister: 8, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			&expr.Payload{DestRegister: 9, Base: expr.PayloadBaseNetworkHeader, Offset: 16, Len: 4},
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 10},
			&expr.Payload{DestRegister: 11, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
			&expr.Lookup{SourceRegister: 1, SetName: "ports4"})},
		{"IPv4 ports, by the connection", lookup{set: ports4, ct: true}, append(family(unix.NFPROTO_IPV4),
			&expr.Ct{Key: expr.CtKeySRC, Register: 8},
			&expr.Ct{Key: expr.CtKeyDST, Register: 9},
			&expr.Ct{Key: expr.CtKeyPROTOCOL, Register: 10},
			&expr.Immediate{Register: 11, Data: make([]byte, 4)},
			&expr.Ct{Key: expr.CtKeyPROTODST, Register: 11},
			&expr.Lookup{SourceRegister: 1, SetName: "ports4"})},
		{"IPv6 echo, by header", lookup{set: echo6}, append(family(unix.NFPROTO_IPV6),
			&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{unix.IPPROTO_ICMPV6}},
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 0, Len: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{128}},
			&expr.Payload{DestRegister: 8, Base: expr.PayloadBaseNetworkHeader, Offset: 8, Len: 16},
			&expr.Payload{DestRegister: 12, Base: expr.PayloadBaseNetworkHeader, Offset: 24, Len: 16},
			&expr.Lookup{SourceRegister: 1, SetName: "echo6"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, tt.l.exprs()); diff != "" {
				t.Errorf("exprs (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFilterSets(t *testing.T) {
	tcp22 := hostapi.FilterRule{Src: pfx("100.64.0.2/32"), Dst: pfx("100.64.0.1/32"), Proto: hostapi.ProtoTCP, Ports: []hostapi.PortRange{{First: 22, Last: 23}}}
	any6 := hostapi.FilterRule{Src: pfx("fd7a::/120"), Dst: pfx("fd7a::1/128"), Proto: hostapi.ProtoAny}
	sets, err := filterSets(hostapi.Filter{Rules: []hostapi.FilterRule{tcp22, any6}})
	if err != nil {
		t.Fatal(err)
	}
	v6 := func(s string) []byte { return netip.MustParseAddr(s).AsSlice() }
	cat := func(parts ...[]byte) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, p...)
		}
		return out
	}
	got := map[string][]nftables.SetElement{}
	for _, s := range sets {
		got[s.name] = s.elements
	}
	want := map[string][]nftables.SetElement{
		"ports4": {{Key: []byte{100, 64, 0, 2, 100, 64, 0, 1, 6, 0, 0, 0, 0, 22, 0, 0}, KeyEnd: []byte{100, 64, 0, 2, 100, 64, 0, 1, 6, 0, 0, 0, 0, 23, 0, 0}}},
		"proto6": {
			{Key: cat(v6("fd7a::"), v6("fd7a::1"), []byte{6, 0, 0, 0}), KeyEnd: cat(v6("fd7a::ff"), v6("fd7a::1"), []byte{6, 0, 0, 0})},
			{Key: cat(v6("fd7a::"), v6("fd7a::1"), []byte{17, 0, 0, 0}), KeyEnd: cat(v6("fd7a::ff"), v6("fd7a::1"), []byte{17, 0, 0, 0})},
		},
		"echo6":  {{Key: cat(v6("fd7a::"), v6("fd7a::1")), KeyEnd: cat(v6("fd7a::ff"), v6("fd7a::1"))}},
		"other6": {{Key: cat(v6("fd7a::"), v6("fd7a::1")), KeyEnd: cat(v6("fd7a::ff"), v6("fd7a::1"))}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("set elements (-want +got):\n%s", diff)
	}
	if _, err := filterSets(ft.Synthetic(1000, 1)); err != nil {
		t.Errorf("a synthetic 1,000-rule filter: %v", err)
	}
	bad := hostapi.Filter{Rules: []hostapi.FilterRule{{Src: pfx("100.64.0.2/32"), Dst: pfx("100.64.0.1/32"), Proto: hostapi.ProtoTCP, Ports: []hostapi.PortRange{{First: 9, Last: 8}}}}}
	if _, err := filterSets(bad); !errors.Is(err, hostapi.ErrInvalidArgument) {
		t.Errorf("an empty port range: got %v, want INVALID_ARGUMENT", err)
	}
}

// filterNode is a namespace whose veth end stands in for the mesh
// interface, with a Link on it, and a peer namespace on the other end.
type filterNode struct {
	ns, peer   *netnstest.Namespace
	self, from netip.Addr // the node's address and the peer's, on the veth
	self6      netip.Addr
	from6      netip.Addr
	link       *Link
}

func newFilterNode(t *testing.T) *filterNode {
	t.Helper()
	netnstest.Require(t)
	n := &filterNode{ns: netnstest.New(t), peer: netnstest.New(t)}
	v := netnstest.Connect(t, n.ns, netip.MustParsePrefix("100.64.0.1/24"), n.peer, netip.MustParsePrefix("100.64.0.2/24"))
	n.self, n.from = v.AddrA.Addr(), v.AddrB.Addr()
	n.self6, n.from6 = netip.MustParseAddr("fd7a::1"), netip.MustParseAddr("fd7a::2")
	n.ns.Run(t, "ip", "addr", "add", "fd7a::1/64", "dev", v.NameA, "nodad")
	n.peer.Run(t, "ip", "addr", "add", "fd7a::2/64", "dev", v.NameB, "nodad")
	link, err := n.ns.Netlink(t).LinkByName(v.NameA)
	if err != nil {
		t.Fatal(err)
	}
	peerLink, err := n.peer.Netlink(t).LinkByName(v.NameB)
	if err != nil {
		t.Fatal(err)
	}
	// A WireGuard interface has no neighbour discovery, and the filter
	// drops ICMPv6 but echo and errors: fixed neighbours stand in for it.
	n.ns.Run(t, "ip", "neigh", "add", "fd7a::2", "lladdr", peerLink.Attrs().HardwareAddr.String(), "dev", v.NameA, "nud", "permanent")
	n.peer.Run(t, "ip", "neigh", "add", "fd7a::1", "lladdr", link.Attrs().HardwareAddr.String(), "dev", v.NameB, "nud", "permanent")
	err = n.ns.Do(func() (err error) {
		n.link, err = Open(Config{Index: link.Attrs().Index, Name: v.NameA, SetMark: func(uint32) error { return nil }})
		return err
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { n.link.Close() })
	return n
}

func (n *filterNode) setFilter(t *testing.T, rules ...hostapi.FilterRule) {
	t.Helper()
	if err := n.link.SetFilter(hostapi.Filter{Rules: rules}); err != nil {
		t.Fatalf("SetFilter: %v", err)
	}
}

// rule admits proto from the peer to the node, both families, to ports.
func (n *filterNode) rule(proto hostapi.Proto, ports ...uint16) hostapi.FilterRule {
	r := hostapi.FilterRule{
		Src:   []netip.Prefix{netip.PrefixFrom(n.from, 32), netip.PrefixFrom(n.from6, 128)},
		Dst:   []netip.Prefix{netip.PrefixFrom(n.self, 32), netip.PrefixFrom(n.self6, 128)},
		Proto: proto,
	}
	for _, p := range ports {
		r.Ports = append(r.Ports, hostapi.PortRange{First: p, Last: p})
	}
	return r
}

// TestLinkFilter checks the nftables filter with real traffic between two
// namespaces, the node's veth end standing in for the mesh interface:
// TCP and UDP by port, IPv4 and IPv6, ICMP echo, replies to the node's own
// connections and ICMP errors about them, ICMP errors about a connection
// the peer opened (by the rules, as conntrack saw the connection), a filter
// change that cuts a connection it no longer admits, a 1,000-rule filter,
// and Close removing it all.
func TestLinkFilter(t *testing.T) {
	n := newFilterNode(t)
	tcpOK, tcpNo := n.ns.EchoTCP(t, netip.AddrPortFrom(n.self, 0)), n.ns.EchoTCP(t, netip.AddrPortFrom(n.self, 0))
	tcp6OK := n.ns.EchoTCP(t, netip.AddrPortFrom(n.self6, 0))
	udpOK, udpNo := n.ns.EchoUDP(t, netip.AddrPortFrom(n.self, 0)), n.ns.EchoUDP(t, netip.AddrPortFrom(n.self, 0))
	peerTCP := n.peer.EchoTCP(t, netip.AddrPortFrom(n.from, 0))
	base := []hostapi.FilterRule{n.rule(hostapi.ProtoTCP, tcpOK.Port(), tcp6OK.Port()), n.rule(hostapi.ProtoUDP, udpOK.Port())}
	n.setFilter(t, base...)

	t.Run("TCP and UDP by port, IPv4 and IPv6", func(t *testing.T) {
		mustEchoTCP(t, n.peer, tcpOK)
		mustEchoTCP(t, n.peer, tcp6OK)
		if err := echoTCPOnce(n.peer, tcpNo, blocked); err == nil {
			t.Errorf("the peer reached %v, which no rule admits", tcpNo)
		}
		if err := echoTCPOnce(n.peer, netip.AddrPortFrom(n.self6, tcpNo.Port()), blocked); err == nil {
			t.Errorf("the peer reached port %d over IPv6, which no rule admits", tcpNo.Port())
		}
		if !udpExchange(t, n.peer, udpOK, time.Second) {
			t.Errorf("no reply from the admitted UDP server %v", udpOK)
		}
		if udpExchange(t, n.peer, udpNo, blocked) {
			t.Errorf("a reply from %v, which no rule admits", udpNo)
		}
	})
	t.Run("replies to the node's connections, and ICMP errors about them", func(t *testing.T) {
		mustEchoTCP(t, n.ns, peerTCP)
		if err := refusedUDP(t, n.ns, netip.AddrPortFrom(n.from, 9)); err != nil {
			t.Errorf("the peer's port unreachable about the node's datagram: %v", err)
		}
	})
	t.Run("ICMP errors about the peer's connections, by the rules", func(t *testing.T) {
		port := reusableUDPPort(t, n.ns, n.self)
		n.setFilter(t, append(base, n.rule(hostapi.ProtoUDP, port))...)
		admitted := peerOpens(t, n, port)
		if err := nodeAnswers(t, n, port, admitted); err != nil {
			t.Errorf("about a flow the rules admit: %v", err)
		}
		cut := peerOpens(t, n, port)
		n.setFilter(t, base...)
		if err := nodeAnswers(t, n, port, cut); err == nil {
			t.Errorf("the peer's ICMP error about a flow the rules no longer admit reached the node")
		}
	})
	t.Run("ICMP echo", func(t *testing.T) {
		if pingFrom(t, n.peer, n.self, blocked) {
			t.Error("the peer's ping passed a filter without ICMP")
		}
		if !pingFrom(t, n.ns, n.from, time.Second) {
			t.Error("the node's own ping got no reply")
		}
		n.setFilter(t, append(base, n.rule(hostapi.ProtoICMP))...)
		if !pingFrom(t, n.peer, n.self, time.Second) || !pingFrom(t, n.peer, n.self6, time.Second) {
			t.Error("the peer's pings got no reply once ICMP is admitted")
		}
	})
	t.Run("a change cuts what it no longer admits, at once", func(t *testing.T) {
		c := dialTCP(t, n.peer, tcpOK)
		if err := echoOn(c, "before", time.Second); err != nil {
			t.Fatal(err)
		}
		n.setFilter(t, append(base, n.rule(hostapi.ProtoTCP, tcpNo.Port()))...)
		if err := echoOn(c, "still admitted", time.Second); err != nil {
			t.Errorf("a connection the new filter still admits: %v", err)
		}
		mustEchoTCP(t, n.peer, tcpNo)
		n.setFilter(t, n.rule(hostapi.ProtoTCP, tcpNo.Port()))
		if err := echoOn(c, "cut", blocked); err == nil {
			t.Error("a connection the new filter does not admit still echoes")
		}
	})
	t.Run("a 1,000-rule filter", func(t *testing.T) {
		if err := n.link.SetFilter(ft.Synthetic(1000, 1, n.rule(hostapi.ProtoTCP, tcpOK.Port()))); err != nil {
			t.Fatalf("SetFilter: %v", err)
		}
		mustEchoTCP(t, n.peer, tcpOK)
		if err := echoTCPOnce(n.peer, tcpNo, blocked); err == nil {
			t.Errorf("the peer reached %v under the 1,000-rule filter", tcpNo)
		}
	})
	t.Run("close removes the table", func(t *testing.T) {
		if err := n.link.Close(); err != nil {
			t.Fatal(err)
		}
		mustEchoTCP(t, n.peer, tcpNo)
		out, err := n.ns.Output(context.Background(), "nft", "list", "tables")
		if err == nil && strings.Contains(out, "rustynet-") {
			t.Errorf("a table is left after Close:\n%s", out)
		}
	})
}

// blocked is how long traffic the filter drops is waited for.
const blocked = time.Second

func dialTCP(t *testing.T, ns *netnstest.Namespace, to netip.AddrPort) net.Conn {
	t.Helper()
	var c net.Conn
	if err := ns.Do(func() (err error) {
		c, err = net.DialTimeout("tcp", to.String(), 5*time.Second)
		return err
	}); err != nil {
		t.Fatalf("dial %v: %v", to, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func echoOn(c net.Conn, msg string, timeout time.Duration) error {
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, msg+"\n"); err != nil {
		return err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if got != msg+"\n" {
		return errors.New("echo differs")
	}
	return nil
}

// echoTCPOnce connects from ns to to and checks one echo, within timeout.
func echoTCPOnce(ns *netnstest.Namespace, to netip.AddrPort, timeout time.Duration) error {
	var c net.Conn
	if err := ns.Do(func() (err error) {
		c, err = net.DialTimeout("tcp", to.String(), timeout)
		return err
	}); err != nil {
		return err
	}
	defer c.Close()
	return echoOn(c, "hello", timeout)
}

func mustEchoTCP(t *testing.T, ns *netnstest.Namespace, to netip.AddrPort) {
	t.Helper()
	if err := echoTCPOnce(ns, to, 5*time.Second); err != nil {
		t.Fatalf("echo from %s to %v: %v", ns.Name, to, err)
	}
}

// udpExchange sends datagrams from ns to to, one every 100 ms, and reports
// whether one came back within wait.
func udpExchange(t *testing.T, ns *netnstest.Namespace, to netip.AddrPort, wait time.Duration) bool {
	t.Helper()
	var c net.Conn
	if err := ns.Do(func() (err error) {
		c, err = net.Dial("udp", to.String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 64)
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); {
		_, _ = c.Write([]byte("ping"))
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Read(buf); err == nil {
			return true
		}
	}
	return false
}

// refusedUDP sends a datagram from ns to to, where nothing listens, over a
// connected socket, and returns nil once the port unreachable error comes
// back (ECONNREFUSED).
func refusedUDP(t *testing.T, ns *netnstest.Namespace, to netip.AddrPort) error {
	t.Helper()
	var c net.Conn
	if err := ns.Do(func() (err error) {
		c, err = net.Dial("udp", to.String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return awaitRefused(c)
}

// awaitRefused writes on connected UDP socket c until a read reports
// ECONNREFUSED, for up to a second.
func awaitRefused(c net.Conn) error {
	buf := make([]byte, 64)
	for deadline := time.Now().Add(time.Second); time.Now().Before(deadline); {
		_, _ = c.Write([]byte("anyone?"))
		_ = c.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		if _, err := c.Read(buf); errors.Is(err, syscall.ECONNREFUSED) {
			return nil
		}
	}
	return errors.New("no port unreachable came back")
}

// reuse sets SO_REUSEPORT on a socket, so that a listener and a connected
// socket share a port.
func reuse(_, _ string, rc syscall.RawConn) error {
	var serr error
	err := rc.Control(func(fd uintptr) { serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_REUSEPORT, 1) })
	return errors.Join(err, serr)
}

// reusableUDPPort listens on a UDP port of addr inside ns, shareable by
// connected sockets, and returns it.
func reusableUDPPort(t *testing.T, ns *netnstest.Namespace, addr netip.Addr) uint16 {
	t.Helper()
	var pc net.PacketConn
	if err := ns.Do(func() (err error) {
		pc, err = (&net.ListenConfig{Control: reuse}).ListenPacket(context.Background(), "udp", netip.AddrPortFrom(addr, 0).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return uint16(pc.LocalAddr().(*net.UDPAddr).Port)
}

// peerOpens makes the peer open a UDP flow to the node's port from a port
// of its own, which it then closes; it returns that address.
func peerOpens(t *testing.T, n *filterNode, port uint16) string {
	t.Helper()
	var c net.Conn
	if err := n.peer.Do(func() (err error) {
		c, err = net.Dial("udp", netip.AddrPortFrom(n.self, port).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("opening")); err != nil {
		t.Fatal(err)
	}
	return c.LocalAddr().String()
}

// nodeAnswers answers the flow from peerAddr to the node's port on a
// socket connected back to it. The peer's socket is gone: its kernel sends
// a port unreachable about the answer, an ICMP error about a connection
// the peer opened. It returns nil if the node's socket saw the error.
func nodeAnswers(t *testing.T, n *filterNode, port uint16, peerAddr string) error {
	t.Helper()
	var back net.Conn
	if err := n.ns.Do(func() (err error) {
		d := net.Dialer{LocalAddr: net.UDPAddrFromAddrPort(netip.AddrPortFrom(n.self, port)), Control: reuse}
		back, err = d.Dial("udp", peerAddr)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer back.Close()
	return awaitRefused(back)
}

// pingFrom sends ICMP (ICMPv6) echo requests from ns to dst over a raw
// socket and reports whether a reply came within wait.
func pingFrom(t *testing.T, ns *netnstest.Namespace, dst netip.Addr, wait time.Duration) bool {
	t.Helper()
	p := ft.Packet{Src: dst, Dst: dst, Proto: ft.ProtoICMP, Type: ft.EchoRequest4, ID: 4242}
	network, reply := "ip4:icmp", byte(ft.EchoReply4)
	if dst.Is6() {
		p.Proto, p.Type, network, reply = ft.ProtoICMPv6, ft.EchoRequest6, "ip6:ipv6-icmp", ft.EchoReply6
	}
	raw := p.Bytes()
	msg := raw[len(raw)-8:] // the ICMP header alone
	if dst.Is4() {
		sum := uint32(0)
		for i := 0; i < len(msg); i += 2 {
			sum += uint32(msg[i])<<8 | uint32(msg[i+1])
		}
		sum = sum>>16 + sum&0xffff
		msg[2], msg[3] = ^byte(sum>>8), ^byte(sum)
	}
	var pc net.PacketConn
	if err := ns.Do(func() (err error) {
		pc, err = net.ListenPacket(network, "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	buf := make([]byte, 1500)
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); {
		if _, err := pc.WriteTo(msg, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
			t.Fatal(err)
		}
		_ = pc.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				break
			}
			if n >= 8 && buf[0] == reply && buf[4] == msg[4] && buf[5] == msg[5] {
				return true
			}
		}
	}
	return false
}

// TestLinkFilterAdopted checks a Link opened on an interface an earlier
// Link had filtered (a restarted backend): the filter stays, admitting
// nothing new, until it is set again.
func TestLinkFilterAdopted(t *testing.T) {
	n := newFilterNode(t)
	srv := n.ns.EchoTCP(t, netip.AddrPortFrom(n.self, 0))
	n.setFilter(t, n.rule(hostapi.ProtoTCP, srv.Port()))
	mustEchoTCP(t, n.peer, srv)
	idx, name := n.link.index, n.link.name
	n.link.Release()
	if err := n.ns.Do(func() (err error) {
		n.link, err = Open(Config{Index: idx, Name: name, SetMark: func(uint32) error { return nil }})
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.link.Close() })
	if err := n.link.SetGateway(nil); err != nil { // as a backend's Configure does
		t.Fatal(err)
	}
	if err := echoTCPOnce(n.peer, srv, blocked); err == nil {
		t.Error("a new connection passed an adopted interface before its filter was set again")
	}
	n.setFilter(t, n.rule(hostapi.ProtoTCP, srv.Port()))
	mustEchoTCP(t, n.peer, srv)
}

// BenchmarkLinkSetFilter measures replacing the interface's table with a
// 1,000-rule filter: compiling its cells and one nftables transaction.
func BenchmarkLinkSetFilter(b *testing.B) {
	netnstest.Require(b)
	ns := netnstest.New(b)
	ns.Run(b, "ip", "link", "add", "hr0", "type", "veth", "peer", "name", "hr1")
	link, err := ns.Netlink(b).LinkByName("hr0")
	if err != nil {
		b.Fatal(err)
	}
	var l *Link
	if err := ns.Do(func() (err error) {
		l, err = Open(Config{Index: link.Attrs().Index, Name: "hr0", SetMark: func(uint32) error { return nil }})
		return err
	}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { l.Close() })
	filters := []hostapi.Filter{ft.Synthetic(1000, 1), ft.Synthetic(1000, 2)}
	i := 0
	for b.Loop() {
		if err := l.SetFilter(filters[i%2]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
