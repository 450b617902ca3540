package e2e

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/internal/poll"
)

// lanLoopback is the "LAN" the netstack router serves in
// TestNetstackRoutedMesh: loopback addresses of this host, which a signed
// route may name explicitly (an exit never forwards to loopback).
const (
	lanLoopback     = "127.77.0.0/16"
	lanLoopbackHost = "127.77.0.5"
)

// TestNetstackRoutedMesh is the routed mesh on the rootless backend, all on
// this host with no privileges: c reaches r's mesh service, the "LAN" r
// serves (127.77.0.0/16, dialed by r's host) and, through its exit x, a
// non-mesh address of this host (dialed by x's host) — each through c's
// SOCKS5 proxy. Revoking the router and removing the exit tag take the
// routes away in the apply: the proxy then refuses at once.
func TestNetstackRoutedMesh(t *testing.T) {
	hostIP := hostAddress(t)
	c := newCluster(t, Options{Members: []string{"c", "r", "x"}, Policy: OpenPolicy(), Edit: func(n *membership.Node) {
		switch n.ID {
		case "r":
			n.Tags, n.Routes = []string{membership.TagRouter}, []netip.Prefix{netip.MustParsePrefix(lanLoopback)}
		case "x":
			n.Tags = []string{membership.TagExit}
		}
	}})
	nc, nr, nx := c.Node("c"), c.Node("r"), c.Node("x")
	nc.Start(NodeConfig{Extra: "\n[routing]\nexit_node = \"x\"\n"})
	nr.Start(NodeConfig{})
	nx.Start(NodeConfig{})
	lan := netip.AddrPortFrom(netip.MustParseAddr(lanLoopbackHost), whoAmIPort).String()
	internet := netip.AddrPortFrom(hostIP, whoAmIPort).String()
	WhoAmI(t, nil, lan)
	WhoAmI(t, nil, internet)
	const within = 30 * time.Second

	viaSOCKS := func(target string) (netip.Addr, error) { return socksWhoAmI(nil, nc.SOCKS, target) }
	wantThrough := func(what, target string) {
		t.Helper()
		var lastErr error
		if err := poll.Until(within, 50*time.Millisecond, func() bool { _, lastErr = viaSOCKS(target); return lastErr == nil }); err != nil {
			t.Fatalf("%s: %v (last error: %v)", what, err, lastErr)
		}
	}
	wantRefused := func(what, target string) {
		t.Helper()
		start := time.Now()
		_, err := viaSOCKS(target)
		if err == nil || !strings.Contains(err.Error(), "unreachable") {
			t.Fatalf("%s: %v after %s; want the proxy to refuse at once: network unreachable", what, err, time.Since(start))
		}
	}

	nc.WaitReach(nr, within)
	wantThrough("c to the LAN r serves", lan)
	wantThrough("c to a non-mesh address through its exit x", internet)
	if st := cliStatus(t, nc); st.Interface == nil || st.Interface.Exit == nil || !st.Interface.Exit.Active {
		t.Errorf("c's status interface = %+v, want exit x in use", st.Interface)
	}

	c.ApplyAll(c.Sign(c.Propose(membership.Operation{Type: membership.OpRevokeNode, NodeID: "r"}), "a1", "a2"), "c", "r", "x")
	wantRefused("c to the LAN once r is revoked", lan)
	wantThrough("c through x, still", internet)

	rec, _ := c.State().Node("x")
	op := membership.Operation{Type: membership.OpUpdateNode, NodeID: "x", Addresses: rec.Addresses, Endpoints: rec.Endpoints, Tags: []string{}, Routes: []netip.Prefix{}}
	c.ApplyAll(c.Sign(c.Propose(op), "a1", "a2"), "c", "x")
	wantRefused("c to a non-mesh address once x is no exit", internet)
	nc.WaitReach(nx, within) // x is still a peer
}

// hostAddress returns a global unicast IPv4 address of this host: an
// address outside the mesh that an exit node can dial. It fails the test
// if the host has none.
func hostAddress(t *testing.T) netip.Addr {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if ip, ok := netip.AddrFromSlice(n.IP); ok && ip.Unmap().Is4() && ip.IsGlobalUnicast() {
				return ip.Unmap()
			}
		}
	}
	t.Fatal(fmt.Errorf("this host has no global unicast IPv4 address for an exit node to dial: %v", addrs))
	return netip.Addr{}
}
