package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/internal/netnstest"
	"github.com/rustynet/rustynet/internal/poll"
	"github.com/rustynet/rustynet/internal/testbin"
)

// The routed mesh of these tests. Every node has its own network
// namespace and its own link to "isp", a namespace that routes between the
// links like the internet would and holds an internet host; nothing is
// reachable directly, so each node's underlay default route leads through
// isp. Behind the router r is a LAN namespace with one host and no route
// back to the mesh (only masquerading makes answers find their way).
//
//	c  client, uses x as its exit node   10.99.1.2 ─┐
//	r  subnet router for 10.99.20.0/24   10.99.2.2 ─┼─ isp (10.99.N.1, internet host 198.18.0.10)
//	x  exit node                         10.99.3.2 ─┘
//	r ── 10.99.20.1 ── lan host 10.99.20.5
const (
	internetHost = "198.18.0.10"
	lanPrefix    = "10.99.20.0/24"
	lanRouter    = "10.99.20.1"
	lanHost      = "10.99.20.5"
	whoAmIPort   = 7007
)

// routedMesh is the topology above with its cluster.
type routedMesh struct {
	c        *Cluster
	isp, lan *netnstest.Namespace
	ns       map[string]*netnstest.Namespace // by node id
	underlay map[string]netip.Addr           // by node id
	link     int                             // links to isp made so far
}

// newRoutedMesh builds the namespaces and a cluster whose genesis has c,
// r (tagged router, serving the LAN) and x (tagged exit), plus extra, each
// member's endpoint its underlay address, and OpenPolicy. Nothing is
// started.
func newRoutedMesh(t *testing.T, extra ...string) *routedMesh {
	return newRoutedMeshWith(t, OpenPolicy(), extra...)
}

