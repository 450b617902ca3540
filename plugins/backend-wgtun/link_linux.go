package wgtun

import (
	"context"
	"errors"
	"net"
	"net/netip"

	"github.com/rustynet/rustynet/plugins/internal/netlinkdump"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/tun"
)

// defaultName lets the kernel pick the first free rustynetN.
const defaultName = "rustynet%d"

// validateName accepts what the kernel accepts as an interface name (or a
// pattern with one %d).
func validateName(name string) error {
	if len(name) >= unix.IFNAMSIZ || name == "." || name == ".." {
		return invalidName(name)
	}
	for _, c := range name {
		if c <= ' ' || c == '/' || c == ':' || c > '~' {
			return invalidName(name)
		}
	}
	return nil
}

// osLink is the kernel's side of the TUN interface, changed over netlink.
// The netlink socket is opened when the interface is created, so changes
// land in the network namespace the interface was created in. Routes are
// not its business: hostroute.Link installs them (routes_linux.go).
type osLink struct {
	nl    *netlink.Handle
	index int
}

// openLink opens a netlink handle on the TUN device's interface.
func openLink(_ context.Context, dev tun.Device) (*osLink, error) {
	name, err := dev.Name()
	if err != nil {
		return nil, err
	}
	h, err := netlink.NewHandle(unix.NETLINK_ROUTE)
	if err != nil {
		return nil, err
	}
	l, err := h.LinkByName(name)
	if err != nil {
		h.Close()
		return nil, err
	}
	return &osLink{nl: h, index: l.Attrs().Index}, nil
}

// link returns the interface for netlink calls that take one.
func (l *osLink) link() netlink.Link {
	return &netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: l.index}}
}

func (l *osLink) setMTU(_ context.Context, mtu int) error { return l.nl.LinkSetMTU(l.link(), mtu) }

func (l *osLink) up(context.Context) error { return l.nl.LinkSetUp(l.link()) }

func (l *osLink) addAddress(_ context.Context, p netip.Prefix) error {
	return l.nl.AddrReplace(l.link(), &netlink.Addr{IPNet: ipNet(p)})
}

func (l *osLink) delAddress(_ context.Context, p netip.Prefix) error {
	return ignore(l.nl.AddrDel(l.link(), &netlink.Addr{IPNet: ipNet(p)}), unix.EADDRNOTAVAIL)
}

// addresses lists the interface's addresses.
func (l *osLink) addresses(context.Context) ([]netip.Prefix, error) {
	addrs, err := netlinkdump.Retry(func() ([]netlink.Addr, error) { return l.nl.AddrList(l.link(), netlink.FAMILY_ALL) })
	if err != nil {
		return nil, err
	}
	out := make([]netip.Prefix, 0, len(addrs))
	for _, a := range addrs {
		if p, ok := prefixOf(a.IPNet); ok {
			out = append(out, p)
		}
	}
	return out, nil
}

// close releases the netlink handle. The interface itself goes with the
// TUN device.
func (l *osLink) close() { l.nl.Close() }

// ignore returns nil if err is errno, else err.
func ignore(err error, errno unix.Errno) error {
	if errors.Is(err, errno) {
		return nil
	}
	return err
}

// ipNet converts p, keeping its host bits, to the net package's form.
func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}
