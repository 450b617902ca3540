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
)

// Traffic between two instances: each runs a TCP echo service reachable
// through the tunnel at its mesh address, port echoPort, and each dials the
// other's. A node with BackendCapProxy reaches the mesh through a TCP
// forward on its 127.0.0.1 and exposes an echo server on its 127.0.0.1;
// a node with an OS interface dials and listens on mesh addresses directly,
// in its own network namespace.

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

// tnode is one configured instance of a traffic pair.
type tnode struct {
	b    *BackendInstance
	id   *identity
	port uint16         // WireGuard listen port, from State
	fwd  netip.AddrPort // the TCP forward to the other node's echo service; zero without proxies
	// proxy is the proxy configuration n was configured with; nil
	// without proxies.
	proxy *hostapi.ProxyConfig
	peer  *tnode
}

// endpoint is where the other node sends this node's WireGuard packets.
func (n *tnode) endpoint() netip.AddrPort { return netip.AddrPortFrom(n.b.Node.Underlay, n.port) }

// asPeer is this node as the other node's peer.
func (n *tnode) asPeer() hostapi.PeerConfig { return n.id.peer(n.endpoint()) }

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
	nodes, err := env.Nodes(ctx, 2)
	if err != nil {
		return nil, err
	}
	ba, err := env.StartBackend(ctx, nodes[0])
	if err != nil {
		return nil, err
	}
	var bb *BackendInstance
	if withReference {
		bb, err = env.StartReference(ctx, nodes[1])
	} else {
		bb, err = env.StartBackend(ctx, nodes[1])
	}
	if err != nil {
		return nil, err
	}
	for _, b := range []*BackendInstance{ba, bb} {
		if why := runnable(ctx, b); why != "" {
			return nil, Skip(why)
		}
		if why := carryReason(b); why != "" {
			return nil, Skip(why)
		}
	}
	p := &pair{
		a: &tnode{b: ba, id: newIdentity(meshAddr(1))},
		b: &tnode{b: bb, id: newIdentity(meshAddr(2))},
	}
	for _, n := range []*tnode{p.a, p.b} {
		if osRouted(n.b) && !n.b.info.Capabilities.Has(hostapi.BackendCapRoutes) {
			// Without ApplyRoutes, the interface's own prefix must cover
			// the peer's address.
			n.id.bits = 24
		}
	}
	p.a.peer, p.b.peer = p.b, p.a
	for _, n := range []*tnode{p.a, p.b} {
		if err := n.configure(ctx, env); err != nil {
			return nil, fmt.Errorf("%s in node %s: %w", n.b.info.Name, n.b.Node.Name, err)
		}
	}
	for _, n := range []*tnode{p.a, p.b} {
		if err := n.b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{n.peer.asPeer()}}); err != nil {
			return nil, fmt.Errorf("%s: ApplyPeers: %w", n.b.info.Name, err)
		}
	}
	return p, nil
}

// configure configures n with its echo service and, with proxies, its
// forward to the other node's echo service.
func (n *tnode) configure(ctx context.Context, env *Env) error {
	proxied := n.b.info.Capabilities.Has(hostapi.BackendCapProxy)
	var echoAddr netip.AddrPort
	if proxied {
		ln, err := listenIn(n.b.Node, "127.0.0.1:0")
		if err != nil {
			return err
		}
		serveEcho(env, ln)
		echoAddr = netip.MustParseAddrPort(ln.Addr().String())
	}
	const attempts = 5
	var err error
	for range attempts {
		cfg := n.id.config()
		if proxied {
			n.fwd, err = freePort(n.b.Node)
			if err != nil {
				return err
			}
			cfg.Proxy = &hostapi.ProxyConfig{
				Exposes:  []hostapi.Expose{{Proto: hostapi.ProtoTCP, MeshPort: echoPort, Target: echoAddr}},
				Forwards: []hostapi.Forward{{Proto: hostapi.ProtoTCP, Listen: n.fwd, Target: netip.AddrPortFrom(n.peer.id.addr, echoPort)}},
			}
		}
		n.proxy = cfg.Proxy
		err = n.b.Configure(ctx, cfg)
		// Another process may take the free port first: try another.
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
	if osRouted(n.b) && n.b.info.Capabilities.Has(hostapi.BackendCapRoutes) {
		if err := n.b.ApplyRoutes(ctx, hostapi.RouteChanges{Add: []netip.Prefix{n.peer.id.prefix()}}); err != nil {
			return fmt.Errorf("ApplyRoutes to the peer: %w", err)
		}
	}
	if !proxied {
		ln, err := listenIn(n.b.Node, netip.AddrPortFrom(n.id.addr, echoPort).String())
		if err != nil {
			return fmt.Errorf("listening on the mesh address: %w", err)
		}
		serveEcho(env, ln)
	}
	return nil
}

// dial opens a TCP connection from n's node, through the tunnel, to the
// other node's echo service.
func (n *tnode) dial(ctx context.Context, env *Env) (net.Conn, error) {
	target := netip.AddrPortFrom(n.peer.id.addr, echoPort)
	if n.fwd.IsValid() {
		target = n.fwd
	}
	var c net.Conn
	err := n.b.Node.do(func() error {
		var d net.Dialer
		dctx, cancel := context.WithTimeout(ctx, ioTimeout)
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
	c, err := n.dial(ctx, env)
	if err != nil {
		return nil, err
	}
	if err := echo(c, sized(tag, payloadBytes)); err != nil {
		return nil, fmt.Errorf("from %s (node %s) to %s (node %s): %w", n.b.info.Name, n.b.Node.Name, n.peer.b.info.Name, n.peer.b.Node.Name, err)
	}
	return c, nil
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

// freePort returns an address on 127.0.0.1 in node with a TCP port that
// was free a moment ago.
func freePort(node *Node) (netip.AddrPort, error) {
	ln, err := listenIn(node, "127.0.0.1:0")
	if err != nil {
		return netip.AddrPort{}, err
	}
	defer ln.Close()
	return netip.MustParseAddrPort(ln.Addr().String()), nil
}

// serveEcho echoes every connection ln accepts until the case ends; then
// it closes ln and every connection and waits for its goroutines.
func serveEcho(env *Env, ln net.Listener) {
	var (
		mu     sync.Mutex // guards conns and closed
		conns  []net.Conn
		closed bool
		wg     sync.WaitGroup
	)
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			if closed {
				mu.Unlock()
				_ = c.Close()
				return
			}
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(c, c) })
		}
	})
	env.Cleanup(func() {
		mu.Lock()
		closed = true
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		_ = ln.Close()
		wg.Wait()
	})
}
