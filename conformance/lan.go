package conformance

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
)

// lanNet is a network behind a node, for the gateway cases: a host on it
// runs an echo service at target, inside the prefix served, which the
// node's gateway is to forward to, and, if valid, one at unserved, inside
// unservedPrefix, which it is not.
type lanNet struct {
	served         netip.Prefix
	target         netip.AddrPort
	unservedPrefix netip.Prefix
	unserved       netip.AddrPort
	// gw is the source address the host sees on a connection the node
	// opens or masquerades: the node's own address on the network.
	gw netip.Addr
	// seen records the sources of the connections the host accepts.
	seen *echoLog
}

// lanBehind makes a network behind node and starts its echo services,
// all removed when the case ends. It skips when node's topology offers
// none.
func lanBehind(ctx context.Context, env *Env, node *Node) (*lanNet, error) {
	if node.lan == nil {
		return nil, Skipf("the topology offers no network behind node %s to forward to", node.Name)
	}
	return node.lan(ctx, env)
}

// hostLAN stands for a network behind a node of this host's network:
// this host's own addresses other than loopback, reached from the host
// itself. The first is served; a second, if there is one, is not.
func hostLAN(_ context.Context, env *Env) (*lanNet, error) {
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("listing this host's addresses: %w", err)
	}
	var addrs []netip.Addr
	for _, ia := range ifaddrs {
		p, err := netip.ParsePrefix(ia.String())
		if err == nil && p.Addr().IsGlobalUnicast() && p.Addr().Zone() == "" {
			addrs = append(addrs, p.Addr())
		}
	}
	slices.SortFunc(addrs, netip.Addr.Compare)
	if len(addrs) == 0 {
		return nil, Skip("this host has no address but loopback and link-local ones to stand for a network behind a gateway")
	}
	lan := &lanNet{served: netip.PrefixFrom(addrs[0], addrs[0].BitLen()), gw: addrs[0], seen: newEchoLog()}
	host := &Node{Name: "host"}
	if lan.target, err = echoAt(env, host, netip.AddrPortFrom(addrs[0], 0), lan.seen); err != nil {
		return nil, err
	}
	if len(addrs) > 1 {
		lan.unservedPrefix = netip.PrefixFrom(addrs[1], addrs[1].BitLen())
		if lan.unserved, err = echoAt(env, host, netip.AddrPortFrom(addrs[1], 0), lan.seen); err != nil {
			return nil, err
		}
	}
	return lan, nil
}

// echoAt runs an echo service on TCP address ap in node until the case
// ends, recording its connections' sources in seen, and returns the
// address it listens on.
func echoAt(env *Env, node *Node, ap netip.AddrPort, seen *echoLog) (netip.AddrPort, error) {
	ln, err := listenIn(node, ap.String())
	if err != nil {
		return netip.AddrPort{}, err
	}
	serveEcho(env, ln, seen)
	return netip.MustParseAddrPort(ln.Addr().String()), nil
}
