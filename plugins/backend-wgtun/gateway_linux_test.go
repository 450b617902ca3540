package wgtun

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/netnstest"
	"github.com/rustynet/rustynet/plugins/internal/hostroute"
)

// blockedTimeout is how long a connection that must not get through is
// given; one that gets through answers within milliseconds.
const blockedTimeout = 2 * time.Second

// TestSubnetRouter runs a client A and a subnet router B (wgtun plugins in
// namespaces joined by a veth pair) and a LAN host C behind B on a veth of
// its own: 10.20.0.0/24, which B serves, and 10.30.0.0/24, which it does
// not. A routes both into the tunnel and B's peer entry allows both, so
// only B's forwarding decides. Checked by TCP from A to C: B masquerades
// (C sees B's LAN address), forwards without masquerade when C has a route
// back (C sees A's tunnel address), never forwards to the prefix it does
// not serve although ip_forward is on (until it serves it), and forwards
// nothing without a gateway.
func TestSubnetRouter(t *testing.T) {
	netnstest.Require(t)
	ctx := context.Background()
	a, b := topology(t)
	nsC := netnstest.New(t)
	lan := netnstest.Connect(t, b.ns, netip.MustParsePrefix("10.20.0.1/24"), nsC, netip.MustParsePrefix("10.20.0.5/24"))
	b.ns.Run(t, "ip", "addr", "add", "10.30.0.1/24", "dev", lan.NameA)
	nsC.Run(t, "ip", "addr", "add", "10.30.0.5/24", "dev", lan.NameB)
	served, unserved := netip.MustParsePrefix("10.20.0.0/24"), netip.MustParsePrefix("10.30.0.0/24")

	ba, bb := launch(t, a.ns), launch(t, b.ns)
	router := b.ifaceConfig()
	router.Gateway = &hostapi.GatewayConfig{Prefixes: []netip.Prefix{served}, Masquerade: true}
	mustConfigure(t, bb, router)
	mustApply(t, bb, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{a.peerConfig()}}, hostapi.RouteChanges{Add: []netip.Prefix{a.tunAddr}})
	mustConfigure(t, ba, a.ifaceConfig())
	toRouter := b.peerConfig()
	toRouter.AllowedIPs = append(toRouter.AllowedIPs, served, unserved)
	mustApply(t, ba, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{toRouter}}, hostapi.RouteChanges{Add: toRouter.AllowedIPs})

	lanHost := whoamiServer(t, nsC, netip.MustParseAddr("10.20.0.5"))
	otherHost := whoamiServer(t, nsC, netip.MustParseAddr("10.30.0.5"))

	t.Run("masquerade", func(t *testing.T) {
		if got := mustWhoami(t, a.ns, lanHost); got != "10.20.0.1" {
			t.Errorf("C saw A's connection come from %s, want B's LAN address 10.20.0.1", got)
		}
		if got := b.ns.Run(t, "sysctl", "-n", "net.ipv4.ip_forward"); strings.TrimSpace(got) != "1" {
			t.Errorf("B's ip_forward: got %s, want 1", got)
		}
	})

	t.Run("not served", func(t *testing.T) {
		if got, err := whoami(a.ns, otherHost, blockedTimeout); err == nil {
			t.Errorf("A reached %v, outside B's gateway prefixes (C saw %s); want it dropped", otherHost, got)
		}
		// The same path works once B serves the prefix: the guard, not
		// the setup, stopped it.
		wider := router
		wider.Gateway = &hostapi.GatewayConfig{Prefixes: []netip.Prefix{served, unserved}, Masquerade: true}
		mustConfigure(t, bb, wider)
		if got := mustWhoami(t, a.ns, otherHost); got != "10.30.0.1" {
			t.Errorf("C saw A's connection to the newly served prefix come from %s, want 10.30.0.1", got)
		}
		mustConfigure(t, bb, router)
		if got, err := whoami(a.ns, otherHost, blockedTimeout); err == nil {
			t.Errorf("A reached %v after B stopped serving it (C saw %s)", otherHost, got)
		}
	})

	t.Run("without masquerade", func(t *testing.T) {
		plain := router
		plain.Gateway = &hostapi.GatewayConfig{Prefixes: []netip.Prefix{served}}
		mustConfigure(t, bb, plain)
		nsC.Run(t, "ip", "route", "add", "198.18.0.0/24", "via", "10.20.0.1")
		if got := mustWhoami(t, a.ns, lanHost); got != a.tunAddr.Addr().String() {
			t.Errorf("C saw A's connection come from %s, want A's own tunnel address %s", got, a.tunAddr.Addr())
		}
	})

	t.Run("no gateway forwards nothing", func(t *testing.T) {
		mustConfigure(t, bb, b.ifaceConfig())
		if got := strings.TrimSpace(b.ns.Run(t, "sysctl", "-n", "net.ipv4.ip_forward")); got != "0" {
			t.Errorf("B's ip_forward after the gateway went: got %s, want 0 as before", got)
		}
		// Forwarding on for other interfaces: still nothing from the mesh.
		b.ns.Run(t, "sysctl", "-qw", "net.ipv4.ip_forward=1")
		if got, err := whoami(a.ns, lanHost, blockedTimeout); err == nil {
			t.Errorf("A reached %v through B without a gateway (C saw %s); want it dropped", lanHost, got)
		}
		if out := b.ns.Run(t, "nft", "list", "table", "inet", hostroute.TableName(b.name)); !strings.Contains(out, "drop") {
			t.Errorf("B's nftables table has no drop:\n%s", out)
		}
	})

	t.Run("close removes the table", func(t *testing.T) {
		if err := bb.Close(ctx); err != nil {
			t.Fatal(err)
		}
		if out, err := b.ns.Output(ctx, "nft", "list", "table", "inet", hostroute.TableName(b.name)); err == nil {
			t.Errorf("B's nftables table is still there after Close:\n%s", out)
		}
	})
}

