package wgkernel

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"slices"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/wgctrl"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/hostroute"
	"github.com/rustynet/rustynet/plugins/internal/netlinkdump"
)

// Configure creates the interface (first call), or adopts an existing
// WireGuard interface of that name with its peers and the routes this
// backend installed on it, and sets its private key, listen port,
// addresses, MTU and gateway and brings it up. A gateway needs nftables
// and the forwarding sysctls (else ErrUnsupported or ErrPermission);
// without one, the interface still gets nftables' guard that drops what
// the host would forward from it, where nftables is available. A zero
// private key leaves the interface without an identity (the kernel then
// neither sends nor answers handshakes). Later calls change those
// settings in place; an empty name means the current one, another name
// fails with ErrUnsupported, and a zero listen port keeps the port. Peers
// are not touched, though a new private key ends their current sessions
// (WireGuard re-handshakes). On error nothing is changed: a created
// interface is deleted again, changed settings are restored.
func (b *Backend) Configure(ctx context.Context, cfg hostapi.InterfaceConfig) error {
	want, err := checkInterface(cfg)
	if err != nil {
		return err
	}
	if err := b.serial.acquire(ctx, false); err != nil {
		return hostapi.Errorf(hostapi.CodeUnavailable, "wgkernel: %v", err)
	}
	defer b.serial.release()
	if b.closed {
		return hostapi.Errorf(hostapi.CodeClosed, "wgkernel: backend is closed")
	}
	if err := ctx.Err(); err != nil {
		return hostapi.Errorf(hostapi.CodeUnavailable, "wgkernel: %v", err)
	}
	if b.dev == nil {
		dev, err := b.open(want)
		if err != nil {
			return err
		}
		b.dev = dev
		return nil
	}
	if cfg.Name == "" {
		want.name = b.dev.iface.name
	}
	if want.name != b.dev.iface.name {
		return hostapi.Errorf(hostapi.CodeUnsupported, "wgkernel: the interface is %s; it cannot be renamed to %s", b.dev.iface.name, want.name)
	}
	return b.dev.configure(want, b.logger)
}

// open creates or adopts the interface and configures it.
func (b *Backend) open(want ifaceConfig) (*device, error) {
	nl, err := netlink.NewHandle(unix.NETLINK_ROUTE) // only rtnetlink: xfrm and netfilter may be absent
	if err != nil {
		return nil, sysErr("opening rtnetlink", err)
	}
	dev := &device{nl: nl, iface: ifaceConfig{name: want.name}}
	var undo undoStack
	fail := func(err error) (*device, error) {
		if uerr := undo.run(); uerr != nil {
			b.logger.Error("wgkernel: undoing a failed Configure", "name", want.name, "err", uerr)
		}
		dev.close()
		return nil, err
	}

	link, err := nl.LinkByName(want.name)
	var notFound netlink.LinkNotFoundError
	created := false
	switch {
	case err == nil && link.Type() != "wireguard":
		return fail(hostapi.Errorf(hostapi.CodeConflict, "wgkernel: interface %s exists and is a %s device, not WireGuard", want.name, link.Type()))
	case err == nil:
		b.logger.Info("wgkernel: adopting existing interface", "name", want.name)
	case errors.As(err, &notFound):
		attrs := netlink.NewLinkAttrs()
		attrs.Name = want.name
		attrs.MTU = want.mtu
		if err := nl.LinkAdd(&netlink.Wireguard{LinkAttrs: attrs}); err != nil {
			return fail(sysErr("creating interface "+want.name, err))
		}
		if link, err = nl.LinkByName(want.name); err != nil {
			return fail(sysErr("reading interface "+want.name, err))
		}
		undo.push(func() error { return nl.LinkDel(link) })
		created = true
		b.logger.Info("wgkernel: interface created", "name", want.name)
	default:
		return fail(sysErr("looking up interface "+want.name, err))
	}
	dev.link = link

	// The generic netlink family exists once the module is loaded, which
	// creating the first interface does.
	wg, err := wgctrl.New()
	if err != nil {
		return fail(sysErr("opening WireGuard netlink", err))
	}
	dev.wg = wg
	if err := dev.configureWith(want, &undo); err != nil {
		return fail(err)
	}

	host, err := hostroute.Open(hostroute.Config{Index: link.Attrs().Index, Name: want.name, SetMark: dev.setMark, Logger: b.logger})
	if err != nil {
		return fail(err)
	}
	dev.host = host
	if created {
		undo.push(host.Close)
	} else {
		// An adopted interface keeps the routes and rules it came with.
		undo.push(func() error { host.Release(); return nil })
	}
	if err := host.SetAddresses(want.addresses); err != nil {
		return fail(err)
	}
	if err := host.SetGateway(want.gateway); err != nil {
		return fail(err)
	}
	return dev, nil
}

