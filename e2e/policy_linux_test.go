package e2e

import (
	"bufio"
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/internal/echoserver"
	"github.com/rustynet/rustynet/internal/netnstest"
	"github.com/rustynet/rustynet/internal/poll"
)

// echoPort is where Echo serves in the policy tests: a long-lived
// session, to show that a policy change keeps what it still allows.
const echoPort = 7009

// webPolicy allows TCP to whoAmIPort and echoPort everywhere a rule can
// reach — between members, to the LAN a router serves and through an
// exit — and nothing else, plus extra rules.
func webPolicy(extra ...membership.Rule) *membership.Policy {
	web := []membership.PortSpec{
		{Proto: membership.ProtoTCP, First: whoAmIPort, Last: whoAmIPort},
		{Proto: membership.ProtoTCP, First: echoPort, Last: echoPort},
	}
	members := []membership.Selector{membership.MembersSelector()}
	everywhere := []membership.Selector{membership.PrefixSelector(netip.MustParsePrefix("0.0.0.0/0"))}
	p := &membership.Policy{Rules: append([]membership.Rule{
		{Name: "exit-web", Context: membership.ContextExit, Src: members, Dst: everywhere, Ports: web},
		{Name: "lan-web", Context: membership.ContextRouter, Src: members, Dst: everywhere, Ports: web},
		{Name: "web", Context: membership.ContextMesh, Src: members, Dst: members, Ports: web},
	}, extra...)}
	p.Normalize()
	return p
}

// Echo serves, inside ns (nil: the host's namespace), TCP echo (package
// echoserver) on addr; it stops at cleanup.
func Echo(tb testing.TB, ns *netnstest.Namespace, addr string) {
	tb.Helper()
	var ln net.Listener
	if err := in(ns, func() (err error) { ln, err = net.Listen("tcp", addr); return err }); err != nil {
		tb.Fatalf("listening on %s in %s: %v", addr, nsName(ns), err)
	}
	s := echoserver.ServeTCP(ln, nil)
	tb.Cleanup(func() { s.Close() })
}

// echoSession is one TCP connection to an Echo server.
type echoSession struct {
	c net.Conn
	r *bufio.Reader
}

// dialEcho connects from inside ns to the Echo server at addr, retrying
// within (the first packet waits for a handshake).
func dialEcho(tb testing.TB, ns *netnstest.Namespace, addr string, within time.Duration) *echoSession {
	tb.Helper()
	var c net.Conn
	var lastErr error
	if err := poll.Until(within, 50*time.Millisecond, func() bool {
		lastErr = in(ns, func() (err error) { c, err = net.DialTimeout("tcp", addr, 2*time.Second); return err })
		return lastErr == nil
	}); err != nil {
		tb.Fatalf("connecting from %s to %s: %v (last error: %v)", nsName(ns), addr, err, lastErr)
	}
	tb.Cleanup(func() { c.Close() })
	return &echoSession{c: c, r: bufio.NewReader(c)}
}

// echo sends msg and returns the error if it does not come back within
// timeout.
func (s *echoSession) echo(msg string, timeout time.Duration) error {
	s.c.SetDeadline(time.Now().Add(timeout))
	if _, err := fmt.Fprintln(s.c, msg); err != nil {
		return err
	}
	got, err := s.r.ReadString('\n')
	if err != nil {
		return err
	}
	if got != msg+"\n" {
		return fmt.Errorf("echo of %q came back as %q", msg, got)
	}
	return nil
}

// TestWgtunPolicy runs the policy scenario on wgtun daemons in network
// namespaces.
func TestWgtunPolicy(t *testing.T) {
	testPolicy(t, newRoutedMeshWith(t, webPolicy()), "wgtun")
}

