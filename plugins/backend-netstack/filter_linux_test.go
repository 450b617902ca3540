package netstack

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"gvisor.dev/gvisor/pkg/tcpip"
	"gvisor.dev/gvisor/pkg/tcpip/header"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv4"
	"gvisor.dev/gvisor/pkg/tcpip/network/ipv6"
	"gvisor.dev/gvisor/pkg/tcpip/transport/icmp"
	"gvisor.dev/gvisor/pkg/waiter"

	"github.com/rustynet/rustynet/hostapi"
)

// silence is how long traffic the filter drops is waited for: a negative
// needs a bound.
const silence = time.Second

// setFilter gives n the filter of rules.
func setFilter(tb testing.TB, n *testNode, rules ...hostapi.FilterRule) {
	tb.Helper()
	if err := n.b.SetFilter(context.Background(), hostapi.Filter{Rules: rules}); err != nil {
		tb.Fatalf("SetFilter: %v", err)
	}
}

// between is a rule from the addresses of one node to those of another.
func between(from, to *testNode, proto hostapi.Proto, ports ...uint16) hostapi.FilterRule {
	r := hostapi.FilterRule{Src: from.addresses(), Dst: to.addresses(), Proto: proto}
	for _, p := range ports {
		r.Ports = append(r.Ports, hostapi.PortRange{First: p, Last: p})
	}
	return r
}

// noUDPReply sends msg on c a few times and expects no reply.
func noUDPReply(tb testing.TB, c net.Conn, msg []byte) {
	tb.Helper()
	buf := make([]byte, maxDatagram)
	for range 3 {
		if _, err := c.Write(msg); err != nil {
			tb.Fatalf("send: %v", err)
		}
		_ = c.SetReadDeadline(time.Now().Add(silence / 3))
		if n, err := c.Read(buf); err == nil {
			tb.Fatalf("got a reply of %d bytes, want none", n)
		}
	}
}

