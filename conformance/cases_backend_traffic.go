package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// statsDeadline bounds how long per-peer counters may lag the traffic
// they count.
const statsDeadline = 5 * time.Second

func backendTrafficCases() []Case {
	stats := Capability{Backend: hostapi.BackendCapPeerStats}
	return []Case{
		{
			ID: "backend.traffic.handshake", Level: Must,
			Rule: "two instances configured as each other's peers complete a real WireGuard handshake and carry TCP traffic both ways",
			Run:  backendTrafficHandshake,
		},
		{
			ID: "backend.traffic.stats", Level: Must, Needs: stats,
			Rule: "per-peer statistics move with traffic: last handshake set, rx and tx grown by what passed, endpoint as used",
			Run:  backendTrafficStats,
		},
		{
			ID: "backend.traffic.diff-keeps-session", Level: Must,
			Rule: "applying a difference (a new peer, the unchanged peer listed again, an absent removal) keeps an open session: its connection carries on and its handshake time survives",
			Run:  backendDiffKeepsSession,
		},
		{
			ID: "backend.traffic.configure-keeps-session", Level: Must,
			Rule: "a later Configure (another address) keeps an open session and its connection",
			Run:  backendConfigureKeepsSession,
		},
		{
			ID: "backend.traffic.remove-cuts", Level: Must,
			Rule: "once RemovePeers returns, packets to and from the removed peer are dropped: an open connection through it goes silent",
			Run:  backendRemoveCuts,
		},
		{
			ID: "backend.traffic.longest-match", Level: Must,
			Rule: "with two peers whose allowed IPs overlap (a /16 and a /24 inside it), traffic to an address in the /24 reaches the peer with the /24 and traffic elsewhere in the /16 the other: the longest match wins",
			Run:  backendLongestMatch,
		},
		{
			ID: "backend.interop", Level: Must, Needs: Capability{Harness: HarnessReference},
			Rule: "the backend completes a handshake and carries traffic both ways with an instance of the reference backend",
			Run:  backendInterop,
		},
	}
}

func backendTrafficHandshake(ctx context.Context, env *Env) error {
	p, err := newPair(ctx, env, false)
	if err != nil {
		return err
	}
	if _, err := p.a.exchange(ctx, env, "a-to-b"); err != nil {
		return err
	}
	if _, err := p.b.exchange(ctx, env, "b-to-a"); err != nil {
		return err
	}
	return nil
}

func backendTrafficStats(ctx context.Context, env *Env) error {
	p, err := newPair(ctx, env, false)
	if err != nil {
		return err
	}
	if _, err := p.a.exchange(ctx, env, "warm-up"); err != nil {
		return err
	}
	beforeA, err := peerState(ctx, p.a.b, p.b.id.pub)
	if err != nil {
		return err
	}
	beforeB, err := peerState(ctx, p.b.b, p.a.id.pub)
	if err != nil {
		return err
	}
	if _, err := p.a.exchange(ctx, env, "counted"); err != nil {
		return err
	}
	// Backends count a packet once they have sent it, which may be a
	// moment after it has arrived: poll for the counters to catch up.
	var fails []error
	for _, side := range []struct {
		n      *tnode
		before hostapi.PeerState
	}{{p.a, beforeA}, {p.b, beforeB}} {
		who := fmt.Sprintf("%s's view of its peer", side.n.b.Node.Name)
		var after hostapi.PeerState
		var stateErr error
		grown := func() bool {
			after, stateErr = peerState(ctx, side.n.b, side.n.peer.id.pub)
			return stateErr != nil || (after.TxBytes >= side.before.TxBytes+payloadBytes && after.RxBytes >= side.before.RxBytes+payloadBytes)
		}
		if err := waitFor(ctx, statsDeadline, who+": counters", grown); err != nil || stateErr != nil {
			fails = append(fails, fmt.Errorf("%s: tx %d→%d, rx %d→%d; want both to grow by at least %d (the echoed payload) within %s (%v)",
				who, side.before.TxBytes, after.TxBytes, side.before.RxBytes, after.RxBytes, payloadBytes, statsDeadline, errors.Join(err, stateErr)))
			continue
		}
		if after.LastHandshake.IsZero() {
			fails = append(fails, fmt.Errorf("%s: zero last handshake after traffic", who))
		}
		if want := side.n.peer.endpoint(); after.Endpoint != want {
			fails = append(fails, fmt.Errorf("%s: endpoint %v, want %v", who, after.Endpoint, want))
		}
	}
	return errs(fails...)
}