// newRoutedMeshWith is newRoutedMesh with the genesis policy p.
func newRoutedMeshWith(t *testing.T, p *membership.Policy, extra ...string) *routedMesh {
	t.Helper()
	netnstest.Require(t)
	m := &routedMesh{isp: netnstest.New(t), lan: netnstest.New(t), ns: map[string]*netnstest.Namespace{}, underlay: map[string]netip.Addr{}}
	m.isp.Run(t, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward")
	m.isp.Run(t, "ip", "addr", "add", internetHost+"/32", "dev", "lo")
	members := append([]string{"c", "r", "x"}, extra...)
	for _, id := range members {
		m.attach(t, id)
	}
	netnstest.Connect(t, m.ns["r"], netip.MustParsePrefix(lanRouter+"/24"), m.lan, netip.MustParsePrefix(lanHost+"/24"))
	m.c = newCluster(t, Options{Members: members, Policy: p, Edit: func(n *membership.Node) {
		n.Endpoints = []netip.AddrPort{netip.AddrPortFrom(m.underlay[n.ID], n.Endpoints[0].Port())}
		switch n.ID {
		case "r":
			n.Tags, n.Routes = []string{membership.TagRouter}, []netip.Prefix{netip.MustParsePrefix(lanPrefix)}
		case "x":
			n.Tags = []string{membership.TagExit}
		}
	}})
	return m
}

// attach gives node id a namespace with a link to isp (10.99.k.2, isp
// 10.99.k.1) and its default route through it.
func (m *routedMesh) attach(t *testing.T, id string) {
	t.Helper()
	m.link++
	ns := netnstest.New(t)
	self := netip.AddrFrom4([4]byte{10, 99, byte(m.link), 2})
	gw := netip.AddrFrom4([4]byte{10, 99, byte(m.link), 1})
	netnstest.Connect(t, ns, netip.PrefixFrom(self, 24), m.isp, netip.PrefixFrom(gw, 24))
	ns.Run(t, "ip", "route", "add", "default", "via", gw.String())
	m.ns[id], m.underlay[id] = ns, self
}

// start runs node id's daemon in its namespace with backend, and the
// configuration's [routing] table set to routing (TOML lines).
func (m *routedMesh) start(id, backend string, routing ...string) *Node {
	n := m.c.Node(id)
	extra := ""
	if len(routing) > 0 {
		extra = "\n[routing]\n" + strings.Join(routing, "\n") + "\n"
	}
	n.Start(NodeConfig{Backend: backend, NoProxy: backend != "netstack", Netns: m.ns[id].Name, Interface: "rn-" + id, Extra: extra})
	return n
}

// mesh returns node id's mesh address.
func (m *routedMesh) mesh(id string) netip.Addr { return m.c.Node(id).Addr.Addr() }

func whoAmIAt(a string) string {
	return netip.AddrPortFrom(netip.MustParseAddr(a), whoAmIPort).String()
}

// TestWgtunRoutedMesh runs three wgtun daemons in network namespaces with
// nothing configured by hand — no address, route, peer or NAT rule but
// what the daemons install from signed membership — and checks every
// route by real TCP and UDP traffic: mesh addresses, a subnet router (and
// its masquerading), an exit node (and that the tunnel's own packets stay
// outside it), `wg show`, the status the CLI reports, the exchange of
// heads over the interface, a backend relaunch, and that a revocation and
// a removed tag take the routes away in the apply.
func TestWgtunRoutedMesh(t *testing.T) {
	m := newRoutedMesh(t)
	testRoutedMesh(t, m, "wgtun")
}

// testRoutedMesh is the routed-mesh scenario on backend (wgtun, or
// wgkernel inside a VM).
func testRoutedMesh(t *testing.T, m *routedMesh, backend string) {
	c := m.start("c", backend, `exit_node = "x"`)
	r := m.start("r", backend)
	x := m.start("x", backend)
	WhoAmI(t, m.ns["r"], fmt.Sprintf("0.0.0.0:%d", whoAmIPort))
	WhoAmI(t, m.ns["x"], fmt.Sprintf("0.0.0.0:%d", whoAmIPort))
	WhoAmI(t, m.lan, fmt.Sprintf("0.0.0.0:%d", whoAmIPort))
	WhoAmI(t, m.isp, fmt.Sprintf("%s:%d", internetHost, whoAmIPort))
	const within = 30 * time.Second

	t.Run("mesh addresses", func(t *testing.T) {
		for _, proto := range []string{"tcp", "udp"} {
			WantWhoAmI(t, "c to r's mesh address", m.ns["c"], proto, whoAmIAt(m.mesh("r").String()), m.mesh("c"), within)
			WantWhoAmI(t, "c to x's mesh address", m.ns["c"], proto, whoAmIAt(m.mesh("x").String()), m.mesh("c"), within)
		}
	})
	t.Run("subnet router, masquerading", func(t *testing.T) {
		for _, proto := range []string{"tcp", "udp"} {
			WantWhoAmI(t, "c to the LAN host behind r", m.ns["c"], proto, whoAmIAt(lanHost), netip.MustParseAddr(lanRouter), within)
		}
	})
	t.Run("exit node", func(t *testing.T) {
		// The internet host sees x's underlay address: c's traffic went
		// through the tunnel to x, which masqueraded it. c's own tunnel
		// packets to x's endpoint go through isp, outside the tunnel, or
		// nothing would arrive at all.
		for _, proto := range []string{"tcp", "udp"} {
			WantWhoAmI(t, "c to the internet through x", m.ns["c"], proto, whoAmIAt(internetHost), m.underlay["x"], within)
		}
		// r has no exit: it reaches the internet host directly.
		WantWhoAmI(t, "r to the internet", m.ns["r"], "tcp", whoAmIAt(internetHost), m.underlay["r"], within)
	})
	t.Run("wg show", func(t *testing.T) {
		if backend == "wgtun" { // wgkernel: the kernel answers wg itself
			if _, err := exec.LookPath("wg"); err != nil {
				t.Fatalf("wg (wireguard-tools) is not installed: %v", err)
			}
		}
		out := m.ns["c"].Run(t, "wg", "show", "rn-c", "allowed-ips")
		for _, id := range []string{"r", "x"} {
			if !strings.Contains(out, m.c.Node(id).Public.String()) {
				t.Errorf("wg show in c's namespace does not list %s:\n%s", id, out)
			}
		}
		if !strings.Contains(out, lanPrefix) || !strings.Contains(out, "0.0.0.0/0") {
			t.Errorf("wg show in c's namespace lacks r's LAN or x's default route:\n%s", out)
		}
	})
	t.Run("status", func(t *testing.T) {
		st := cliStatus(t, c)
		is := st.Interface
		if is == nil || is.Name == "" || is.ListenPort != c.Port || !slices.Contains(is.Addresses, c.Addr.String()) {
			t.Fatalf("status interface = %+v, want a name, port %d and address %s", is, c.Port, c.Addr)
		}
		got := map[string]string{}
		for _, rt := range is.Routes {
			got[rt.Prefix] = rt.Kind + " via " + rt.Via
		}
		want := map[string]string{
			r.Addr.String(): controlapi.RouteMesh + " via r", x.Addr.String(): controlapi.RouteMesh + " via x",
			lanPrefix: controlapi.RouteSubnet + " via r", "0.0.0.0/0": controlapi.RouteExit + " via x", "::/0": controlapi.RouteExit + " via x",
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("status routes = %v, want %v", got, want)
		}
		if is.Exit == nil || is.Exit.Node != "x" || !is.Exit.Active {
			t.Errorf("status exit = %+v, want x in use", is.Exit)
		}
		if g := cliStatus(t, r).Interface.Gateway; g == nil || !slices.Equal(g.Prefixes, []string{lanPrefix}) || !g.Masquerade || g.Reason != "" {
			t.Errorf("r's status gateway = %+v, want it serving %s with masquerading", g, lanPrefix)
		}
	})
	t.Run("a node given no update catches up from its peers over the interface", func(t *testing.T) {
		u := m.c.Sign(m.c.Propose(membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(ExtraMemberID(7), extraBase+7)}), "a1", "a2")
		m.c.ApplyAll(u, "c")
		head := m.c.State().Root().String()
		for _, n := range []*Node{r, x} {
			// The exchange counts what it applied once the commit has
			// returned: a status may show the head a moment before the count.
			st := n.WaitStatus(n.ID+" at c's head by the exchange alone", syncWithin, func(st controlapi.Status) bool {
				return st.Trust.StateRoot == head && st.Sync != nil && st.Sync.Applied >= 1
			})
			if st.Sync.Transport != "interface" {
				t.Errorf("%s: sync %+v, want it over the interface", n.ID, st.Sync)
			}
		}
	})
	t.Run("backend relaunch restores every route", func(t *testing.T) {
		pid := c.PluginPID("backend-"+backend, 0)
		if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		c.PluginPID("backend-"+backend, pid) // the relaunched one
		WantWhoAmI(t, "c to r's mesh address after the relaunch", m.ns["c"], "tcp", whoAmIAt(m.mesh("r").String()), m.mesh("c"), within)
		WantWhoAmI(t, "c to the LAN after the relaunch", m.ns["c"], "tcp", whoAmIAt(lanHost), netip.MustParseAddr(lanRouter), within)
		WantWhoAmI(t, "c to the internet after the relaunch", m.ns["c"], "tcp", whoAmIAt(internetHost), m.underlay["x"], within)
	})
	t.Run("revoking the router takes its prefix away in the apply", func(t *testing.T) {
		u := m.c.Sign(m.c.Propose(membership.Operation{Type: membership.OpRevokeNode, NodeID: "r"}), "a1", "a2")
		m.c.ApplyAll(u, "c", "x", "r")
		// c now sends the LAN prefix through its exit, which has no route
		// to it: nothing answers.
		WantNoWhoAmI(t, "c to the LAN after r's revocation", m.ns["c"], "tcp", whoAmIAt(lanHost))
		WantNoWhoAmI(t, "c to r's mesh address after r's revocation", m.ns["c"], "tcp", whoAmIAt(m.mesh("r").String()))
		WantWhoAmI(t, "c to the internet, still through x", m.ns["c"], "tcp", whoAmIAt(internetHost), m.underlay["x"], within)
	})
	t.Run("removing the exit tag withdraws the default route in the apply", func(t *testing.T) {
		rec, _ := m.c.State().Node("x")
		op := membership.Operation{Type: membership.OpUpdateNode, NodeID: "x", Addresses: rec.Addresses, Endpoints: rec.Endpoints,
			Tags: []string{}, Routes: []netip.Prefix{}}
		m.c.ApplyAll(m.c.Sign(m.c.Propose(op), "a1", "a2"), "c", "x")
		// One attempt, no retry: the change is in the data plane when the
		// apply returns. The internet host now sees c's own address.
		got, err := AskWhoAmI(m.ns["c"], "tcp", whoAmIAt(internetHost), refusalWindow)
		if err != nil || got != m.underlay["c"] {
			t.Fatalf("c to the internet after x lost its exit tag: saw %v, %v; want c's own address %s", got, err, m.underlay["c"])
		}
		if is := cliStatus(t, c).Interface; is.Exit == nil || is.Exit.Active || !strings.Contains(is.Exit.Reason, "not tagged") {
			t.Errorf("status exit = %+v, want x not in use because it is not tagged exit", is.Exit)
		}
		WantWhoAmI(t, "c to x's mesh address", m.ns["c"], "tcp", whoAmIAt(m.mesh("x").String()), m.mesh("c"), within)
	})
}

