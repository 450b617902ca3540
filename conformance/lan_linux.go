package conformance

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/rustynet/rustynet/internal/netnamespace"
)

// The network a namespace LAN puts behind a node: the node's end of the
// veth (the gateway side) and the LAN host's end, in a served and an
// unserved subnet, and the LAN's route back to the mesh through the node.
var (
	lanGatewayServed   = netip.MustParsePrefix("10.212.0.1/24")
	lanHostServed      = netip.MustParsePrefix("10.212.0.2/24")
	lanGatewayUnserved = netip.MustParsePrefix("10.217.0.1/24")
	lanHostUnserved    = netip.MustParsePrefix("10.217.0.2/24")
	lanMeshRoute       = netip.MustParsePrefix("100.64.0.0/10")
)

// namespaceLAN puts a namespace of its own behind the node in namespace
// ns, joined by a veth, with an echo service on port echoPort at the LAN
// host's address in each subnet. The LAN host routes the mesh back through
// the node, so that traffic the gateway forwards without masquerading gets
// its replies.
func namespaceLAN(env *Env, ns netns.NsHandle) (*lanNet, error) {
	lanNs, err := newNamespace(env)
	if err != nil {
		return nil, err
	}
	if err := joinVeth(netnamespace.End{NS: ns, Name: "rc-gw", Addr: lanGatewayServed}, netnamespace.End{NS: lanNs, Name: "rc-lan", Addr: lanHostServed}); err != nil {
		return nil, err
	}
	for _, end := range []struct {
		ns   netns.NsHandle
		name string
		addr netip.Prefix
	}{{ns, "rc-gw", lanGatewayUnserved}, {lanNs, "rc-lan", lanHostUnserved}} {
		if err := addAddressAt(end.ns, end.name, end.addr); err != nil {
			return nil, err
		}
	}
	h, err := netlink.NewHandleAt(lanNs, unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	back := &netlink.Route{Dst: netnamespace.PrefixIPNet(lanMeshRoute), Gw: lanGatewayServed.Addr().AsSlice()}
	if err := h.RouteAdd(back); err != nil {
		return nil, fmt.Errorf("the LAN's route back to the mesh: %w", err)
	}
	host := &Node{Name: fmt.Sprintf("lan%d", int(lanNs)), Isolated: true, Do: func(fn func() error) error { return netnamespace.Do(lanNs, fn) }}
	lan := &lanNet{
		served:         lanHostServed.Masked(),
		unservedPrefix: lanHostUnserved.Masked(),
		gw:             lanGatewayServed.Addr(),
		seen:           newEchoLog(),
	}
	if lan.target, err = echoAt(env, host, netip.AddrPortFrom(lanHostServed.Addr(), echoPort), lan.seen); err != nil {
		return nil, err
	}
	if lan.unserved, err = echoAt(env, host, netip.AddrPortFrom(lanHostUnserved.Addr(), echoPort), lan.seen); err != nil {
		return nil, err
	}
	return lan, nil
}

// addAddressAt adds addr to link name in namespace ns.
func addAddressAt(ns netns.NsHandle, name string, addr netip.Prefix) error {
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return err
	}
	defer h.Close()
	link, err := h.LinkByName(name)
	if err != nil {
		return err
	}
	if err := h.AddrAdd(link, &netlink.Addr{IPNet: netnamespace.PrefixIPNet(addr)}); err != nil {
		return fmt.Errorf("address %s on %s: %w", addr, name, err)
	}
	return nil
}
