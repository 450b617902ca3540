package wgkernel

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/hostroute"
)

// blockedWait is how long a datagram that must not get through is given
// an answer; one that gets through is answered within milliseconds once
// the tunnel is up.
const blockedWait = 3 * time.Second

// whoamiPort is where udpWhoami servers listen.
const whoamiPort = 9

// testRouter runs a client A and a subnet router B on kernel WireGuard,
// and a LAN host C behind B with 10.20.0.5 (served) and 10.30.0.5 (not
// served). A routes both prefixes into the tunnel and its peer entry for B
// allows both, so B's forwarding alone decides. Checked by UDP: masquerade
// (C sees B's LAN address), no masquerade with a route back (C sees A's
// tunnel address), nothing to the prefix B does not serve though
// ip_forward is on, nothing without a gateway, and Close leaving no table
// and ip_forward as it was.
func testRouter(t *testing.T) {
	ctx := context.Background()
	nsA, nsB := twoHosts(t)
	nsC := newNetNS(t)
	joinHosts(t, nsB, "lan0", netip.MustParsePrefix("10.20.0.1/24"), nsC, "lan1", netip.MustParsePrefix("10.20.0.5/24"))
	runIn(t, nsB, "ip", "addr", "add", "10.30.0.1/24", "dev", "lan0")
	runIn(t, nsC, "ip", "addr", "add", "10.30.0.5/24", "dev", "lan1")
	setSysctlIn(t, nsB, "net/ipv4/ip_forward", "0")
	served, unserved := netip.MustParsePrefix("10.20.0.0/24"), netip.MustParsePrefix("10.30.0.0/24")

	ka, kb := newKeyPair(t), newKeyPair(t)
	routerCfg := hostapi.InterfaceConfig{Name: "wgr", PrivateKey: kb.priv, ListenPort: portB, Addresses: []netip.Prefix{tunnelB},
		Gateway: &hostapi.GatewayConfig{Prefixes: []netip.Prefix{served}, Masquerade: true}}
	b := newBackendIn(t, nsB, routerCfg)
	a := newBackendIn(t, nsA, hostapi.InterfaceConfig{Name: "wgc", PrivateKey: ka.priv, ListenPort: portA, Addresses: []netip.Prefix{tunnelA}})
	mustPeers(t, b, hostapi.PeerConfig{PublicKey: ka.pub, Endpoint: netip.AddrPortFrom(underlayA.Addr(), portA), AllowedIPs: []netip.Prefix{netip.PrefixFrom(tunnelA.Addr(), 32)}})
	mustPeers(t, a, hostapi.PeerConfig{PublicKey: kb.pub, Endpoint: netip.AddrPortFrom(underlayB.Addr(), portB),
		AllowedIPs: []netip.Prefix{netip.PrefixFrom(tunnelB.Addr(), 32), served, unserved}})
	if err := a.ApplyRoutes(ctx, hostapi.RouteChanges{Add: []netip.Prefix{served, unserved}}); err != nil {
		t.Fatal(err)
	}
	lanHost := netip.AddrPortFrom(netip.MustParseAddr("10.20.0.5"), whoamiPort)
	otherHost := netip.AddrPortFrom(netip.MustParseAddr("10.30.0.5"), whoamiPort)
	udpWhoami(t, nsC, lanHost)
	udpWhoami(t, nsC, otherHost)

	if got, err := exchange(t, nsA, lanHost, "who", echoTotal); err != nil || got != "10.20.0.1" {
		t.Errorf("C saw A's datagram come from %q (%v), want B's LAN address 10.20.0.1", got, err)
	}
	if got := sysctlIn(t, nsB, "net/ipv4/ip_forward"); got != "1" {
		t.Errorf("B's ip_forward: got %s, want 1", got)
	}
	if diff := cmp.Diff([]string{"forward 7", "postrouting 1"}, nftChains(t, nsB, "wgr")); diff != "" {
		t.Errorf("B's nftables chains (-want +got):\n%s", diff)
	}
	if got, err := exchange(t, nsA, otherHost, "who", blockedWait); err == nil {
		t.Errorf("A reached %v, which B does not serve (C saw %s)", otherHost, got)
	}

	plain := routerCfg
	plain.Gateway = &hostapi.GatewayConfig{Prefixes: []netip.Prefix{served}}
	if err := b.Configure(ctx, plain); err != nil {
		t.Fatal(err)
	}
	runIn(t, nsC, "ip", "route", "add", tunnelA.Masked().String(), "via", "10.20.0.1")
	if got, err := exchange(t, nsA, lanHost, "who", echoTotal); err != nil || got != tunnelA.Addr().String() {
		t.Errorf("without masquerade C saw A's datagram come from %q (%v), want %s", got, err, tunnelA.Addr())
	}

	noGateway := routerCfg
	noGateway.Gateway = nil
	if err := b.Configure(ctx, noGateway); err != nil {
		t.Fatal(err)
	}
	if got := sysctlIn(t, nsB, "net/ipv4/ip_forward"); got != "0" {
		t.Errorf("B's ip_forward after the gateway went: got %s, want 0 as before", got)
	}
	setSysctlIn(t, nsB, "net/ipv4/ip_forward", "1") // as for other interfaces
	if got, err := exchange(t, nsA, lanHost, "who", blockedWait); err == nil {
		t.Errorf("A reached %v through B without a gateway (C saw %s)", lanHost, got)
	}

	setSysctlIn(t, nsB, "net/ipv4/ip_forward", "0")
	if err := b.Configure(ctx, routerCfg); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if got := nftChains(t, nsB, "wgr"); len(got) != 0 {
		t.Errorf("B's nftables chains after Close: %v", got)
	}
	if got := sysctlIn(t, nsB, "net/ipv4/ip_forward"); got != "0" {
		t.Errorf("B's ip_forward after Close: got %s, want 0 as before", got)
	}
}