// cliStatus runs `rustynet status --json` for n, as an operator would.
func cliStatus(t *testing.T, n *Node) controlapi.Status {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, n.c.opts.Bin, "status", "--json", "--socket", n.Socket).Output()
	if err != nil {
		t.Fatalf("rustynet status --json for %s: %v", n.ID, err)
	}
	var st controlapi.Status
	if err := json.Unmarshal(out, &st); err != nil {
		t.Fatalf("rustynet status --json for %s: %v\n%s", n.ID, err, out)
	}
	return st
}

// TestMixedMesh checks that daemons on different backends, and a peer
// that is no daemon at all, form one mesh: a wgtun daemon (c), a netstack
// daemon (s, rootless, reached through its exposed port and reaching out
// through its SOCKS5 proxy) and plain wireguard-go configured only with
// `ip` and `wg`, as wg-quick would (p).
func TestMixedMesh(t *testing.T) {
	m := newRoutedMesh(t, "s", "p")
	c := m.start("c", "wgtun")
	s := m.c.Node("s")
	s.Start(NodeConfig{Netns: m.ns["s"].Name, Extra: fmt.Sprintf("\n[[proxy.expose]]\nport = %d\ntarget = %q\n",
		whoAmIPort, netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), whoAmIPort))})
	WhoAmI(t, m.ns["c"], fmt.Sprintf("0.0.0.0:%d", whoAmIPort))
	WhoAmI(t, m.ns["s"], fmt.Sprintf("127.0.0.1:%d", whoAmIPort))
	WhoAmI(t, m.ns["p"], fmt.Sprintf("0.0.0.0:%d", whoAmIPort))
	const within = 30 * time.Second

	t.Run("wgtun to netstack", func(t *testing.T) {
		// s's exposed port relays to its local service, which sees the
		// relay's loopback address.
		WantWhoAmI(t, "c to s's exposed port", m.ns["c"], "tcp", whoAmIAt(s.Addr.Addr().String()), netip.MustParseAddr("127.0.0.1"), within)
	})
	t.Run("netstack to wgtun", func(t *testing.T) {
		var got netip.Addr
		var lastErr error
		if err := poll.Until(within, 50*time.Millisecond, func() bool {
			got, lastErr = socksWhoAmI(m.ns["s"], s.SOCKS, whoAmIAt(c.Addr.Addr().String()))
			return lastErr == nil
		}); err != nil {
			t.Fatalf("s through its SOCKS5 proxy to c: %v (last error: %v)", err, lastErr)
		}
		if got != s.Addr.Addr() {
			t.Errorf("c's service saw %s, want s's mesh address %s", got, s.Addr.Addr())
		}
	})
	t.Run("a plain wireguard-go peer configured with ip and wg", func(t *testing.T) {
		p := m.c.Node("p")
		startPlainPeer(t, m.ns["p"], p, c)
		WantWhoAmI(t, "c to the plain peer", m.ns["c"], "udp", whoAmIAt(p.Addr.Addr().String()), c.Addr.Addr(), within)
		WantWhoAmI(t, "the plain peer to c", m.ns["p"], "tcp", whoAmIAt(c.Addr.Addr().String()), p.Addr.Addr(), within)
	})
}

