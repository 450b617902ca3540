package wgkernel

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"
	"github.com/vishvananda/netns"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/echoserver"
	"github.com/rustynet/rustynet/plugins/internal/hostroute"
	ft "github.com/rustynet/rustynet/plugins/internal/packetfilter/filtertest"
)

// dropWait is how long traffic the filter drops is given to come through
// anyway: admitted traffic answers within an echo attempt, handshakes
// done.
const dropWait = 3 * time.Second

// testFilter runs two kernel interfaces in namespaces, B filtering what A
// sends it through nftables, and checks with real traffic: UDP and TCP by
// port, IPv4 and IPv6, ICMP echo, replies to B's own connections, a
// filter change that keeps an admitted connection and cuts one it no
// longer admits, and Close taking the rules away.
func testFilter(t *testing.T) {
	ctx := context.Background()
	nsA, nsB := twoHosts(t)
	ka, kb := newKeyPair(t), newKeyPair(t)
	a6, b6 := netip.MustParsePrefix("fd7a::1/64"), netip.MustParsePrefix("fd7a::2/64")
	a := newBackendIn(t, nsA, hostapi.InterfaceConfig{Name: "wga", PrivateKey: ka.priv, ListenPort: portA, Addresses: []netip.Prefix{tunnelA, a6}})
	b := newBackendIn(t, nsB, hostapi.InterfaceConfig{Name: "wgb", PrivateKey: kb.priv, ListenPort: portB, Addresses: []netip.Prefix{tunnelB, b6}})
	host := func(p netip.Prefix) netip.Prefix { return netip.PrefixFrom(p.Addr(), p.Addr().BitLen()) }
	if err := a.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{
		PublicKey: kb.pub, Endpoint: netip.AddrPortFrom(underlayB.Addr(), portB), AllowedIPs: []netip.Prefix{host(tunnelB), host(b6)},
	}}}); err != nil {
		t.Fatal(err)
	}
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{
		PublicKey: ka.pub, Endpoint: netip.AddrPortFrom(underlayA.Addr(), portA), AllowedIPs: []netip.Prefix{host(tunnelA), host(a6)},
	}}}); err != nil {
		t.Fatal(err)
	}
	bA, bB := tunnelA.Addr(), tunnelB.Addr()
	for _, ap := range []netip.AddrPort{
		netip.AddrPortFrom(bB, 7), netip.AddrPortFrom(bB, 9), netip.AddrPortFrom(b6.Addr(), 7), netip.AddrPortFrom(b6.Addr(), 9),
	} {
		udpEcho(t, nsB, ap)
	}
	udpEcho(t, nsA, netip.AddrPortFrom(bA, 7))
	tcp8, tcp10 := netip.AddrPortFrom(bB, 8), netip.AddrPortFrom(bB, 10)
	tcpEcho(t, nsB, tcp8)
	tcpEcho(t, nsB, tcp10)
	if err := echoOnce(t, nsA, netip.AddrPortFrom(bB, 7), "the handshake, before any filter"); err != nil {
		t.Fatal(err)
	}

	rule := func(proto hostapi.Proto, ports ...uint16) hostapi.FilterRule {
		r := hostapi.FilterRule{Src: []netip.Prefix{host(tunnelA), host(a6)}, Dst: []netip.Prefix{host(tunnelB), host(b6)}, Proto: proto}
		for _, p := range ports {
			r.Ports = append(r.Ports, hostapi.PortRange{First: p, Last: p})
		}
		return r
	}
	set := func(rules ...hostapi.FilterRule) {
		t.Helper()
		if err := b.SetFilter(ctx, hostapi.Filter{Rules: rules}); err != nil {
			t.Fatalf("SetFilter: %v", err)
		}
	}
	bad := rule(hostapi.ProtoTCP)
	bad.Src = []netip.Prefix{netip.MustParsePrefix("100.64.0.1/16")}
	wantCode(t, "SetFilter with host bits", b.SetFilter(ctx, hostapi.Filter{Rules: []hostapi.FilterRule{bad}}), hostapi.CodeInvalidArgument)
	base := []hostapi.FilterRule{rule(hostapi.ProtoUDP, 7), rule(hostapi.ProtoTCP, 8)}
	set(base...)
	if got, want := nftChainNames(t, nsB, "wgb"), []string{"filter", "forward", "input"}; !slices.Equal(got, want) {
		t.Errorf("B's nftables chains: got %v, want %v", got, want)
	}

	t.Run("UDP by port", func(t *testing.T) {
		if err := echoOnce(t, nsA, netip.AddrPortFrom(bB, 7), "admitted"); err != nil {
			t.Error(err)
		}
		if got, err := exchange(t, nsA, netip.AddrPortFrom(bB, 9), "dropped", dropWait); err == nil {
			t.Errorf("a reply %q from port 9, which no rule admits", got)
		}
	})
	t.Run("IPv6", func(t *testing.T) {
		if err := echoOnce(t, nsA, netip.AddrPortFrom(b6.Addr(), 7), "admitted over IPv6"); err != nil {
			t.Error(err)
		}
		if got, err := exchange(t, nsA, netip.AddrPortFrom(b6.Addr(), 9), "dropped", dropWait); err == nil {
			t.Errorf("a reply %q from port 9 over IPv6, which no rule admits", got)
		}
	})
	t.Run("TCP by port", func(t *testing.T) {
		if err := tcpEchoOnce(t, nsA, tcp8, echoTotal); err != nil {
			t.Error(err)
		}
		if err := tcpEchoOnce(t, nsA, tcp10, dropWait); err == nil {
			t.Error("A reached TCP port 10, which no rule admits")
		}
	})
	t.Run("replies to B's own connections", func(t *testing.T) {
		if err := echoOnce(t, nsB, netip.AddrPortFrom(bA, 7), "from B"); err != nil {
			t.Error(err)
		}
	})
	t.Run("ICMP echo", func(t *testing.T) {
		if ping(t, nsA, bB, dropWait) {
			t.Error("A's ping passed a filter without ICMP")
		}
		set(append(base, rule(hostapi.ProtoICMP))...)
		if !ping(t, nsA, bB, echoTotal) || !ping(t, nsA, b6.Addr(), echoTotal) {
			t.Error("A's pings got no reply once ICMP is admitted")
		}
	})
	t.Run("a filter change keeps what it admits and cuts the rest", func(t *testing.T) {
		c, err := tcpDial(t, nsA, tcp8, echoTotal)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := tcpEchoOn(c, "before", echoTotal); err != nil {
			t.Fatal(err)
		}
		set(append(base, rule(hostapi.ProtoTCP, 10))...)
		if err := tcpEchoOn(c, "still admitted", echoTotal); err != nil {
			t.Errorf("a connection the new filter admits: %v", err)
		}
		if err := tcpEchoOnce(t, nsA, tcp10, echoTotal); err != nil {
			t.Errorf("to the newly admitted port: %v", err)
		}
		set(rule(hostapi.ProtoTCP, 10))
		if err := tcpEchoOn(c, "cut", dropWait); err == nil {
			t.Error("a connection the new filter does not admit still echoes")
		}
	})
	t.Run("close takes the rules away", func(t *testing.T) {
		if err := b.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]string(nil), nftChainNames(t, nsB, "wgb")); diff != "" {
			t.Errorf("B's chains after Close (-want +got):\n%s", diff)
		}
	})
}

