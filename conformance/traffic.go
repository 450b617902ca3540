package conformance

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/echoserver"
)

// Traffic between instances: each runs a TCP echo service reachable
// through the tunnel at its mesh addresses, port echoPort, and dials the
// others'. A node with BackendCapProxy reaches the mesh through a TCP
// forward on its 127.0.0.1 for each destination it dials, and exposes an
// echo server on its 127.0.0.1; a node with an OS interface dials and
// listens on mesh addresses directly, in its own network namespace, and
// records the source of every connection its echo service accepts.

const (
	// echoPort is the mesh port of every echo service.
	echoPort = 7
	// ioTimeout bounds one exchange through the tunnel, handshake
	// included.
	ioTimeout = 20 * time.Second
	// silence is how long a removed peer's traffic is waited for before it
	// counts as cut: the test of a negative needs a bound.
	silence = 2 * time.Second
	// payloadBytes is the size of one checked exchange.
	payloadBytes = 64 << 10
)

// tnode is one configured instance of a traffic topology. The fields
// before port shape it and are set before configure.
type tnode struct {
	b  *BackendInstance
	id *identity
	// peers are the instances this one has as peers; peer is the first
	// (the other one, in a pair).
	peers []*tnode
	peer  *tnode
	// extra are more addresses of the interface, besides the identity's;
	// the echo service answers on them too.
	extra []netip.Prefix
	// allowed are more allowed IPs this node has as the others' peer,
	// besides its mesh address.
	allowed []netip.Prefix
	// dests are more mesh destinations this node dials, besides its
	// peers' echo services.
	dests []netip.AddrPort
	// routes are more prefixes routed into the interface, besides the
	// peers' mesh addresses (needs BackendCapRoutes).
	routes []netip.Prefix
	// gateway is the gateway setting of every Configure.
	gateway *hostapi.GatewayConfig
	// ports are more mesh ports the TCP echo service answers on, besides
	// echoPort; udpPorts the mesh ports a UDP echo service answers on (none:
	// no UDP echo service).
	ports    []uint16
	udpPorts []uint16
	// udpDests are the mesh destinations this node sends UDP datagrams to.
	udpDests []netip.AddrPort

	port uint16 // WireGuard listen port, from State
	// fwd maps every mesh destination this node dials to its TCP forward
	// on 127.0.0.1, udpFwd every UDP destination to its UDP forward; nil
	// without proxies.
	fwd    map[netip.AddrPort]netip.AddrPort
	udpFwd map[netip.AddrPort]netip.AddrPort
	// proxy is the proxy configuration n was configured with; nil
	// without proxies.
	proxy *hostapi.ProxyConfig
	// seen records the sources of the connections this node's echo
	// service accepted on its mesh addresses (OS interfaces only).
	seen *echoLog
}

// endpoint is where the other node sends this node's WireGuard packets.
func (n *tnode) endpoint() netip.AddrPort { return netip.AddrPortFrom(n.b.Node.Underlay, n.port) }

// asPeer is this node as another node's peer.
func (n *tnode) asPeer() hostapi.PeerConfig {
	p := n.id.peer(n.endpoint())
	p.AllowedIPs = append(p.AllowedIPs, n.allowed...)
	return p
}

// echoAddr is this node's echo service at its mesh address.
func (n *tnode) echoAddr() netip.AddrPort { return netip.AddrPortFrom(n.id.addr, echoPort) }

// config is the interface configuration of n as configure applied it,
// with the listen port it got.
func (n *tnode) config() hostapi.InterfaceConfig {
	cfg := n.id.config()
	cfg.ListenPort = n.port
	cfg.Addresses = append(cfg.Addresses, n.extra...)
	cfg.Proxy = n.proxy
	cfg.Gateway = n.gateway
	return cfg
}

// pair is two configured instances that are each other's peers.
type pair struct{ a, b *tnode }

