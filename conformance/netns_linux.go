package conformance

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"runtime"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
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
			Do:       func(fn func() error) error { return doIn(ns, fn) },
			lan:      func(ctx context.Context, env *Env) (*lanNet, error) { return namespaceLAN(env, ns) },
		}
	}
	if n >= 2 {
		if err := joinVeth(vethEnd{handles[0], "rc-a", vethA, netip.Addr{}}, vethEnd{handles[1], "rc-b", vethB, netip.Addr{}}); err != nil {
			return nil, err
		}
		nodes[0].Underlay, nodes[1].Underlay = vethA.Addr(), vethB.Addr()
	}
	if n == 3 {
		hub := netip.PrefixFrom(vethA.Addr(), 32)
		if err := joinVeth(vethEnd{handles[0], "rc-c", hub, vethC.Addr()}, vethEnd{handles[2], "rc-d", vethC, netip.Addr{}}); err != nil {
			return nil, err
		}
		nodes[2].Underlay = vethC.Addr()
	}
	return nodes, nil
}

// newNamespace creates a network namespace with its loopback up and
// registers the release of the suite's handle on it. The namespace goes
// away once the handle is closed and no process runs in it: nothing is
// left behind, even by a suite that is killed.
func newNamespace(env *Env) (netns.NsHandle, error) {
	type result struct {
		ns  netns.NsHandle
		err error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: err}
			return
		}
		defer orig.Close()
		ns, err := netns.New() // unshare: this thread is now inside
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{err: fmt.Errorf("new network namespace: %w", err)}
			return
		}
		if err := netns.Set(orig); err != nil {
			// The thread is stranded in the new namespace: it ends with
			// this goroutine, still locked.
			done <- result{ns: ns, err: fmt.Errorf("returning to the original namespace: %w", err)}
			return
		}
		runtime.UnlockOSThread()
		done <- result{ns: ns}
	}()
	r := <-done
	if r.ns.IsOpen() {
		env.Cleanup(func() { _ = r.ns.Close() })
	}
	if r.err != nil {
		return 0, r.err
	}
	h, err := netlink.NewHandleAt(r.ns, unix.NETLINK_ROUTE)
	if err != nil {
		return 0, fmt.Errorf("netlink in the new namespace: %w", err)
	}
	defer h.Close()
	lo, err := h.LinkByName("lo")
	if err == nil {
		err = h.LinkSetUp(lo)
	}
	if err != nil {
		return 0, fmt.Errorf("bringing lo up in the new namespace: %w", err)
	}
	return r.ns, nil
}

// vethEnd is one end of a veth: its namespace, name and address, and, if
// valid, the one address it reaches, by a host route (for an end whose
// address is a host address).
type vethEnd struct {
	ns   netns.NsHandle
	name string
	addr netip.Prefix
	peer netip.Addr
}

// joinVeth joins the namespaces of a and b with a veth pair, both ends up.
// The pair goes with the namespaces.
func joinVeth(a, b vethEnd) error {
	ha, err := netlink.NewHandleAt(a.ns, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer ha.Close()
	hb, err := netlink.NewHandleAt(b.ns, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer hb.Close()
	veth := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: a.name}, PeerName: b.name, PeerNamespace: netlink.NsFd(int(b.ns))}
	if err := ha.LinkAdd(veth); errors.Is(err, unix.EOPNOTSUPP) {
		return Skipf("this kernel cannot create veth pairs to join namespaces (load the veth module): %v", err)
	} else if err != nil {
		return fmt.Errorf("creating a veth pair between the namespaces: %w", err)
	}
	for _, end := range []struct {
		h *netlink.Handle
		vethEnd
	}{{ha, a}, {hb, b}} {
		if err := setUpLink(end.h, end.name, end.addr, end.peer); err != nil {
			return err
		}
	}
	return nil
}

// setUpLink gives link name in h's namespace the address addr (and, if
// peer is valid, a host route to peer through it) and brings it up.
func setUpLink(h *netlink.Handle, name string, addr netip.Prefix, peer netip.Addr) error {
	link, err := h.LinkByName(name)
	if err != nil {
		return err
	}
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: prefixIPNet(addr)}); err != nil {
		return fmt.Errorf("address %s on %s: %w", addr, name, err)
	}
	if err := h.LinkSetUp(link); err != nil {
		return fmt.Errorf("bringing %s up: %w", name, err)
	}
	if peer.IsValid() {
		r := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: prefixIPNet(netip.PrefixFrom(peer, peer.BitLen())), Scope: netlink.SCOPE_LINK}
		if err := h.RouteAdd(r); err != nil {
			return fmt.Errorf("route to %s on %s: %w", peer, name, err)
		}
	}
	return nil
}

// prefixIPNet is p in the form netlink takes: the address with its
// prefix length (not masked).
func prefixIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// doIn runs fn on an OS thread that has entered namespace ns: sockets fn
// opens, and processes it starts, belong to the namespace. The thread goes
// back to its own namespace before it is released, because a thread that
// ends fires the parent-death signal of the plugin processes started on it
// (hostapi sets one). Only if going back fails does the thread stay locked
// and end with its goroutine.
func doIn(ns netns.NsHandle, fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		defer orig.Close()
		if err := netns.Set(ns); err != nil {
			runtime.UnlockOSThread()
			done <- fmt.Errorf("entering namespace: %w", err)
			return
		}
		defer func() {
			if netns.Set(orig) == nil {
				runtime.UnlockOSThread()
			}
		}()
		done <- fn()
	}()
	return <-done
}
