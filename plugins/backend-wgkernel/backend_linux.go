package wgkernel

import (
	"context"
	"errors"
	"log/slog"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
	"golang.zx2c4.com/wireguard/wgctrl/wgtypes"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/readgroup"
	"github.com/rustynet/rustynet/plugins/internal/hostroute"
)

// Backend is the kernel WireGuard backend. Create it with New; the zero
// value is not usable. Its methods are safe for concurrent use; those that
// touch the device run one at a time, RemovePeers ahead of the others.
//
// The network namespace the first Configure runs in is the backend's: its
// netlink sockets are opened there, and the interface and its UDP socket
// live there, whatever thread later calls come from.
type Backend struct {
	logger *slog.Logger
	serial serializer
	reads  readgroup.Group[hostapi.InterfaceState] // concurrent States share one read; taken before serial

	// Guarded by serial: only the operation holding it reads or writes
	// these.
	closed bool
	dev    *device // nil until the first Configure succeeds
}

// device is a configured interface and the handles that reach it.
type device struct {
	nl    *netlink.Handle
	wg    wgClient
	link  netlink.Link
	host  *hostroute.Link  // routes into the interface, and its gateway
	iface ifaceConfig      // as last configured
	self  hostapi.Key      // the interface's public key
	peers *hostapi.PeerSet // as last configured
}

// wgClient is the part of *wgctrl.Client the backend uses. Tests wrap it
// to make the kernel refuse a message part-way through a change.
type wgClient interface {
	Device(name string) (*wgtypes.Device, error)
	ConfigureDevice(name string, cfg wgtypes.Config) error
	Close() error
}

// New returns a Backend that logs to logger (nil discards). It touches
// nothing until Configure.
func New(logger *slog.Logger) *Backend {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Backend{logger: logger}
}

// lock waits for the device (urgent: ahead of waiting normal operations)
// and checks that the backend is configured and open. On success the
// caller must call b.serial.release.
func (b *Backend) lock(ctx context.Context, urgent bool) (*device, error) {
	if err := b.serial.acquire(ctx, urgent); err != nil {
		return nil, hostapi.Errorf(hostapi.CodeUnavailable, "wgkernel: %v", err)
	}
	switch {
	case b.closed:
		b.serial.release()
		return nil, hostapi.Errorf(hostapi.CodeClosed, "wgkernel: backend is closed")
	case b.dev == nil:
		b.serial.release()
		return nil, hostapi.Errorf(hostapi.CodeClosed, "wgkernel: backend is not configured")
	}
	if err := ctx.Err(); err != nil {
		b.serial.release()
		return nil, hostapi.Errorf(hostapi.CodeUnavailable, "wgkernel: %v", err)
	}
	return b.dev, nil
}

// SetFilter replaces the packet filter on packets from peers (see
// hostapi.Backend.SetFilter) with nftables rules in the interface's table,
// replaced atomically with the rest of it (hostroute.Link.SetFilter): the
// rules judge every packet arriving on the interface, to the host (input)
// and forwarded (forward), but those in the reply direction of their
// connection. Connections are the kernel's conntrack, with its bounds and
// timeouts (net.netfilter.nf_conntrack_max, nf_conntrack_*_timeout). A
// filter beyond hostroute.MaxFilterElements set elements, or an invalid
// one, fails with ErrInvalidArgument; a kernel without nftables or its
// sets of concatenated ranges (Linux 5.6) with ErrUnsupported. Nothing
// changes on error.
func (b *Backend) SetFilter(ctx context.Context, f hostapi.Filter) error {
	dev, err := b.lock(ctx, false)
	if err != nil {
		return err
	}
	defer b.serial.release()
	return dev.host.SetFilter(f)
}

// Close removes the interface and releases the netlink handles. It is
// idempotent; after it every method but Info, Probe and Close fails with
// ErrClosed.
func (b *Backend) Close(ctx context.Context) error {
	if err := b.serial.acquire(ctx, false); err != nil {
		return hostapi.Errorf(hostapi.CodeUnavailable, "wgkernel: %v", err)
	}
	defer b.serial.release()
	if b.closed {
		return nil
	}
	b.closed = true
	dev := b.dev
	b.dev = nil
	if dev == nil {
		return nil
	}
	// What the interface does not take with it goes first: policy rules,
	// the nftables table, forwarding settings.
	hostErr := dev.host.Close()
	err := dev.nl.LinkDel(dev.link)
	var notFound netlink.LinkNotFoundError
	if errors.As(err, &notFound) || errors.Is(err, unix.ENODEV) {
		err = nil // already gone
	}
	if err != nil {
		err = sysErr("deleting interface "+dev.iface.name, err)
	}
	b.logger.Info("wgkernel: interface removed", "name", dev.iface.name)
	dev.close()
	return errors.Join(hostErr, err)
}

// close releases the device's handles. The hostroute.Link is closed
// before, by whoever removes what it added.
func (d *device) close() {
	if d.wg != nil {
		_ = d.wg.Close()
	}
	if d.nl != nil {
		d.nl.Close()
	}
}
