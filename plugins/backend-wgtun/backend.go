package wgtun

import (
	"context"
	"log/slog"
	"sync"

	"github.com/rustynet/rustynet/hostapi"
	buildversion "github.com/rustynet/rustynet/internal/version"
)

// Name is the backend's name in BackendInfo and in configuration.
const Name = "wgtun"

// Interface guards.
var _ hostapi.Backend = (*Backend)(nil)

// Backend is the wgtun hostapi.Backend. Create it with New; the zero value
// is not usable. Its methods follow the hostapi.Backend contract.
type Backend struct {
	log *slog.Logger

	// life guards closed and ifc. The first Configure and Close hold it for
	// writing; every other method holds it for reading, so peer changes run
	// concurrently with each other (wgdev serialises them, removals first)
	// and with interface changes.
	life   sync.RWMutex
	closed bool
	ifc    *iface // nil before the first successful Configure

	// osMu serialises changes to the operating system's side of the
	// interface (later Configure calls and ApplyRoutes) and reads of it
	// (State), and guards the records of them in ifc.
	osMu sync.Mutex
}

// New returns a backend that has created nothing yet. A nil logger
// discards logs. Logs never contain key material.
func New(logger *slog.Logger) *Backend {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Backend{log: logger.With("backend", Name)}
}

// Info describes the backend. PacketFilter is advertised everywhere (the
// filter is in wireguard-go's path to the TUN device); Gateway on Linux
// only.
func (b *Backend) Info(ctx context.Context) (hostapi.BackendInfo, error) {
	if err := ctx.Err(); err != nil {
		return hostapi.BackendInfo{}, hostapi.Errorf(hostapi.CodeUnavailable, "info: %v", err)
	}
	return hostapi.BackendInfo{
		Name:         Name,
		Version:      version(),
		Capabilities: capabilities,
		Privileges:   hostapi.Privileges{Root: true, TUN: true},
	}, nil
}

// version is the build's version (internal/version), as `rustynet
// version` prints it.
func version() string { return buildversion.Get().String() }

// Probe reports whether a TUN device can be created here, without creating
// one: nil, or ErrPermission / ErrUnsupported saying why not.
func (b *Backend) Probe(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return hostapi.Errorf(hostapi.CodeUnavailable, "probe: %v", err)
	}
	return probe()
}

// Configure creates the interface on the first call: a TUN device with
// cfg.Name (empty: the platform's default pattern), cfg.Addresses and
// cfg.MTU, up, with a wireguard-go device using cfg.PrivateKey and
// cfg.ListenPort, the UAPI socket if cfg.UAPI, and on Linux the forwarding
// rules of cfg.Gateway (see plugins/internal/hostroute; without a gateway,
// a guard that drops whatever the host would forward from the interface).
// Later calls change the key, port, MTU, addresses, UAPI socket and
// gateway in place, keeping peers and their sessions (a new private key
// ends sessions, as in WireGuard); the name cannot change. cfg.Proxy fails
// with ErrUnsupported, and so does cfg.Gateway except on Linux; a gateway
// on a host without nftables or forwarding fails with ErrUnsupported or
// ErrPermission. On error nothing has changed.
func (b *Backend) Configure(ctx context.Context, cfg hostapi.InterfaceConfig) error {
	if err := ctx.Err(); err != nil {
		return hostapi.Errorf(hostapi.CodeUnavailable, "configure: %v", err)
	}
	b.life.RLock()
	if b.closed {
		b.life.RUnlock()
		return hostapi.ErrClosed
	}
	if err := validateConfig(cfg); err != nil {
		b.life.RUnlock()
		return err
	}
	if b.ifc != nil {
		defer b.life.RUnlock()
		b.osMu.Lock()
		defer b.osMu.Unlock()
		return b.ifc.update(ctx, cfg)
	}
	b.life.RUnlock()

	b.life.Lock()
	defer b.life.Unlock()
	switch {
	case b.closed:
		return hostapi.ErrClosed
	case b.ifc != nil:
		// Another first Configure won the race: this one is an update.
		b.osMu.Lock()
		defer b.osMu.Unlock()
		return b.ifc.update(ctx, cfg)
	}
	ifc, err := createIface(ctx, cfg, b.log)
	if err != nil {
		return err
	}
	b.ifc = ifc
	return nil
}