// testExit runs a client A and an exit B on kernel WireGuard. B's endpoint
// (172.16.0.2, which B also answers from) is reachable from A only through
// A's own default route, as an exit on the internet is, and A filters by
// reverse path strictly. Behind B is an "internet" host D (203.0.113.5)
// with no route to A. With a default route into the tunnel, A's first
// handshake and its traffic to D go through (D sees B's address): the
// kernel's WireGuard packets carry the mark and stay out of the tunnel.
// Withdrawing the default route takes D out of reach again.
func testExit(t *testing.T) {
	ctx := context.Background()
	nsA, nsB := twoHosts(t)
	exitEndpoint := netip.AddrPortFrom(netip.MustParseAddr("172.16.0.2"), portB)
	runIn(t, nsB, "ip", "addr", "add", "172.16.0.2/32", "dev", "lo")
	runIn(t, nsB, "ip", "route", "replace", underlayB.Masked().String(), "dev", "ul1", "src", "172.16.0.2")
	runIn(t, nsA, "ip", "route", "add", "default", "via", underlayB.Addr().String())
	setSysctlIn(t, nsA, "net/ipv4/conf/all/rp_filter", "1")
	nsD := newNetNS(t)
	joinHosts(t, nsB, "inet0", netip.MustParsePrefix("203.0.113.1/24"), nsD, "inet1", netip.MustParsePrefix("203.0.113.5/24"))
	internet := netip.AddrPortFrom(netip.MustParseAddr("203.0.113.5"), whoamiPort)
	udpWhoami(t, nsD, internet)

	ka, kb := newKeyPair(t), newKeyPair(t)
	b := newBackendIn(t, nsB, hostapi.InterfaceConfig{Name: "wgx", PrivateKey: kb.priv, ListenPort: portB, Addresses: []netip.Prefix{tunnelB},
		Gateway: &hostapi.GatewayConfig{Prefixes: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, Masquerade: true}})
	a := newBackendIn(t, nsA, hostapi.InterfaceConfig{Name: "wgc", PrivateKey: ka.priv, ListenPort: portA, Addresses: []netip.Prefix{tunnelA}})
	mustPeers(t, b, hostapi.PeerConfig{PublicKey: ka.pub, AllowedIPs: []netip.Prefix{netip.PrefixFrom(tunnelA.Addr(), 32)}})
	defaultRoute := netip.MustParsePrefix("0.0.0.0/0")
	mustPeers(t, a, hostapi.PeerConfig{PublicKey: kb.pub, Endpoint: exitEndpoint, AllowedIPs: []netip.Prefix{netip.PrefixFrom(tunnelB.Addr(), 32), defaultRoute}})
	if err := a.ApplyRoutes(ctx, hostapi.RouteChanges{Add: []netip.Prefix{defaultRoute}}); err != nil {
		t.Fatal(err)
	}
	mark, err := hostroute.MarkOf(a.dev.link.Attrs().Index)
	if err != nil {
		t.Fatal(err)
	}
	if got := firewallMark(t, a); got != int(mark) {
		t.Errorf("A's firewall mark: got %#x, want %#x", got, mark)
	}

	if got, err := exchange(t, nsA, internet, "who", echoTotal); err != nil || got != "203.0.113.1" {
		t.Fatalf("D saw A's datagram come from %q (%v), want the exit's 203.0.113.1", got, err)
	}
	udpEcho(t, nsB, netip.AddrPortFrom(tunnelB.Addr(), echoPort))
	if err := echoOnce(t, nsA, netip.AddrPortFrom(tunnelB.Addr(), echoPort), "to the exit itself"); err != nil {
		t.Error(err)
	}

	if err := a.ApplyRoutes(ctx, hostapi.RouteChanges{Remove: []netip.Prefix{defaultRoute}}); err != nil {
		t.Fatal(err)
	}
	if got, err := exchange(t, nsA, internet, "who", blockedWait); err == nil {
		t.Errorf("A reached %v after the default route was withdrawn (D saw %s)", internet, got)
	}
	if got := firewallMark(t, a); got != 0 {
		t.Errorf("A's firewall mark after the default route went: got %#x, want 0", got)
	}
}

// mustPeers adds peers to b or fails the test.
func mustPeers(t *testing.T, b *Backend, peers ...hostapi.PeerConfig) {
	t.Helper()
	if err := b.ApplyPeers(context.Background(), hostapi.PeerChanges{Upsert: peers}); err != nil {
		t.Fatal(err)
	}
}
