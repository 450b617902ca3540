package conformance

import (
	"context"
	"net/netip"
)

// Topology decides where backend instances run, so that the suite can put
// two of them on a network where they reach each other, and reach each of
// them with its own sockets.
type Topology interface {
	// Nodes returns n fresh nodes (n is 1, 2 or 3) and registers their
	// removal with env.Cleanup. Two nodes reach each other over UDP at
	// their Underlay addresses; of three, the first reaches each of the
	// others and they reach it (a star: the others need not reach each
	// other). It returns an error made by Skip when this host cannot
	// provide them, saying why.
	Nodes(ctx context.Context, env *Env, n int) ([]*Node, error)
}

// Node is one place a backend instance runs.
type Node struct {
	// Name identifies the node in messages.
	Name string
	// Underlay is the address at which other nodes reach a WireGuard
	// socket in this node.
	Underlay netip.Addr
	// Isolated reports that the node has a network stack of its own (a
	// network namespace), so that an OS interface, its addresses and its
	// routes created there affect no other node.
	Isolated bool
	// Do, if not nil, runs fn so that the sockets fn opens, and the
	// processes it starts, belong to the node's network; the suite launches
	// the node's plugin instances inside it. Nil runs fn as it is, in this
	// host's network.
	Do func(fn func() error) error

	// lan, if not nil, makes a network behind the node for gateway cases
	// (see lanBehind); the built-in topologies set it.
	lan func(ctx context.Context, env *Env) (*lanNet, error)
}

// do runs fn in n's network.
func (n *Node) do(fn func() error) error {
	if n.Do == nil {
		return fn()
	}
	return n.Do(fn)
}

// Loopback is the Topology of nodes that share this host's network and reach
// each other on 127.0.0.1. It suits userspace backends without an OS
// interface (BackendCapProxy) and in-process targets; two OS-interface
// instances on it cannot carry traffic between them, and the cases that need
// that skip.
var Loopback Topology = loopback{}

type loopback struct{}

func (loopback) Nodes(_ context.Context, _ *Env, n int) ([]*Node, error) {
	nodes := make([]*Node, n)
	for i := range nodes {
		nodes[i] = &Node{Name: "loopback", Underlay: netip.MustParseAddr("127.0.0.1"), lan: hostLAN}
	}
	return nodes, nil
}