// sessionOf returns a's view of its peer when the backend reports
// handshakes, for "the session survived" checks.
func sessionOf(ctx context.Context, n *tnode) (hostapi.PeerState, bool, error) {
	if !n.b.info.Capabilities.Has(hostapi.BackendCapPeerStats) {
		return hostapi.PeerState{}, false, nil
	}
	st, err := peerState(ctx, n.b, n.peer.id.pub)
	return st, true, err
}

// keepsSession opens a connection from a to b, applies change to a, and
// checks that the connection carries on in the same session.
func keepsSession(ctx context.Context, env *Env, p *pair, what string, change func() error) error {
	c, err := p.a.exchange(ctx, env, "before")
	if err != nil {
		return err
	}
	before, stats, err := sessionOf(ctx, p.a)
	if err != nil {
		return err
	}
	if err := change(); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := echo(c, sized("after", payloadBytes)); err != nil {
		return fmt.Errorf("the open connection after %s: %w", what, err)
	}
	if !stats {
		env.Logf("no BackendCapPeerStats: the handshake time was not compared")
		return nil
	}
	after, _, err := sessionOf(ctx, p.a)
	if err != nil {
		return err
	}
	if !after.LastHandshake.Equal(before.LastHandshake) {
		return fmt.Errorf("after %s the peer's last handshake moved from %v to %v: its session was disturbed", what, before.LastHandshake, after.LastHandshake)
	}
	return nil
}

func backendDiffKeepsSession(ctx context.Context, env *Env) error {
	p, err := newPair(ctx, env, false)
	if err != nil {
		return err
	}
	return keepsSession(ctx, env, p, "ApplyPeers by difference", func() error {
		newcomer := newIdentity(meshAddr(3)).peer(loopbackEndpoint(51007))
		absent := newIdentity(meshAddr(99)).pub
		return p.a.b.ApplyPeers(ctx, hostapi.PeerChanges{
			Remove: []hostapi.Key{absent},
			Upsert: []hostapi.PeerConfig{p.b.asPeer(), newcomer},
		})
	})
}

func backendConfigureKeepsSession(ctx context.Context, env *Env) error {
	p, err := newPair(ctx, env, false)
	if err != nil {
		return err
	}
	return keepsSession(ctx, env, p, "a second Configure", func() error {
		cfg := p.a.config()
		cfg.Addresses = append(cfg.Addresses, netip.PrefixFrom(meshAddr(203), 32))
		return p.a.b.Configure(ctx, cfg)
	})
}

func backendRemoveCuts(ctx context.Context, env *Env) error {
	p, err := newPair(ctx, env, false)
	if err != nil {
		return err
	}
	c, err := p.a.exchange(ctx, env, "before")
	if err != nil {
		return err
	}
	if err := p.a.b.RemovePeers(ctx, []hostapi.Key{p.b.id.pub}); err != nil {
		return fmt.Errorf("RemovePeers: %w", err)
	}
	if _, err := peerState(ctx, p.a.b, p.b.id.pub); err == nil {
		return errors.New("State still lists the peer RemovePeers removed")
	}
	if err := silent(c, sized("after", 1<<10)); err != nil {
		return fmt.Errorf("the connection through the removed peer: %w", err)
	}
	return nil
}