// startPlainPeer runs plain wireguard-go as node p inside ns, configured
// only with `wg` and `ip` the way wg-quick would: p's key and port, one
// peer (to, with its endpoint and mesh address), p's address, and a
// route to the peer.
func startPlainPeer(t *testing.T, ns *netnstest.Namespace, p, to *Node) {
	t.Helper()
	if _, err := exec.LookPath("wg"); err != nil {
		t.Fatalf("wg (wireguard-tools) is not installed: %v", err)
	}
	bin := testbin.Package(t, "golang.zx2c4.com/wireguard", "wireguard-go")
	const dev = "wgplain"
	proc := ns.Start(t, bin, "-f", dev)
	if err := poll.Until(20*time.Second, 20*time.Millisecond, func() bool {
		_, err := os.Stat("/var/run/wireguard/" + dev + ".sock")
		return err == nil
	}); err != nil {
		t.Fatalf("wireguard-go did not open its UAPI socket: %v\n%s", err, proc.Output())
	}
	keyFile := filepath.Join(t.TempDir(), "p.key")
	if err := os.WriteFile(keyFile, []byte(p.Key.Base64()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rec, _ := to.c.State().Node(to.ID)
	ns.Run(t, "wg", "set", dev, "private-key", keyFile, "listen-port", strconv.Itoa(int(p.Port)),
		"peer", to.Public.String(), "endpoint", rec.Endpoints[0].String(), "allowed-ips", to.Addr.String())
	ns.Run(t, "ip", "addr", "add", p.Addr.String(), "dev", dev)
	ns.Run(t, "ip", "link", "set", dev, "up")
	ns.Run(t, "ip", "route", "add", to.Addr.String(), "dev", dev)
}