// TestExitNode runs a client A and an exit node B as wgtun plugins; B's
// endpoint (172.16.0.2) is reachable from A only through A's own default
// route, as an exit on the internet is. Behind B is an "internet" host D
// (203.0.113.5) that has no route to A; A also has a LAN host L
// (192.168.50.7) of its own, and a strict reverse-path filter. With a
// default route into the tunnel, A reaches D through B (D sees B's
// address), while A's tunnel packets and its LAN stay direct: a routing
// loop would carry no traffic at all. Withdrawing the default route
// restores A's routing.
func TestExitNode(t *testing.T) {
	netnstest.Require(t)
	ctx := context.Background()
	a, b := topology(t)
	exitEndpoint := netip.MustParseAddr("172.16.0.2")
	b.ns.Run(t, "ip", "addr", "add", exitEndpoint.String()+"/32", "dev", "lo")
	a.ns.Run(t, "ip", "route", "add", "default", "via", b.underlay.String())
	// B answers from its endpoint address, so that only the mark, carried
	// back by conntrack, lets A's strict reverse-path filter accept it.
	b.ns.Run(t, "ip", "route", "replace", "10.99.1.0/24", "dev", devWith(t, b.ns, b.underlay), "src", exitEndpoint.String())
	a.ns.Run(t, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=1")
	b.underlay = exitEndpoint // what A knows B's endpoint by

	nsD, nsL := netnstest.New(t), netnstest.New(t)
	netnstest.Connect(t, b.ns, netip.MustParsePrefix("203.0.113.1/24"), nsD, netip.MustParsePrefix("203.0.113.5/24"))
	lanA := netnstest.Connect(t, a.ns, netip.MustParsePrefix("192.168.50.1/24"), nsL, netip.MustParsePrefix("192.168.50.7/24"))
	internet := whoamiServer(t, nsD, netip.MustParseAddr("203.0.113.5"))
	lanHost := whoamiServer(t, nsL, netip.MustParseAddr("192.168.50.7"))

	// Without a default route into the tunnel, D cannot answer A: it has
	// no route back. (No tunnel traffic yet: the first handshake must
	// happen with the default route in place, so that nothing but the
	// mark keeps it out of the tunnel.)
	if got, err := whoami(a.ns, internet, blockedTimeout); err == nil {
		t.Fatalf("A reached %v without a default route into the tunnel (D saw %s)", internet, got)
	}

	ba, bb := launch(t, a.ns), launch(t, b.ns)
	exit := b.ifaceConfig()
	exit.Gateway = &hostapi.GatewayConfig{Prefixes: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, Masquerade: true}
	mustConfigure(t, bb, exit)
	mustApply(t, bb, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{a.peerConfig()}}, hostapi.RouteChanges{Add: []netip.Prefix{a.tunAddr}})
	mustConfigure(t, ba, a.ifaceConfig())
	toExit := b.peerConfig()
	toExit.AllowedIPs = append(toExit.AllowedIPs, netip.MustParsePrefix("0.0.0.0/0"))
	defaultRoute := netip.MustParsePrefix("0.0.0.0/0")
	mustApply(t, ba, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{toExit}}, hostapi.RouteChanges{Add: []netip.Prefix{b.tunAddr, defaultRoute}})
	meshHost := b.ns.EchoTCP(t, netip.AddrPortFrom(b.tunAddr.Addr(), 0))
	mark, err := hostroute.MarkOf(linkIndex(t, a.ns, a.name))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("no loop", func(t *testing.T) {
		// The first handshake and the data ride the tunnel's own packets,
		// whose only path to the exit is A's underlay default route.
		mustEcho(t, dial(t, a.ns, meshHost), "through the tunnel with the default route in it")
		// Unmarked packets to the exit's endpoint would enter the tunnel;
		// the tunnel's own, marked, take A's underlay default route.
		routeVia(t, a.ns, "dev "+a.name, exitEndpoint.String())
		routeVia(t, a.ns, "via 10.99.1.2", exitEndpoint.String(), "mark", strconv.FormatUint(uint64(mark), 10))
	})

	t.Run("internet through the exit", func(t *testing.T) {
		if got := mustWhoami(t, a.ns, internet); got != "203.0.113.1" {
			t.Errorf("D saw A's connection come from %s, want the exit's address 203.0.113.1", got)
		}
		st, err := ba.State(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if want := []netip.Prefix{defaultRoute, b.tunAddr}; !slices.Equal(st.Routes, want) {
			t.Errorf("State routes: got %v, want %v", st.Routes, want)
		}
	})

	t.Run("LAN stays direct", func(t *testing.T) {
		if got := mustWhoami(t, a.ns, lanHost); got != "192.168.50.1" {
			t.Errorf("L saw A's connection come from %s, want A's LAN address 192.168.50.1", got)
		}
		routeVia(t, a.ns, "dev "+lanA.NameA, "192.168.50.7")
	})

	t.Run("withdrawn", func(t *testing.T) {
		if err := ba.ApplyRoutes(ctx, hostapi.RouteChanges{Remove: []netip.Prefix{defaultRoute}}); err != nil {
			t.Fatal(err)
		}
		if got, err := whoami(a.ns, internet, blockedTimeout); err == nil {
			t.Errorf("A reached %v through the tunnel after the default route was withdrawn (D saw %s)", internet, got)
		}
		routeVia(t, a.ns, "via 10.99.1.2", "203.0.113.5")
		if out := a.ns.Run(t, "ip", "rule", "show"); strings.Contains(out, "fwmark") {
			t.Errorf("policy rules left after the default route was withdrawn:\n%s", out)
		}
		mustEcho(t, dial(t, a.ns, meshHost), "through the tunnel after the default route went")
	})
}