// osRouted reports whether test traffic reaches b's tunnel through the OS
// (an interface in b's node) rather than b's proxies.
func osRouted(b *BackendInstance) bool { return !b.info.Capabilities.Has(hostapi.BackendCapProxy) }

// carryReason returns why b cannot carry test traffic in its node, or "".
func carryReason(b *BackendInstance) string {
	if b.info.Capabilities.Has(hostapi.BackendCapProxy) || b.Node.Isolated {
		return ""
	}
	return fmt.Sprintf("%s has no proxy capability, so test traffic must use its OS interface, and node %s shares this host's network with the other instance; give isolated nodes (Topology: conformance.Namespaces(), or the CLI's --netns as root)", b.info.Name, b.Node.Name)
}

// newPair starts two instances in the two nodes of a fresh pair of the
// topology, the second of the reference backend if withReference, and makes
// them peers ready to carry traffic. It skips, saying why, when they cannot
// carry traffic here.
func newPair(ctx context.Context, env *Env, withReference bool) (*pair, error) {
	return newPairWith(ctx, env, withReference, nil)
}

// newPairWith is newPair with shape, if not nil, called on the two nodes
// before they are configured.
func newPairWith(ctx context.Context, env *Env, withReference bool, shape func(a, b *tnode) error) (*pair, error) {
	ns, err := startNodes(ctx, env, 2, withReference)
	if err != nil {
		return nil, err
	}
	a, b := ns[0], ns[1]
	a.peers, b.peers = []*tnode{b}, []*tnode{a}
	if shape != nil {
		if err := shape(a, b); err != nil {
			return nil, err
		}
	}
	if err := connect(ctx, env, ns...); err != nil {
		return nil, err
	}
	return &pair{a: a, b: b}, nil
}

// startNodes starts n instances (n as Topology.Nodes takes it) in the
// nodes of the topology, the last of the reference backend if
// withReference, with the mesh addresses meshAddr(1) to meshAddr(n). It
// skips, saying why, when they cannot carry traffic here.
func startNodes(ctx context.Context, env *Env, n int, withReference bool) ([]*tnode, error) {
	nodes, err := env.Nodes(ctx, n)
	if err != nil {
		return nil, err
	}
	out := make([]*tnode, n)
	for i, node := range nodes {
		var b *BackendInstance
		if withReference && i == n-1 {
			b, err = env.StartReference(ctx, node)
		} else {
			b, err = env.StartBackend(ctx, node)
		}
		if err != nil {
			return nil, err
		}
		if why := runnable(ctx, b); why != "" {
			return nil, Skip(why)
		}
		if why := carryReason(b); why != "" {
			return nil, Skip(why)
		}
		out[i] = &tnode{b: b, id: newIdentity(meshAddr(i + 1))}
	}
	return out, nil
}

// connect configures every node of ns and then gives each its peers.
func connect(ctx context.Context, env *Env, ns ...*tnode) error {
	for _, n := range ns {
		n.peer = n.peers[0]
		if osRouted(n.b) && !n.b.info.Capabilities.Has(hostapi.BackendCapRoutes) {
			if len(n.routes) > 0 {
				return Skipf("%s has neither proxies nor BackendCapRoutes: it cannot route %v into its interface", n.b.info.Name, n.routes)
			}
			// Without ApplyRoutes, the interface's own prefix must cover
			// the peers' addresses.
			n.id.bits = 24
		}
	}
	for _, n := range ns {
		if err := n.configure(ctx, env); err != nil {
			return fmt.Errorf("%s in node %s: %w", n.b.info.Name, n.b.Node.Name, err)
		}
	}
	for _, n := range ns {
		var up []hostapi.PeerConfig
		for _, p := range n.peers {
			up = append(up, p.asPeer())
		}
		if err := n.b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: up}); err != nil {
			return fmt.Errorf("%s: ApplyPeers: %w", n.b.info.Name, err)
		}
	}
	return nil
}

