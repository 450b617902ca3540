package wgtun

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/netnstest"
)

// dualStack gives both nodes an IPv6 tunnel address beside their IPv4 one,
// and configures their plugins as each other's peer with routes to both.
func dualStack(t *testing.T, a, b *node, ba, bb hostapi.Backend) (a6, b6 netip.Addr) {
	t.Helper()
	a6, b6 = netip.MustParseAddr("fd7a::1"), netip.MustParseAddr("fd7a::2")
	for _, side := range []struct {
		n, peer    *node
		own, other netip.Addr
		be         hostapi.Backend
	}{{a, b, a6, b6, ba}, {b, a, b6, a6, bb}} {
		cfg := side.n.ifaceConfig()
		cfg.Addresses = append(cfg.Addresses, netip.PrefixFrom(side.own, 128))
		mustConfigure(t, side.be, cfg)
		p := side.peer.peerConfig()
		p.AllowedIPs = append(p.AllowedIPs, netip.PrefixFrom(side.other, 128))
		mustApply(t, side.be, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{p}}, hostapi.RouteChanges{Add: p.AllowedIPs})
	}
	return a6, b6
}

func mustSetFilter(t *testing.T, b hostapi.Backend, rules ...hostapi.FilterRule) {
	t.Helper()
	if err := b.SetFilter(context.Background(), hostapi.Filter{Rules: rules}); err != nil {
		t.Fatalf("SetFilter: %v", err)
	}
}

// hostRule admits proto from the addresses from to those in to, to the
// given ports (none: all).
func hostRule(from, to []netip.Addr, proto hostapi.Proto, ports ...uint16) hostapi.FilterRule {
	r := hostapi.FilterRule{Proto: proto}
	for _, a := range from {
		r.Src = append(r.Src, netip.PrefixFrom(a, a.BitLen()))
	}
	for _, a := range to {
		r.Dst = append(r.Dst, netip.PrefixFrom(a, a.BitLen()))
	}
	for _, p := range ports {
		r.Ports = append(r.Ports, hostapi.PortRange{First: p, Last: p})
	}
	return r
}

// TestFilter runs two wgtun plugins in namespaces, B filtering what A
// sends it, and checks with real traffic through the kernel on both ends:
// TCP and UDP by port, IPv4 and IPv6, ICMP echo, replies to B's own
// connections, and a filter change that keeps an admitted connection and
// cuts one it no longer admits.
func TestFilter(t *testing.T) {
	netnstest.Require(t)
	a, b := topology(t)
	ba, bb := launch(t, a.ns), launch(t, b.ns)
	a6, b6 := dualStack(t, a, b, ba, bb)
	a4, b4 := a.tunAddr.Addr(), b.tunAddr.Addr()
	admitted4, denied4 := whoamiServer(t, b.ns, b4), whoamiServer(t, b.ns, b4)
	admitted6, denied6 := whoamiServer(t, b.ns, b6), whoamiServer(t, b.ns, b6)
	udpAdmitted, udpDenied := b.ns.EchoUDP(t, netip.AddrPortFrom(b4, 0)), b.ns.EchoUDP(t, netip.AddrPortFrom(b4, 0))
	echo4 := b.ns.EchoTCP(t, netip.AddrPortFrom(b4, 0))
	aSide := whoamiServer(t, a.ns, a4)
	from, to := []netip.Addr{a4, a6}, []netip.Addr{b4, b6}
	base := []hostapi.FilterRule{
		hostRule(from, to, hostapi.ProtoTCP, admitted4.Port(), admitted6.Port(), echo4.Port()),
		hostRule(from, to, hostapi.ProtoUDP, udpAdmitted.Port()),
	}
	mustWhoami(t, a.ns, admitted4) // the handshake, before any filter
	mustSetFilter(t, bb, base...)

	t.Run("TCP by port", func(t *testing.T) {
		if got := mustWhoami(t, a.ns, admitted4); got != a4.String() {
			t.Errorf("the admitted server saw %s, want %s", got, a4)
		}
		if got, err := whoami(a.ns, denied4, blockedTimeout); err == nil {
			t.Errorf("A reached %v, which no rule admits (it saw %s)", denied4, got)
		}
	})
	t.Run("IPv6 by port", func(t *testing.T) {
		mustWhoami(t, a.ns, admitted6)
		if got, err := whoami(a.ns, denied6, blockedTimeout); err == nil {
			t.Errorf("A reached %v, which no rule admits (it saw %s)", denied6, got)
		}
	})
	t.Run("UDP by port", func(t *testing.T) {
		if !udpExchange(t, a.ns, udpAdmitted, 20*time.Second) {
			t.Errorf("no reply from the admitted UDP server %v", udpAdmitted)
		}
		if udpExchange(t, a.ns, udpDenied, blockedTimeout) {
			t.Errorf("a reply from %v, which no rule admits", udpDenied)
		}
	})
	t.Run("replies to B's own connections", func(t *testing.T) {
		if got := mustWhoami(t, b.ns, aSide); got != b4.String() {
			t.Errorf("A's server saw %s, want %s", got, b4)
		}
	})
	t.Run("ICMP echo", func(t *testing.T) {
		if ping(t, a.ns, b4, blockedTimeout) {
			t.Error("A's ping got through to B, which admits no ICMP")
		}
		if !ping(t, b.ns, a4, 20*time.Second) || !ping(t, b.ns, a6, 20*time.Second) {
			t.Error("B's own pings to A got no reply")
		}
		mustSetFilter(t, bb, append(base, hostRule(from, to, hostapi.ProtoICMP))...)
		if !ping(t, a.ns, b4, 20*time.Second) || !ping(t, a.ns, b6, 20*time.Second) {
			t.Error("A's pings got no reply once B admits ICMP")
		}
	})
	t.Run("a filter change keeps what it admits and cuts the rest", func(t *testing.T) {
		c := dial(t, a.ns, echo4)
		mustEcho(t, c, "before the change")
		mustSetFilter(t, bb, append(base, hostRule(from, to, hostapi.ProtoTCP, denied4.Port()))...)
		mustEcho(t, c, "after a change that still admits it")
		mustWhoami(t, a.ns, denied4)
		mustSetFilter(t, bb, hostRule(from, to, hostapi.ProtoTCP, denied4.Port()))
		if err := echo(c, "after a change that cuts it", blockedTimeout); err == nil {
			t.Error("the cut connection still echoes")
		}
		mustWhoami(t, a.ns, denied4)
		if got, err := whoami(a.ns, admitted4, blockedTimeout); err == nil {
			t.Errorf("A reached %v, no longer admitted (it saw %s)", admitted4, got)
		}
	})
}