// configure changes the settings of a configured interface to want: those
// of the interface, then the routes its addresses imply, then the
// gateway. On error everything is as before.
func (d *device) configure(want ifaceConfig, logger *slog.Logger) error {
	old, oldSelf := d.iface, d.self
	var undo undoStack
	fail := func(err error) error {
		if uerr := undo.run(); uerr != nil {
			logger.Error("wgkernel: undoing a failed Configure", "name", want.name, "err", uerr)
		}
		d.iface, d.self = old, oldSelf
		return err
	}
	if err := d.configureWith(want, &undo); err != nil {
		return fail(err)
	}
	if !slices.Equal(want.addresses, old.addresses) {
		if err := d.host.SetAddresses(want.addresses); err != nil {
			return fail(err)
		}
		undo.push(func() error { return d.host.SetAddresses(old.addresses) })
	}
	if !hostroute.SameGateway(want.gateway, old.gateway) {
		if err := d.host.SetGateway(want.gateway); err != nil {
			return fail(err)
		}
		undo.push(func() error { return d.host.SetGateway(old.gateway) })
	}
	return nil
}

// ifaceState is the interface as read from the kernel.
type ifaceState struct {
	privateKey hostapi.PrivateKey
	listenPort uint16
	addresses  []netip.Prefix
	mtu        int
	up         bool
	peers      []hostapi.PeerConfig
}

// configureWith reads the interface, validates want against it, and
// changes what differs, recording the inverse of each step in undo. On
// success the device's view (settings, own key, peers) is updated.
func (d *device) configureWith(want ifaceConfig, undo *undoStack) error {
	cur, err := d.read()
	if err != nil {
		return err
	}
	var self hostapi.Key // zero without an identity
	if !want.privateKey.IsZero() {
		self = hostapi.Key(wgtypes.Key(want.privateKey).PublicKey())
	}
	if !self.IsZero() && slices.ContainsFunc(cur.peers, func(p hostapi.PeerConfig) bool { return p.PublicKey == self }) {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "wgkernel: the new private key's public key %s is a peer's", self)
	}

	var kc wgtypes.Config
	var undoKC wgtypes.Config
	if want.privateKey != cur.privateKey {
		newKey, oldKey := wgtypes.Key(want.privateKey), wgtypes.Key(cur.privateKey)
		kc.PrivateKey, undoKC.PrivateKey = &newKey, &oldKey
	}
	if want.listenPort != 0 && want.listenPort != cur.listenPort {
		newPort, oldPort := int(want.listenPort), int(cur.listenPort)
		kc.ListenPort, undoKC.ListenPort = &newPort, &oldPort
	}
	if kc.PrivateKey != nil || kc.ListenPort != nil {
		if err := d.wg.ConfigureDevice(want.name, kc); err != nil {
			if errors.Is(err, unix.EADDRINUSE) {
				return hostapi.Errorf(hostapi.CodeConflict, "wgkernel: listen port %d is in use", want.listenPort)
			}
			return sysErr("setting key and port of "+want.name, err)
		}
		undo.push(func() error { return d.wg.ConfigureDevice(want.name, undoKC) })
	}

	if want.mtu != cur.mtu {
		if err := d.nl.LinkSetMTU(d.link, want.mtu); err != nil {
			return sysErr(fmt.Sprintf("setting MTU %d on %s", want.mtu, want.name), err)
		}
		old := cur.mtu
		undo.push(func() error { return d.nl.LinkSetMTU(d.link, old) })
	}

	if !slices.Equal(want.addresses, cur.addresses) {
		// Recorded first: setAddresses can fail half-way, and restoring the
		// old list works from any state.
		undo.push(func() error { return d.setAddresses(cur.addresses) })
		if err := d.setAddresses(want.addresses); err != nil {
			return err
		}
	}

	if !cur.up {
		if err := d.nl.LinkSetUp(d.link); err != nil {
			return sysErr("bringing up "+want.name, err)
		}
		undo.push(func() error { return d.nl.LinkSetDown(d.link) })
	}

	d.iface = want
	d.self = self
	d.peers = hostapi.NewPeerSet(cur.peers...)
	return nil
}