// destinations returns every mesh destination n dials.
func (n *tnode) destinations() []netip.AddrPort {
	var out []netip.AddrPort
	for _, p := range n.peers {
		out = append(out, p.echoAddr())
	}
	return append(out, n.dests...)
}

// configure configures n with its echo service and, with proxies, its
// forwards to the destinations it dials; with BackendCapRoutes it routes
// its peers' mesh addresses and n.routes into the interface.
func (n *tnode) configure(ctx context.Context, env *Env) error {
	proxied := n.b.info.Capabilities.Has(hostapi.BackendCapProxy)
	var echoAddr, udpEchoAddr netip.AddrPort
	if proxied {
		ln, err := listenIn(n.b.Node, "127.0.0.1:0")
		if err != nil {
			return err
		}
		serveEcho(env, ln, nil)
		echoAddr = netip.MustParseAddrPort(ln.Addr().String())
		if len(n.udpPorts) > 0 {
			if udpEchoAddr, err = udpEchoAt(env, n.b.Node, netip.MustParseAddrPort("127.0.0.1:0")); err != nil {
				return err
			}
		}
	}
	const attempts = 5
	var err error
	for range attempts {
		if proxied {
			n.fwd, n.udpFwd = make(map[netip.AddrPort]netip.AddrPort), make(map[netip.AddrPort]netip.AddrPort)
			n.proxy = &hostapi.ProxyConfig{Exposes: []hostapi.Expose{{Proto: hostapi.ProtoTCP, MeshPort: echoPort, Target: echoAddr}}}
			for _, port := range n.ports {
				n.proxy.Exposes = append(n.proxy.Exposes, hostapi.Expose{Proto: hostapi.ProtoTCP, MeshPort: port, Target: echoAddr})
			}
			for _, port := range n.udpPorts {
				n.proxy.Exposes = append(n.proxy.Exposes, hostapi.Expose{Proto: hostapi.ProtoUDP, MeshPort: port, Target: udpEchoAddr})
			}
			dests := n.destinations()
			listens, err := freeAddrs(n.b.Node, "tcp", len(dests))
			if err != nil {
				return err
			}
			for i, dst := range dests {
				n.fwd[dst] = listens[i]
				n.proxy.Forwards = append(n.proxy.Forwards, hostapi.Forward{Proto: hostapi.ProtoTCP, Listen: listens[i], Target: dst})
			}
			if listens, err = freeAddrs(n.b.Node, "udp", len(n.udpDests)); err != nil {
				return err
			}
			for i, dst := range n.udpDests {
				n.udpFwd[dst] = listens[i]
				n.proxy.Forwards = append(n.proxy.Forwards, hostapi.Forward{Proto: hostapi.ProtoUDP, Listen: listens[i], Target: dst})
			}
		}
		err = n.b.Configure(ctx, n.config())
		// Another process may take a free port first: try others.
		if !proxied || hostapi.CodeOf(err) != hostapi.CodeUnavailable {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("Configure: %w", err)
	}
	env.Cleanup(func() { _ = n.b.Close(context.Background()) })
	st, err := n.b.State(ctx)
	if err != nil {
		return fmt.Errorf("State: %w", err)
	}
	if st.ListenPort == 0 {
		return errors.New("State reports listen port 0 after Configure with port 0 (the backend must report the port it chose)")
	}
	n.port = st.ListenPort
	if n.b.info.Capabilities.Has(hostapi.BackendCapRoutes) {
		var add []netip.Prefix
		for _, p := range n.peers {
			add = append(add, p.id.prefix())
		}
		add = append(add, n.routes...)
		if err := n.b.ApplyRoutes(ctx, hostapi.RouteChanges{Add: add}); err != nil {
			return fmt.Errorf("ApplyRoutes to the peers: %w", err)
		}
	}
	if !proxied {
		n.seen = newEchoLog()
		for _, a := range n.config().Addresses {
			for _, port := range append([]uint16{echoPort}, n.ports...) {
				if _, err := echoAt(env, n.b.Node, netip.AddrPortFrom(a.Addr(), port), n.seen); err != nil {
					return fmt.Errorf("listening on the mesh address: %w", err)
				}
			}
			for _, port := range n.udpPorts {
				if _, err := udpEchoAt(env, n.b.Node, netip.AddrPortFrom(a.Addr(), port)); err != nil {
					return fmt.Errorf("listening for UDP on the mesh address: %w", err)
				}
			}
		}
	}
	return nil
}

// dial opens a TCP connection from n's node, through the tunnel, to the
// mesh destination dst, within timeout.
func (n *tnode) dial(ctx context.Context, env *Env, dst netip.AddrPort, timeout time.Duration) (net.Conn, error) {
	target := dst
	if n.fwd != nil {
		var ok bool
		if target, ok = n.fwd[dst]; !ok {
			return nil, fmt.Errorf("conformance: node %s has no forward to %s", n.b.Node.Name, dst)
		}
	}
	var c net.Conn
	err := n.b.Node.do(func() error {
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var err error
		c, err = d.DialContext(dctx, "tcp", target.String())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("dialing %s from node %s: %w", target, n.b.Node.Name, err)
	}
	env.Cleanup(func() { _ = c.Close() })
	return c, nil
}

// echo sends payload on c and checks that the same bytes come back within
// ioTimeout.
func echo(c net.Conn, payload []byte) error {
	if err := c.SetDeadline(time.Now().Add(ioTimeout)); err != nil {
		return err
	}
	wrote := make(chan error, 1)
	go func() {
		_, err := c.Write(payload)
		wrote <- err
	}()
	got := make([]byte, len(payload))
	_, rerr := io.ReadFull(c, got)
	werr := <-wrote
	if werr != nil {
		return fmt.Errorf("writing %d bytes through the tunnel: %w", len(payload), werr)
	}
	if rerr != nil {
		return fmt.Errorf("reading the echo of %d bytes through the tunnel: %w", len(payload), rerr)
	}
	if !bytes.Equal(got, payload) {
		return fmt.Errorf("the echo differs from the %d bytes sent", len(payload))
	}
	return nil
}

// silent sends payload on c and checks that nothing comes back within
// silence.
func silent(c net.Conn, payload []byte) error {
	if err := c.SetDeadline(time.Now().Add(silence)); err != nil {
		return err
	}
	if _, err := c.Write(payload); err != nil {
		return nil // the connection is already cut
	}
	buf := make([]byte, len(payload))
	n, err := io.ReadFull(c, buf)
	if err == nil || n > 0 {
		return fmt.Errorf("got %d bytes of echo back within %s", n, silence)
	}
	return nil
}

// exchange dials from n to its peer's echo service and checks one echo of
// payloadBytes, returning the open connection.
func (n *tnode) exchange(ctx context.Context, env *Env, tag string) (net.Conn, error) {
	return n.exchangeWith(ctx, env, n.peer.echoAddr(), tag)
}

// exchangeWith dials from n to the echo service at mesh destination dst
// and checks one echo of payloadBytes, returning the open connection.
func (n *tnode) exchangeWith(ctx context.Context, env *Env, dst netip.AddrPort, tag string) (net.Conn, error) {
	c, err := n.dial(ctx, env, dst, ioTimeout)
	if err != nil {
		return nil, err
	}
	if err := echo(c, sized(tag, payloadBytes)); err != nil {
		return nil, fmt.Errorf("from %s (node %s) to %s: %w", n.b.info.Name, n.b.Node.Name, dst, err)
	}
	return c, nil
}

// unreachable checks that nothing answers n at mesh destination dst: the
// dial fails, or an echo gets nothing back within silence.
func (n *tnode) unreachable(ctx context.Context, env *Env, dst netip.AddrPort) error {
	c, err := n.dial(ctx, env, dst, silence)
	if err != nil {
		return nil
	}
	if err := silent(c, sized("unreachable", 1<<10)); err != nil {
		return fmt.Errorf("%s answered node %s: %w", dst, n.b.Node.Name, err)
	}
	return nil
}

// cameFrom checks that the last connection seen on echo service dst
// (recorded in seen) came from src. It checks nothing when seen is nil:
// a proxied node's echo service sees only its own proxy.
func cameFrom(seen *echoLog, dst netip.AddrPort, src netip.Addr) error {
	if seen == nil {
		return nil
	}
	got, ok := seen.last(dst)
	switch {
	case !ok:
		return fmt.Errorf("the echo service at %s accepted no connection", dst)
	case got != src:
		return fmt.Errorf("the echo service at %s saw the connection come from %s, want %s", dst, got, src)
	}
	return nil
}

// listenIn listens on TCP address addr in node.
func listenIn(node *Node, addr string) (net.Listener, error) {
	var ln net.Listener
	err := node.do(func() error {
		var err error
		ln, err = net.Listen("tcp", addr)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("listen on %s in node %s: %w", addr, node.Name, err)
	}
	return ln, nil
}

// freeAddrs returns count addresses on 127.0.0.1 in node, each with a
// distinct port of network ("tcp" or "udp") that was free a moment ago.
// It holds every socket open until all are chosen: ports taken one after
// another, each closed before the next, may come back the same.
func freeAddrs(node *Node, network string, count int) ([]netip.AddrPort, error) {
	var out []netip.AddrPort
	err := node.do(func() error {
		var closers []io.Closer
		defer func() {
			for _, c := range closers {
				_ = c.Close()
			}
		}()
		for range count {
			var addr net.Addr
			switch network {
			case "tcp":
				ln, err := net.Listen("tcp", "127.0.0.1:0")
				if err != nil {
					return err
				}
				closers, addr = append(closers, ln), ln.Addr()
			case "udp":
				pc, err := net.ListenPacket("udp", "127.0.0.1:0")
				if err != nil {
					return err
				}
				closers, addr = append(closers, pc), pc.LocalAddr()
			default:
				return fmt.Errorf("unknown network %q", network)
			}
			out = append(out, netip.MustParseAddrPort(addr.String()))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("%d free %s ports in node %s: %w", count, network, node.Name, err)
	}
	return out, nil
}

// echoLog records the source address of every connection echo services
// accepted, by the address they accepted it on. Safe for concurrent use.
type echoLog struct {
	mu   sync.Mutex // guards from
	from map[netip.AddrPort][]netip.Addr
}

func newEchoLog() *echoLog { return &echoLog{from: make(map[netip.AddrPort][]netip.Addr)} }

func (l *echoLog) add(c net.Conn) {
	local, err1 := netip.ParseAddrPort(c.LocalAddr().String())
	remote, err2 := netip.ParseAddrPort(c.RemoteAddr().String())
	if err1 != nil || err2 != nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	k := netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	l.from[k] = append(l.from[k], remote.Addr().Unmap())
}

// last returns the source of the last connection accepted on local.
func (l *echoLog) last(local netip.AddrPort) (netip.Addr, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	from := l.from[local]
	if len(from) == 0 {
		return netip.Addr{}, false
	}
	return from[len(from)-1], true
}

// serveEcho echoes every connection ln accepts (package echoserver) until
// the case ends, recording its source in seen if not nil before any byte
// of it is echoed; then it closes ln and every connection and waits for
// its goroutines.
func serveEcho(env *Env, ln net.Listener, seen *echoLog) {
	var onAccept func(net.Conn)
	if seen != nil {
		onAccept = seen.add
	}
	s := echoserver.ServeTCP(ln, onAccept)
	env.Cleanup(func() { _ = s.Close() })
}