func backendLongestMatch(ctx context.Context, env *Env) error {
	var (
		wide     = netip.MustParsePrefix("10.214.0.0/16")
		narrow   = netip.MustParsePrefix("10.214.5.0/24")
		wideDst  = netip.AddrPortFrom(netip.MustParseAddr("10.214.7.1"), echoPort)
		narrowTo = netip.AddrPortFrom(netip.MustParseAddr("10.214.5.1"), echoPort)
	)
	ns, err := startNodes(ctx, env, 3, false)
	if err != nil {
		return err
	}
	hub, wider, narrower := ns[0], ns[1], ns[2]
	hub.peers = []*tnode{wider, narrower}
	wider.peers, narrower.peers = []*tnode{hub}, []*tnode{hub}
	// Each spoke holds only its own address: traffic that reaches the
	// wrong one finds no echo service.
	wider.extra, wider.allowed = []netip.Prefix{netip.PrefixFrom(wideDst.Addr(), 32)}, []netip.Prefix{wide}
	narrower.extra, narrower.allowed = []netip.Prefix{netip.PrefixFrom(narrowTo.Addr(), 32)}, []netip.Prefix{narrow}
	hub.dests = []netip.AddrPort{narrowTo, wideDst}
	if hub.b.info.Capabilities.Has(hostapi.BackendCapRoutes) {
		hub.routes = []netip.Prefix{wide}
	}
	if err := connect(ctx, env, ns...); err != nil {
		return err
	}
	for _, t := range []struct {
		dst netip.AddrPort
		to  *tnode
	}{{narrowTo, narrower}, {wideDst, wider}} {
		if _, err := hub.exchangeWith(ctx, env, t.dst, "longest-match"); err != nil {
			return fmt.Errorf("to %s, which only the peer with %v holds: %w", t.dst, t.to.allowed, err)
		}
		if err := cameFrom(t.to.seen, t.dst, hub.id.addr); err != nil {
			return err
		}
	}
	return nil
}

func backendInterop(ctx context.Context, env *Env) error {
	p, err := newPair(ctx, env, true)
	if err != nil {
		return err
	}
	if _, err := p.a.exchange(ctx, env, "to-reference"); err != nil {
		return err
	}
	if _, err := p.b.exchange(ctx, env, "from-reference"); err != nil {
		return err
	}
	env.Logf("%s %s (node %s) ↔ %s %s (node %s)", p.a.b.info.Name, p.a.b.info.Version, p.a.b.Node.Name, p.b.b.info.Name, p.b.b.info.Version, p.b.b.Node.Name)
	return nil
}

func backendCloseReleases(ctx context.Context, env *Env) error {
	b, _, err := configured(ctx, env, nil, 1)
	if err != nil {
		return err
	}
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: testPeers()}); err != nil {
		return fmt.Errorf("ApplyPeers: %w", err)
	}
	st, err := b.State(ctx)
	if err != nil {
		return fmt.Errorf("State: %w", err)
	}
	osIface := interfaceExists(b.Node, st.Name)
	if err := b.Close(ctx); err != nil {
		return fmt.Errorf("Close: %w", err)
	}
	var fails []error
	if err := udpFree(b.Node, st.ListenPort); err != nil {
		fails = append(fails, fmt.Errorf("after Close, the listen port is still taken: %w", err))
	}
	if osIface && interfaceExists(b.Node, st.Name) {
		fails = append(fails, fmt.Errorf("after Close, interface %s still exists in node %s", st.Name, b.Node.Name))
	}
	if b.inProcess || !procInspection {
		b.Kill()
		return errs(fails...)
	}
	children := descendants(b.Pid())
	b.Kill()
	if err := waitExit(ctx, exitDeadline, b.Pid(), children); err != nil {
		fails = append(fails, err)
	}
	return errs(fails...)
}

// interfaceExists reports whether node has a network interface called name.
func interfaceExists(node *Node, name string) bool {
	if name == "" {
		return false
	}
	found := false
	_ = node.do(func() error {
		_, err := net.InterfaceByName(name)
		found = err == nil
		return nil
	})
	return found
}

// udpFree checks that UDP port can be bound in node, on every address.
func udpFree(node *Node, port uint16) error {
	return node.do(func() error {
		pc, err := net.ListenPacket("udp", ":"+strconv.Itoa(int(port)))
		if err != nil {
			return err
		}
		return pc.Close()
	})
}