// TestFilterGateway runs a client A and a subnet router B with a LAN host
// C behind it; B's filter admits A to one server of C's and not another:
// the filter holds on forwarded traffic as on B's own.
func TestFilterGateway(t *testing.T) {
	netnstest.Require(t)
	a, b := topology(t)
	nsC := netnstest.New(t)
	netnstest.Connect(t, b.ns, netip.MustParsePrefix("10.20.0.1/24"), nsC, netip.MustParsePrefix("10.20.0.5/24"))
	served := netip.MustParsePrefix("10.20.0.0/24")
	ba, bb := launch(t, a.ns), launch(t, b.ns)
	router := b.ifaceConfig()
	router.Gateway = &hostapi.GatewayConfig{Prefixes: []netip.Prefix{served}, Masquerade: true}
	mustConfigure(t, bb, router)
	mustApply(t, bb, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{a.peerConfig()}}, hostapi.RouteChanges{Add: []netip.Prefix{a.tunAddr}})
	mustConfigure(t, ba, a.ifaceConfig())
	toRouter := b.peerConfig()
	toRouter.AllowedIPs = append(toRouter.AllowedIPs, served)
	mustApply(t, ba, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{toRouter}}, hostapi.RouteChanges{Add: toRouter.AllowedIPs})
	lanHost := netip.MustParseAddr("10.20.0.5")
	admitted, denied := whoamiServer(t, nsC, lanHost), whoamiServer(t, nsC, lanHost)
	mustSetFilter(t, bb, hostRule([]netip.Addr{a.tunAddr.Addr()}, []netip.Addr{lanHost}, hostapi.ProtoTCP, admitted.Port()))

	if got := mustWhoami(t, a.ns, admitted); got != "10.20.0.1" {
		t.Errorf("C saw A's admitted connection come from %s, want B's LAN address 10.20.0.1", got)
	}
	if got, err := whoami(a.ns, denied, blockedTimeout); err == nil {
		t.Errorf("A reached %v through B, which no rule admits (C saw %s)", denied, got)
	}
}

// udpExchange sends datagrams from inside ns to to, one every 200 ms, and
// reports whether one came back within wait.
func udpExchange(t testing.TB, ns *netnstest.Namespace, to netip.AddrPort, wait time.Duration) bool {
	t.Helper()
	var c net.Conn
	if err := ns.Do(func() (err error) {
		c, err = net.Dial("udp", to.String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	deadline := time.Now().Add(wait)
	buf := make([]byte, 64)
	for time.Now().Before(deadline) {
		if _, err := c.Write([]byte("ping")); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		if _, err := c.Read(buf); err == nil {
			return true
		}
	}
	return false
}

// ping sends ICMP (ICMPv6) echo requests from inside ns to dst, one every
// 200 ms, over a raw socket, and reports whether a reply came within wait.
func ping(t testing.TB, ns *netnstest.Namespace, dst netip.Addr, wait time.Duration) bool {
	t.Helper()
	network, request, reply := "ip4:icmp", byte(8), byte(0)
	if dst.Is6() {
		network, request, reply = "ip6:ipv6-icmp", 128, 129
	}
	var pc net.PacketConn
	if err := ns.Do(func() (err error) {
		pc, err = net.ListenPacket(network, "")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	var id [2]byte
	_, _ = rand.Read(id[:])
	msg := []byte{request, 0, 0, 0, id[0], id[1], 0, 1}
	if dst.Is4() { // the kernel computes ICMPv6 checksums itself
		sum := uint32(request)<<8 + uint32(binary.BigEndian.Uint16(id[:])) + 1
		sum = sum>>16 + sum&0xffff
		binary.BigEndian.PutUint16(msg[2:], ^uint16(sum+sum>>16))
	}
	deadline := time.Now().Add(wait)
	buf := make([]byte, 1500)
	for time.Now().Before(deadline) {
		if _, err := pc.WriteTo(msg, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
			t.Fatal(err)
		}
		_ = pc.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				break
			}
			src, _ := netip.AddrFromSlice(from.(*net.IPAddr).IP)
			if n >= 8 && buf[0] == reply && buf[4] == id[0] && buf[5] == id[1] && src.Unmap() == dst {
				return true
			}
		}
	}
	return false
}