// mustConfigure configures b with cfg or fails t.
func mustConfigure(t *testing.T, b hostapi.Backend, cfg hostapi.InterfaceConfig) {
	t.Helper()
	if err := b.Configure(context.Background(), cfg); err != nil {
		t.Fatalf("Configure %s: %v", cfg.Name, err)
	}
}

// mustApply applies peers, then routes, to b or fails t.
func mustApply(t *testing.T, b hostapi.Backend, peers hostapi.PeerChanges, routes hostapi.RouteChanges) {
	t.Helper()
	ctx := context.Background()
	if err := b.ApplyPeers(ctx, peers); err != nil {
		t.Fatalf("ApplyPeers: %v", err)
	}
	if err := b.ApplyRoutes(ctx, routes); err != nil {
		t.Fatalf("ApplyRoutes: %v", err)
	}
}

// whoamiServer listens on addr inside ns and answers every TCP connection
// with the address it came from, on one line.
func whoamiServer(t testing.TB, ns *netnstest.Namespace, addr netip.Addr) netip.AddrPort {
	t.Helper()
	var ln net.Listener
	if err := ns.Do(func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(addr, 0).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			from := c.RemoteAddr().(*net.TCPAddr).AddrPort().Addr().Unmap()
			_, _ = fmt.Fprintln(c, from)
			c.Close()
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

// whoami connects from inside ns to a whoamiServer and returns the address
// it saw; it gives up after timeout.
func whoami(ns *netnstest.Namespace, to netip.AddrPort, timeout time.Duration) (string, error) {
	var c net.Conn
	if err := ns.Do(func() (err error) {
		c, err = net.DialTimeout("tcp", to.String(), timeout)
		return err
	}); err != nil {
		return "", err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return "", err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil && err != io.EOF {
		return "", err
	}
	return strings.TrimSpace(line), nil
}

// mustWhoami is whoami that fails t if the connection does not get
// through within 20 s (a first handshake included).
func mustWhoami(t *testing.T, ns *netnstest.Namespace, to netip.AddrPort) string {
	t.Helper()
	got, err := whoami(ns, to, 20*time.Second)
	if err != nil {
		t.Fatalf("connect from %s to %v: %v", ns.Name, to, err)
	}
	return got
}

// routeVia fails t unless the answer of `ip route get ARGS` in ns holds
// want ("dev NAME" or "via ADDRESS").
func routeVia(t *testing.T, ns *netnstest.Namespace, want string, args ...string) {
	t.Helper()
	out := ns.Run(t, "ip", append([]string{"route", "get"}, args...)...)
	if !strings.Contains(out+" ", want+" ") {
		t.Errorf("ip route get %s in %s: got %q, want %q in it", strings.Join(args, " "), ns.Name, strings.TrimSpace(out), want)
	}
}

// devWith returns the name of the interface in ns that has address a.
func devWith(t *testing.T, ns *netnstest.Namespace, a netip.Addr) string {
	t.Helper()
	f := strings.Fields(ns.Run(t, "ip", "-brief", "address", "show", "to", a.String()))
	if len(f) == 0 {
		t.Fatalf("no interface in %s has %v", ns.Name, a)
	}
	name, _, _ := strings.Cut(f[0], "@")
	return name
}

// linkIndex returns the index of the interface name in ns.
func linkIndex(t *testing.T, ns *netnstest.Namespace, name string) int {
	t.Helper()
	l, err := ns.Netlink(t).LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	return l.Attrs().Index
}