// read reads the interface's settings and peers from the kernel.
func (d *device) read() (ifaceState, error) {
	wd, err := d.wg.Device(d.iface.name)
	if err != nil {
		return ifaceState{}, sysErr("reading WireGuard device "+d.iface.name, err)
	}
	link, err := d.nl.LinkByIndex(d.link.Attrs().Index)
	if err != nil {
		return ifaceState{}, sysErr("reading interface "+d.iface.name, err)
	}
	addrs, err := d.addresses()
	if err != nil {
		return ifaceState{}, err
	}
	st := ifaceState{
		privateKey: hostapi.PrivateKey(wd.PrivateKey),
		listenPort: uint16(wd.ListenPort),
		addresses:  addrs,
		mtu:        link.Attrs().MTU,
		up:         link.Attrs().Flags&net.FlagUp != 0,
		peers:      make([]hostapi.PeerConfig, 0, len(wd.Peers)),
	}
	for _, p := range wd.Peers {
		st.peers = append(st.peers, hostapi.PeerConfig{
			PublicKey:           hostapi.Key(p.PublicKey),
			Endpoint:            udpAddrPort(p.Endpoint),
			AllowedIPs:          prefixes(p.AllowedIPs),
			PersistentKeepalive: p.PersistentKeepaliveInterval,
		})
	}
	return st, nil
}

// setAddresses makes the interface's addresses exactly want. Removals come
// first and the additions are computed afresh after them: removing a
// subnet's primary address also removes the secondaries beside it, which
// may be wanted ones.
func (d *device) setAddresses(want []netip.Prefix) error {
	cur, err := d.addresses()
	if err != nil {
		return err
	}
	for _, a := range cur {
		if slices.Contains(want, a) {
			continue
		}
		if err := d.nl.AddrDel(d.link, linkAddr(a)); err != nil {
			return sysErr(fmt.Sprintf("removing address %s from %s", a, d.iface.name), err)
		}
	}
	if cur, err = d.addresses(); err != nil {
		return err
	}
	for _, a := range want {
		if slices.Contains(cur, a) {
			continue
		}
		if err := d.nl.AddrAdd(d.link, linkAddr(a)); err != nil {
			return sysErr(fmt.Sprintf("adding address %s to %s", a, d.iface.name), err)
		}
	}
	return nil
}

// addresses returns the interface's addresses, sorted, without IPv6
// link-local ones (the kernel's, not the core's).
func (d *device) addresses() ([]netip.Prefix, error) {
	list, err := netlinkdump.Retry(func() ([]netlink.Addr, error) { return d.nl.AddrList(d.link, netlink.FAMILY_ALL) })
	if err != nil {
		return nil, sysErr("listing addresses of "+d.iface.name, err)
	}
	var out []netip.Prefix
	for _, a := range list {
		p, ok := ipNetPrefix(a.IPNet)
		if !ok || p.Addr().IsLinkLocalUnicast() && p.Addr().Is6() {
			continue
		}
		out = append(out, p)
	}
	slices.SortFunc(out, comparePrefix)
	return out, nil
}

// linkAddr is the netlink form of an interface address. IPv6 addresses
// skip duplicate address detection: a point-to-point tunnel has no one to
// collide with, and a tentative address could not be used at once.
func linkAddr(p netip.Prefix) *netlink.Addr {
	a := &netlink.Addr{IPNet: prefixIPNet(p)}
	if p.Addr().Is6() {
		a.Flags = unix.IFA_F_NODAD
	}
	return a
}