// nftChainNames lists the chains of the nftables table of interface name
// in ns, sorted; nil without a table. (nftChains counts their rules too,
// but google/nftables cannot read back a ct expression with a direction:
// it takes the kernel's one-byte NFTA_CT_DIRECTION for four.)
func nftChainNames(t *testing.T, ns netns.NsHandle, name string) []string {
	t.Helper()
	var out []string
	var err error
	inNetNS(t, ns, func() {
		var c *nftables.Conn
		if c, err = nftables.New(); err != nil {
			return
		}
		var chains []*nftables.Chain
		if chains, err = c.ListChainsOfTableFamily(nftables.TableFamilyINet); err != nil {
			return
		}
		for _, ch := range chains {
			if ch.Table.Name == hostroute.TableName(name) {
				out = append(out, ch.Name)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// tcpEcho serves TCP echo (package echoserver) on addr inside ns until the
// test ends.
func tcpEcho(t *testing.T, ns netns.NsHandle, addr netip.AddrPort) {
	t.Helper()
	var ln net.Listener
	var err error
	inNetNS(t, ns, func() { ln, err = net.Listen("tcp", addr.String()) })
	if err != nil {
		t.Fatalf("listening on %v: %v", addr, err)
	}
	s := echoserver.ServeTCP(ln, nil)
	t.Cleanup(func() { _ = s.Close() })
}

// tcpDial connects from ns to to within timeout.
func tcpDial(t *testing.T, ns netns.NsHandle, to netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	t.Helper()
	var c net.Conn
	var err error
	inNetNS(t, ns, func() { c, err = net.DialTimeout("tcp", to.String(), timeout) })
	return c, err
}

// tcpEchoOn sends msg on c and reads it back within timeout.
func tcpEchoOn(c net.Conn, msg string, timeout time.Duration) error {
	_ = c.SetDeadline(time.Now().Add(timeout))
	if _, err := io.WriteString(c, msg+"\n"); err != nil {
		return err
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if got != msg+"\n" {
		return errors.New("echo: got " + got + ", want " + msg)
	}
	return nil
}

// tcpEchoOnce connects from ns to to and checks one echo, within timeout.
func tcpEchoOnce(t *testing.T, ns netns.NsHandle, to netip.AddrPort, timeout time.Duration) error {
	t.Helper()
	c, err := tcpDial(t, ns, to, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	return tcpEchoOn(c, "hello", timeout)
}

// ping sends ICMP (ICMPv6) echo requests from ns to dst over a raw socket,
// one every second, and reports whether a reply came within wait.
func ping(t *testing.T, ns netns.NsHandle, dst netip.Addr, wait time.Duration) bool {
	t.Helper()
	network, reply := "ip4:icmp", byte(ft.EchoReply4)
	if dst.Is6() {
		network, reply = "ip6:ipv6-icmp", ft.EchoReply6
	}
	raw := ft.Echo(dst, dst, 4242, false)
	msg := raw[len(raw)-8:] // the ICMP header alone; the kernel sums ICMPv6
	if dst.Is4() {
		sum := uint32(0)
		for i := 0; i < len(msg); i += 2 {
			sum += uint32(msg[i])<<8 | uint32(msg[i+1])
		}
		sum = sum>>16 + sum&0xffff
		msg[2], msg[3] = ^byte(sum>>8), ^byte(sum)
	}
	var pc net.PacketConn
	var err error
	inNetNS(t, ns, func() { pc, err = net.ListenPacket(network, "") })
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	buf := make([]byte, 1500)
	for deadline := time.Now().Add(wait); time.Now().Before(deadline); {
		if _, err := pc.WriteTo(msg, &net.IPAddr{IP: dst.AsSlice()}); err != nil {
			t.Fatal(err)
		}
		_ = pc.SetReadDeadline(time.Now().Add(time.Second))
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