// TestFilter sends real traffic between two netstack backends on this
// host's loopback, B filtering what A sends it: TCP and UDP by port, IPv4
// and IPv6, ICMP echo, replies to B's own connections, and a filter change
// that keeps an admitted connection and cuts one it no longer admits.
func TestFilter(t *testing.T) {
	bEcho7, bEcho8 := startTCPEchoOn(t, "127.0.0.1:0"), startTCPEchoOn(t, "127.0.0.1:0")
	bUDP7, bUDP8 := startUDPEcho(t), startUDPEcho(t)
	aEcho := startTCPEcho(t)
	loop := netip.AddrPortFrom(loopback, 0)
	aIP := netip.MustParseAddr("100.64.0.1")
	b := newTestNode(t, "100.64.0.2", &hostapi.ProxyConfig{
		Exposes: []hostapi.Expose{
			{Proto: hostapi.ProtoTCP, MeshPort: 7, Target: bEcho7.Addr()},
			{Proto: hostapi.ProtoTCP, MeshPort: 8, Target: bEcho8.Addr()},
			{Proto: hostapi.ProtoUDP, MeshPort: 7, Target: bUDP7},
			{Proto: hostapi.ProtoUDP, MeshPort: 8, Target: bUDP8},
		},
		Forwards: []hostapi.Forward{{Proto: hostapi.ProtoTCP, Listen: loop, Target: netip.AddrPortFrom(aIP, 7)}},
	}, withIPv6("fd7a::2"))
	a := newTestNode(t, aIP.String(), &hostapi.ProxyConfig{
		SOCKS5:  loop,
		Exposes: []hostapi.Expose{{Proto: hostapi.ProtoTCP, MeshPort: 7, Target: aEcho}},
		Forwards: []hostapi.Forward{
			{Proto: hostapi.ProtoUDP, Listen: loop, Target: b.mesh(7)},
			{Proto: hostapi.ProtoUDP, Listen: loop, Target: b.mesh(8)},
		},
	}, withDialTimeout(shortDial), withIPv6("fd7a::1"))
	connect(t, a, b)
	socks := serviceAddr(t, a, "socks5 127.0.0.1:0")
	dialUDP := func(t *testing.T, port uint16) net.Conn {
		t.Helper()
		c, err := net.Dial("udp", serviceAddr(t, a, fmt.Sprintf("forward udp 127.0.0.1:0->%s", b.mesh(port))))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	setFilter(t, b, between(a, b, hostapi.ProtoTCP, 7), between(a, b, hostapi.ProtoUDP, 7))

	t.Run("TCP to an admitted port passes, and its replies", func(t *testing.T) {
		rep, c := socksDial(t, socks, b.ip.String(), 7)
		if rep != socksRepSucceeded {
			t.Fatalf("got reply %d, want %d", rep, socksRepSucceeded)
		}
		echo(t, c, []byte("admitted"))
	})
	t.Run("TCP to another port is dropped before the stack", func(t *testing.T) {
		if rep, _ := socksDial(t, socks, b.ip.String(), 8); rep != socksRepTTLExpired {
			t.Errorf("got reply %d, want %d (TTL expired: B drops the SYN)", rep, socksRepTTLExpired)
		}
		if n := bEcho8.Accepted(); n != 0 {
			t.Errorf("B's service on the port no rule admits accepted %d connections, want 0", n)
		}
	})
	t.Run("UDP to an admitted port passes, another port is dropped", func(t *testing.T) {
		udpRoundTrip(t, dialUDP(t, 7), []byte("admitted datagram"))
		noUDPReply(t, dialUDP(t, 8), []byte("dropped datagram"))
	})
	t.Run("IPv6 by the same rules", func(t *testing.T) {
		rep, c := socksDial(t, socks, b.ip6.String(), 7)
		if rep != socksRepSucceeded {
			t.Fatalf("got reply %d, want %d", rep, socksRepSucceeded)
		}
		echo(t, c, []byte("admitted over IPv6"))
		if rep, _ := socksDial(t, socks, b.ip6.String(), 8); rep != socksRepTTLExpired {
			t.Errorf("to port 8 over IPv6: got reply %d, want %d", rep, socksRepTTLExpired)
		}
	})
	t.Run("replies to B's own connections pass without a rule", func(t *testing.T) {
		c, err := net.DialTimeout("tcp", serviceAddr(t, b, fmt.Sprintf("forward tcp 127.0.0.1:0->%s", a.mesh(7))), ioTimeout)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		echo(t, c, []byte("from B to A and back"))
	})
	t.Run("ICMP echo by rule; replies to B's own", func(t *testing.T) {
		if ping(t, a, b.ip, silence) {
			t.Error("A's ping reached B, which admits no ICMP")
		}
		if !ping(t, b, a.ip, ioTimeout) {
			t.Error("B's ping to A got no reply")
		}
		setFilter(t, b, between(a, b, hostapi.ProtoTCP, 7), between(a, b, hostapi.ProtoUDP, 7), between(a, b, hostapi.ProtoICMP))
		if !ping(t, a, b.ip, ioTimeout) {
			t.Error("A's ping got no reply once B admits ICMP")
		}
		if !ping(t, a, b.ip6, ioTimeout) {
			t.Error("A's IPv6 ping got no reply once B admits ICMP")
		}
	})
	t.Run("a filter change keeps what it admits and cuts the rest", func(t *testing.T) {
		rep, c := socksDial(t, socks, b.ip.String(), 7)
		if rep != socksRepSucceeded {
			t.Fatalf("got reply %d, want %d", rep, socksRepSucceeded)
		}
		echo(t, c, []byte("before the change"))
		setFilter(t, b, between(a, b, hostapi.ProtoTCP, 7, 8))
		echo(t, c, []byte("after a change that still admits it"))
		rep, c8 := socksDial(t, socks, b.ip.String(), 8)
		if rep != socksRepSucceeded {
			t.Fatalf("to the newly admitted port: got reply %d, want %d", rep, socksRepSucceeded)
		}
		echo(t, c8, []byte("newly admitted"))
		setFilter(t, b, between(a, b, hostapi.ProtoTCP, 8))
		noEcho(t, c, "after a change that cuts it")
		echo(t, c8, []byte("still admitted"))
	})
}

// TestFilterGateway checks the filter on a gateway's forwarded traffic: B
// routes 127.77.0.0/16 for A, and its filter admits A to one server there.
func TestFilterGateway(t *testing.T) {
	admitted, other := startTCPEchoOn(t, "127.77.0.5:0"), startTCPEchoOn(t, "127.77.0.6:0")
	b := newTestNode(t, "100.64.0.2", nil, withGateway("127.77.0.0/16"))
	loop := netip.AddrPortFrom(loopback, 0)
	a := newTestNode(t, "100.64.0.1", &hostapi.ProxyConfig{SOCKS5: loop}, withDialTimeout(shortDial))
	addPeer(t, b, a.peer())
	addPeer(t, a, b.peer("127.77.0.0/16"))
	socks := serviceAddr(t, a, "socks5 127.0.0.1:0")
	setFilter(t, b, hostapi.FilterRule{
		Src: a.addresses(), Dst: []netip.Prefix{netip.PrefixFrom(admitted.Addr().Addr(), 32)},
		Proto: hostapi.ProtoTCP, Ports: []hostapi.PortRange{{First: admitted.Addr().Port(), Last: admitted.Addr().Port()}},
	})

	rep, c := socksDial(t, socks, admitted.Addr().Addr().String(), admitted.Addr().Port())
	if rep != socksRepSucceeded {
		t.Fatalf("to the admitted server: got reply %d, want %d", rep, socksRepSucceeded)
	}
	echo(t, c, []byte("forwarded and admitted"))
	if rep, _ := socksDial(t, socks, other.Addr().Addr().String(), other.Addr().Port()); rep != socksRepTTLExpired {
		t.Errorf("to a server no rule admits: got reply %d, want %d (TTL expired: B drops the SYN)", rep, socksRepTTLExpired)
	}
	if n := other.Accepted(); n != 0 {
		t.Errorf("the server no rule admits accepted %d connections, want 0 (nothing forwarded)", n)
	}
}

// ping sends ICMP echo requests from n's stack to dst, one every 200 ms,
// and reports whether a reply came within wait.
func ping(tb testing.TB, n *testNode, dst netip.Addr, wait time.Duration) bool {
	tb.Helper()
	proto, netProto, typ := icmp.ProtocolNumber4, ipv4.ProtocolNumber, byte(header.ICMPv4Echo)
	if dst.Is6() {
		proto, netProto, typ = icmp.ProtocolNumber6, ipv6.ProtocolNumber, byte(header.ICMPv6EchoRequest)
	}
	var wq waiter.Queue
	ep, terr := n.b.link.stack.NewEndpoint(proto, netProto, &wq)
	if terr != nil {
		tb.Fatalf("ICMP endpoint: %v", terr)
	}
	defer ep.Close()
	we, readable := waiter.NewChannelEntry(waiter.ReadableEvents)
	wq.EventRegister(&we)
	defer wq.EventUnregister(&we)
	req := make([]byte, 8+16) // the stack fills in the identifier and checksum
	req[0] = typ
	to := tcpip.FullAddress{Addr: tcpip.AddrFromSlice(dst.AsSlice())}
	deadline := time.NewTimer(wait)
	defer deadline.Stop()
	resend := time.NewTicker(200 * time.Millisecond)
	defer resend.Stop()
	for {
		if _, terr := ep.Write(bytes.NewReader(req), tcpip.WriteOptions{To: &to}); terr != nil {
			tb.Fatalf("send echo request: %v", terr)
		}
		for {
			var buf bytes.Buffer
			if _, terr := ep.Read(&buf, tcpip.ReadOptions{}); terr == nil {
				return true
			}
			select {
			case <-readable:
				continue
			case <-resend.C:
			case <-deadline.C:
				return false
			}
			break
		}
	}
}
