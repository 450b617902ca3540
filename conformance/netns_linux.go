package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"

	"github.com/vishvananda/netns"

	"github.com/rustynet/rustynet/internal/netnamespace"
)

// Addresses of the two ends of a pair's veth, and of the third node of a
// star, whose veth to the first node gives the first node's address again,
// as a host address with a host route to the third: every node reaches the
// first at one Underlay.
var (
	vethA = netip.MustParsePrefix("10.99.0.1/24")
	vethB = netip.MustParsePrefix("10.99.0.2/24")
	vethC = netip.MustParsePrefix("10.99.0.3/24")
)

func (namespaces) Nodes(_ context.Context, env *Env, n int) ([]*Node, error) {
	if os.Geteuid() != 0 {
		return nil, Skip("network namespaces need root")
	}
	if n < 1 || n > 3 {
		return nil, fmt.Errorf("conformance: %d nodes asked of Namespaces, which makes 1 to 3", n)
	}
	nodes := make([]*Node, n)
	handles := make([]netns.NsHandle, n)
	for i := range nodes {
		ns, err := newNamespace(env)
		if err != nil {
			return nil, err
		}
		handles[i] = ns
		nodes[i] = &Node{
			Name:     fmt.Sprintf("netns%d", int(ns)),
			Underlay: netip.MustParseAddr("127.0.0.1"),
			Isolated: true,
			Do:       func(fn func() error) error { return netnamespace.Do(ns, fn) },
			lan:      func(ctx context.Context, env *Env) (*lanNet, error) { return namespaceLAN(env, ns) },
		}
	}
	if n >= 2 {
		if err := joinVeth(netnamespace.End{NS: handles[0], Name: "rc-a", Addr: vethA}, netnamespace.End{NS: handles[1], Name: "rc-b", Addr: vethB}); err != nil {
			return nil, err
		}
		nodes[0].Underlay, nodes[1].Underlay = vethA.Addr(), vethB.Addr()
	}
	if n == 3 {
		hub := netip.PrefixFrom(vethA.Addr(), 32)
		if err := joinVeth(netnamespace.End{NS: handles[0], Name: "rc-c", Addr: hub, Peer: vethC.Addr()}, netnamespace.End{NS: handles[2], Name: "rc-d", Addr: vethC}); err != nil {
			return nil, err
		}
		nodes[2].Underlay = vethC.Addr()
	}
	return nodes, nil
}

// newNamespace creates a network namespace with its loopback up
// (netnamespace.New) and registers the release of the suite's handle on
// it. The namespace goes away once the handle is closed and no process
// runs in it: nothing is left behind, even by a suite that is killed.
func newNamespace(env *Env) (netns.NsHandle, error) {
	ns, err := netnamespace.New()
	if err != nil {
		return 0, err
	}
	env.Cleanup(func() { _ = ns.Close() })
	return ns, nil
}

// joinVeth joins two namespaces with a veth pair (netnamespace.Join); a
// kernel without veth pairs makes the case skip.
func joinVeth(a, b netnamespace.End) error {
	err := netnamespace.Join(a, b)
	if errors.Is(err, netnamespace.ErrNoVeth) {
		return Skip(err.Error())
	}
	return err
}