// withIface runs fn with the read lock held, or returns ErrClosed before
// Configure or after Close.
func (b *Backend) withIface(ctx context.Context, fn func(*iface) error) error {
	if err := ctx.Err(); err != nil {
		return hostapi.Errorf(hostapi.CodeUnavailable, "%v", err)
	}
	b.life.RLock()
	defer b.life.RUnlock()
	if b.closed || b.ifc == nil {
		return hostapi.ErrClosed
	}
	return fn(b.ifc)
}

// ApplyPeers applies c by difference (see hostapi.Backend): updated peers
// keep their sessions; the resulting set is validated before anything
// changes.
func (b *Backend) ApplyPeers(ctx context.Context, c hostapi.PeerChanges) error {
	return b.withIface(ctx, func(ifc *iface) error { return ifc.dev.ApplyPeers(c) })
}

// RemovePeers removes these peers at once, before queued peer changes;
// their packets are dropped from the moment it returns.
func (b *Backend) RemovePeers(ctx context.Context, keys []hostapi.Key) error {
	return b.withIface(ctx, func(ifc *iface) error { return ifc.dev.RemovePeers(keys) })
}

// State reads back the interface: its name, public key, listen port, the
// configured addresses present on the interface now, the routes in effect
// (sorted), and every peer with live statistics, sorted by public key.
func (b *Backend) State(ctx context.Context) (hostapi.InterfaceState, error) {
	var st hostapi.InterfaceState
	err := b.withIface(ctx, func(ifc *iface) (err error) {
		b.osMu.Lock()
		defer b.osMu.Unlock()
		st, err = ifc.state(ctx)
		return err
	})
	return st, err
}

// ApplyRoutes changes the routes into the interface by difference (see
// hostapi.Backend); it touches only routes this backend installed. On
// Linux a default route (0.0.0.0/0 or ::/0) is routed the way wg-quick
// does it, keeping the tunnel's own UDP packets out of it with a socket
// mark (see plugins/internal/hostroute); elsewhere it fails with
// ErrUnsupported.
func (b *Backend) ApplyRoutes(ctx context.Context, c hostapi.RouteChanges) error {
	return b.withIface(ctx, func(ifc *iface) error {
		b.osMu.Lock()
		defer b.osMu.Unlock()
		return ifc.routing.apply(ctx, c)
	})
}

// SetFilter replaces the packet filter on packets from peers (see
// hostapi.Backend.SetFilter). The filter is the userspace one between
// wireguard-go and the TUN device (wgdev.Device.SetFilter, and
// plugins/internal/packetfilter for its bounds and timeouts): a packet it
// drops is never written to the TUN device, so neither the host nor, on a
// gateway, anything the host forwards to sees it; every packet the host
// sends into the tunnel passes through it too, so that replies to
// connections the host (or a host behind a gateway) opened pass. Errors:
// hostapi.ErrInvalidArgument (nothing changed); before Configure and after
// Close hostapi.ErrClosed, like every method.
func (b *Backend) SetFilter(ctx context.Context, f hostapi.Filter) error {
	return b.withIface(ctx, func(ifc *iface) error { return ifc.dev.SetFilter(f) })
}

// Close removes what the backend added to the host beside the interface
// (policy rules, the nftables table, forwarding settings it changed, which
// go back to what they were), then the interface (and with it its
// addresses and routes), stops the UAPI socket and releases every socket,
// file and goroutine. It is idempotent; afterwards every method but Info
// and Probe returns ErrClosed.
func (b *Backend) Close(ctx context.Context) error {
	b.life.Lock()
	defer b.life.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	if b.ifc == nil {
		return nil
	}
	err := b.ifc.close()
	b.ifc = nil
	return err
}