// testPolicy checks, on backend, that the signed access policy decides
// what crosses the data plane, with nothing but daemons and signed updates:
// an allowed port passes (and its replies come back), another protocol is
// dropped, in the mesh, to the LAN a router serves and through an exit; a
// policy change takes effect in one apply and keeps the sessions it still
// allows while cutting the ones it no longer does; a revoked node is
// dropped though every rule selects all members.
func testPolicy(t *testing.T, m *routedMesh, backend string) {
	m.start("c", backend, `exit_node = "x"`)
	m.start("r", backend)
	m.start("x", backend)
	for _, ns := range []*netnstest.Namespace{m.ns["c"], m.ns["r"], m.ns["x"], m.lan} {
		WhoAmI(t, ns, fmt.Sprintf("0.0.0.0:%d", whoAmIPort))
		Echo(t, ns, fmt.Sprintf("0.0.0.0:%d", echoPort))
	}
	WhoAmI(t, m.isp, fmt.Sprintf("%s:%d", internetHost, whoAmIPort))
	const within = 30 * time.Second
	rMesh := m.mesh("r").String()

	t.Run("allowed ports pass, other protocols are dropped", func(t *testing.T) {
		WantWhoAmI(t, "c to r's web port", m.ns["c"], "tcp", whoAmIAt(rMesh), m.mesh("c"), within)
		WantWhoAmI(t, "r to c's web port", m.ns["r"], "tcp", whoAmIAt(m.mesh("c").String()), m.mesh("r"), within)
		WantNoWhoAmI(t, "c to r over UDP (no rule)", m.ns["c"], "udp", whoAmIAt(rMesh))
		WantWhoAmI(t, "c to the LAN's web port through r", m.ns["c"], "tcp", whoAmIAt(lanHost), netip.MustParseAddr(lanRouter), within)
		WantNoWhoAmI(t, "c to the LAN over UDP", m.ns["c"], "udp", whoAmIAt(lanHost))
		WantWhoAmI(t, "c to the internet's web port through x", m.ns["c"], "tcp", whoAmIAt(internetHost), m.underlay["x"], within)
	})

	session := dialEcho(t, m.ns["c"], netip.AddrPortFrom(m.mesh("r"), echoPort).String(), within)
	if err := session.echo("before", 5*time.Second); err != nil {
		t.Fatalf("an echo session c to r: %v", err)
	}
	policy := func(p *membership.Policy) {
		t.Helper()
		m.c.ApplyAll(m.c.Sign(m.c.Propose(membership.Operation{Type: membership.OpSetPolicy, Policy: p}), "a1", "a2"), "c", "r", "x")
	}

	t.Run("a policy change takes effect in the apply and keeps allowed sessions", func(t *testing.T) {
		udp := membership.Rule{Name: "web-udp", Context: membership.ContextMesh,
			Src: []membership.Selector{membership.MembersSelector()}, Dst: []membership.Selector{membership.MembersSelector()},
			Ports: []membership.PortSpec{{Proto: membership.ProtoUDP, First: whoAmIPort, Last: whoAmIPort}}}
		policy(webPolicy(udp))
		if got, err := AskWhoAmI(m.ns["c"], "udp", whoAmIAt(rMesh), refusalWindow); err != nil || got != m.mesh("c") {
			t.Errorf("c to r over UDP once allowed: saw %v, %v; want c's mesh address (one attempt: the apply has returned)", got, err)
		}
		if err := session.echo("after a change that keeps it", 5*time.Second); err != nil {
			t.Errorf("the echo session after a policy change that still allows it: %v", err)
		}
	})

	t.Run("a policy change cuts the sessions it no longer allows", func(t *testing.T) {
		p := webPolicy()
		for i := range p.Rules { // the web ports without echoPort
			p.Rules[i].Ports = p.Rules[i].Ports[:1]
		}
		policy(p)
		if err := session.echo("after a change that denies it", refusalWindow); err == nil {
			t.Error("the echo session still works after the policy stopped allowing its port")
		}
		WantWhoAmI(t, "c to r's web port, still allowed", m.ns["c"], "tcp", whoAmIAt(rMesh), m.mesh("c"), within)
	})

	t.Run("a revoked node is dropped whatever the rules select", func(t *testing.T) {
		WantWhoAmI(t, "x to c before", m.ns["x"], "tcp", whoAmIAt(m.mesh("c").String()), m.mesh("x"), within)
		m.c.ApplyAll(m.c.Sign(m.c.Propose(membership.Operation{Type: membership.OpRevokeNode, NodeID: "x"}), "a1", "a2"), "c", "r", "x")
		WantNoWhoAmI(t, "x to c once x is revoked", m.ns["x"], "tcp", whoAmIAt(m.mesh("c").String()))
		WantWhoAmI(t, "c to r, still", m.ns["c"], "tcp", whoAmIAt(rMesh), m.mesh("c"), within)
	})
}

// TestNetstackPolicy is the policy on the rootless backend, on this host:
// a rule for TCP port 80 between members lets c fetch r's web service
// through its SOCKS5 proxy; another exposed port of r is dropped by r's
// filter until a set_policy allows it, which takes effect in the apply.
func TestNetstackPolicy(t *testing.T) {
	port80 := []membership.PortSpec{{Proto: membership.ProtoTCP, First: 80, Last: 80}}
	members := []membership.Selector{membership.MembersSelector()}
	web := membership.Rule{Name: "web", Context: membership.ContextMesh, Src: members, Dst: members, Ports: port80}
	c := newCluster(t, Options{Members: []string{"c", "r"}, Policy: &membership.Policy{Rules: []membership.Rule{web}}})
	nc, nr := c.Node("c"), c.Node("r")
	whoami := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(freePort(t, "tcp")))
	WhoAmI(t, nil, whoami.String())
	nc.Start(NodeConfig{})
	nr.Start(NodeConfig{Extra: fmt.Sprintf("\n[[proxy.expose]]\nport = %d\ntarget = %q\n", whoAmIPort, whoami)})
	other := netip.AddrPortFrom(nr.Addr.Addr(), whoAmIPort).String()

	nc.WaitReach(nr, 30*time.Second) // port 80: allowed
	if got, err := socksWhoAmIWithin(nil, nc.SOCKS, other, refusalWindow); err == nil {
		t.Fatalf("c reached r's port %d, which no rule allows (the service saw %s)", whoAmIPort, got)
	}
	open := web
	open.Name, open.Ports = "whoami", []membership.PortSpec{{Proto: membership.ProtoTCP, First: whoAmIPort, Last: whoAmIPort}}
	c.ApplyAll(c.Sign(c.Propose(membership.Operation{Type: membership.OpSetPolicy, Policy: &membership.Policy{Rules: []membership.Rule{web, open}}}), "a1", "a2"), "c", "r")
	if _, err := socksWhoAmIWithin(nil, nc.SOCKS, other, refusalWindow); err != nil {
		t.Errorf("c to r's port %d once a rule allows it (one attempt: the apply has returned): %v", whoAmIPort, err)
	}
	if _, err := nc.Fetch(nr, refusalWindow); err != nil {
		t.Errorf("c's fetch from r's port 80 after the change: %v", err)
	}
}
