package netstack

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"sync"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/version"
	"github.com/rustynet/rustynet/plugins/internal/wgdev"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
)

// Version is the plugin's version, reported by Info: the build's
// (internal/version), as `rustynet version` prints it.
var Version = version.Get().String()

// defaultMTU is the tunnel MTU when InterfaceConfig.MTU is 0.
const defaultMTU = 1420

// minMTU is the smallest MTU accepted: IPv4's minimum, or IPv6's when the
// interface has an IPv6 address.
const (
	minMTU4 = 576
	minMTU6 = 1280
)

// defaultName is what State reports as the interface name when
// InterfaceConfig.Name is empty; there is no OS interface.
const defaultName = "netstack"

// Backend is the netstack hostapi.Backend. Create it with New.
//
// Lifecycle: New (nothing runs) → Configure (creates the stack, the device,
// the proxies and the gateway) → ApplyPeers, RemovePeers, ApplyRoutes,
// State, further Configure → Close. Peer calls do not wait for a Configure
// in progress, and RemovePeers goes before waiting peer changes (see
// wgdev.Device); ApplyRoutes waits for it.
type Backend struct {
	log     *slog.Logger
	newBind func() conn.Bind // conn.NewDefaultBind; tests may replace it
	// dialTimeout bounds a dial into the mesh through the proxies and
	// forwards; tests may shorten it before the first Configure.
	dialTimeout time.Duration
	// limits bound every proxy, forward and expose listener; tests may
	// lower them before the first Configure.
	limits proxyLimits

	// mu serialises Configure, ApplyRoutes and Close and guards the fields
	// below. It is taken before the link's lock, never after.
	mu      sync.Mutex
	closed  bool
	cfg     hostapi.InterfaceConfig // last applied
	link    *link
	dev     *wgdev.Device
	mesh    *mesh
	proxies *proxySet
	gw      *gateway // nil while cfg.Gateway is nil
}

var _ hostapi.Backend = (*Backend)(nil)

// New returns an unconfigured backend that logs to logger (nil: discard).
func New(logger *slog.Logger) *Backend {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Backend{log: logger, newBind: conn.NewDefaultBind, dialTimeout: dialTimeout, limits: defaultProxyLimits}
}

// capabilities are what Info advertises: peer statistics, proxies, routes
// inside the stack (ApplyRoutes), the gateway (InterfaceConfig.Gateway) and
// the packet filter (SetFilter). There is no UAPI socket.
const capabilities = hostapi.BackendCapPeerStats | hostapi.BackendCapProxy | hostapi.BackendCapRoutes | hostapi.BackendCapGateway | hostapi.BackendCapPacketFilter

// Info describes the backend: peer statistics, proxies, routes inside the
// stack, the gateway and the packet filter; no UAPI socket, no privileges.
func (b *Backend) Info(ctx context.Context) (hostapi.BackendInfo, error) {
	return hostapi.BackendInfo{
		Name:         "netstack",
		Version:      Version,
		Capabilities: capabilities,
	}, nil
}

// Probe checks the one thing the backend needs from its host: a UDP socket.
func (b *Backend) Probe(ctx context.Context) error {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return hostapi.Errorf(hostapi.CodeUnsupported, "cannot open a UDP socket: %v", err)
	}
	return pc.Close()
}

// Configure creates the stack, device, proxies and gateway on the first
// call. Later calls change the private key, listen port, addresses, MTU,
// proxies and gateway in place: peers and their sessions survive (a new
// private key expires sessions, as in WireGuard), proxy services whose
// settings did not change keep their connections, and so do forwarded
// connections the new gateway prefixes still allow; a gateway removed
// closes every forwarded connection. There is no OS interface: Name is only
// what State reports (default "netstack"). UAPI is not supported.
// Gateway.Masquerade has no further effect: forwarded connections are
// opened by the host, from its own address, either way.
func (b *Backend) Configure(ctx context.Context, cfg hostapi.InterfaceConfig) error {
	if err := validateConfig(cfg); err != nil {
		return err
	}
	if cfg.MTU == 0 {
		cfg.MTU = defaultMTU
	}
	if cfg.Name == "" {
		cfg.Name = defaultName
	}
	var proxy hostapi.ProxyConfig
	if cfg.Proxy != nil {
		proxy = *cfg.Proxy
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return hostapi.ErrClosed
	}
	if b.dev == nil {
		return b.create(cfg, proxy)
	}

	// Proxies first: binding their ports is what most likely fails. The old
	// services keep running until everything else has worked.
	change, err := b.proxies.prepare(proxy)
	if err != nil {
		return err
	}
	var fresh *gateway // a gateway to start, if cfg adds one
	if cfg.Gateway != nil && b.gw == nil {
		if fresh, err = newGateway(b.log, b.link.outbound(), cfg.MTU, newGatewayPolicy(*cfg.Gateway, cfg.Addresses)); err != nil {
			change.abort()
			return hostapi.Errorf(hostapi.CodeInternal, "%v", err)
		}
	}
	abort := func() {
		change.abort()
		if fresh != nil {
			fresh.close()
		}
	}
	if err := b.link.setAddresses(cfg.Addresses); err != nil {
		abort()
		return hostapi.Errorf(hostapi.CodeInternal, "set addresses: %v", err)
	}
	if err := b.dev.Configure(cfg); err != nil {
		if rerr := b.link.setAddresses(b.cfg.Addresses); rerr != nil {
			b.log.Error("netstack: cannot restore the addresses after a failed Configure", "err", rerr)
		}
		abort()
		return err
	}
	change.commit()
	b.commitGateway(cfg, fresh)
	if err := b.link.setMTU(cfg.MTU); err != nil {
		return hostapi.Errorf(hostapi.CodeInternal, "set MTU: %v", err)
	}
	b.link.setName(cfg.Name)
	b.cfg = cfg
	return nil
}

// create builds everything on the first Configure, and tears it down again
// if any part fails.
func (b *Backend) create(cfg hostapi.InterfaceConfig, proxy hostapi.ProxyConfig) error {
	l, err := newLink(cfg.Name, cfg.Addresses, cfg.MTU)
	if err != nil {
		return hostapi.Errorf(hostapi.CodeInternal, "create network stack: %v", err)
	}
	dev := wgdev.New(l, b.newBind(), b.log)
	if err := dev.Configure(cfg); err != nil {
		dev.Close()
		return err
	}
	var gw *gateway
	if cfg.Gateway != nil {
		if gw, err = newGateway(b.log, l.outbound(), cfg.MTU, newGatewayPolicy(*cfg.Gateway, cfg.Addresses)); err != nil {
			dev.Close()
			return hostapi.Errorf(hostapi.CodeInternal, "%v", err)
		}
	}
	m := newMesh(l, nil, b.dialTimeout)
	proxies := newProxySet(b.log, m, b.limits)
	change, err := proxies.prepare(proxy)
	if err != nil {
		if gw != nil {
			gw.close()
		}
		dev.Close()
		return err
	}
	change.commit()
	l.setGateway(gw)
	b.cfg, b.link, b.dev, b.mesh, b.proxies, b.gw = cfg, l, dev, m, proxies, gw
	return nil
}

// commitGateway makes cfg's gateway current once the rest of a Configure
// has worked: it starts fresh (the gateway cfg adds), stops the gateway cfg
// removes, or gives the running one its new policy (prefixes and own
// addresses), which closes the flows it no longer allows.
func (b *Backend) commitGateway(cfg hostapi.InterfaceConfig, fresh *gateway) {
	switch {
	case cfg.Gateway == nil:
		if b.gw != nil {
			b.link.setGateway(nil)
			b.gw.close()
			b.gw = nil
		}
	case fresh != nil:
		b.gw = fresh
		b.link.setGateway(fresh)
	default:
		b.gw.setPolicy(newGatewayPolicy(*cfg.Gateway, cfg.Addresses))
	}
}

// validateConfig checks everything Configure can check before touching
// anything.
func validateConfig(cfg hostapi.InterfaceConfig) error {
	if cfg.PrivateKey.IsZero() {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "zero private key")
	}
	if cfg.UAPI {
		return hostapi.Errorf(hostapi.CodeUnsupported, "netstack has no UAPI socket")
	}
	minMTU := minMTU4
	seen := make(map[netip.Addr]bool)
	for _, p := range cfg.Addresses {
		if !p.IsValid() || p.Addr().Is4In6() || p.Addr().IsUnspecified() || p.Addr().IsMulticast() || p.Addr().Zone() != "" {
			return hostapi.Errorf(hostapi.CodeInvalidArgument, "invalid interface address %s", p)
		}
		if seen[p.Addr()] {
			return hostapi.Errorf(hostapi.CodeInvalidArgument, "interface address %s given twice", p.Addr())
		}
		seen[p.Addr()] = true
		if p.Addr().Is6() {
			minMTU = minMTU6
		}
	}
	if cfg.MTU != 0 && (cfg.MTU < minMTU || cfg.MTU > device.MaxContentSize) {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "MTU %d: want %d..%d", cfg.MTU, minMTU, device.MaxContentSize)
	}
	if cfg.Gateway != nil {
		if err := hostapi.CheckGateway(*cfg.Gateway); err != nil {
			return err
		}
	}
	if cfg.Proxy != nil {
		return validateProxy(*cfg.Proxy)
	}
	return nil
}

// device returns the configured device, or ErrClosed.
func (b *Backend) device() (*wgdev.Device, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.dev == nil {
		return nil, hostapi.ErrClosed
	}
	return b.dev, nil
}

// ApplyPeers applies a peer difference (see hostapi.Backend and
// wgdev.Device.ApplyPeers). Connections proxied to or from an address that
// the change leaves to no peer, or to another peer, are ended before it
// returns, as by RemovePeers.
func (b *Backend) ApplyPeers(ctx context.Context, c hostapi.PeerChanges) error {
	dev, err := b.device()
	if err != nil {
		return err
	}
	before := b.farOwnersBefore(dev)
	if err := dev.ApplyPeers(c); err != nil {
		return err
	}
	b.cutLostFlows(dev, before)
	return nil
}

// RemovePeers removes peers at once; their packets are dropped before it
// returns (see wgdev.Device.RemovePeers), and so are the connections
// proxied to or from their allowed IPs: the proxies' and forwards' clients
// on the host see a reset, the exposes' and gateway's targets too, and UDP
// sessions end.
func (b *Backend) RemovePeers(ctx context.Context, keys []hostapi.Key) error {
	dev, err := b.device()
	if err != nil {
		return err
	}
	before := b.farOwnersBefore(dev)
	if err := dev.RemovePeers(keys); err != nil {
		return err
	}
	b.cutLostFlows(dev, before)
	return nil
}

// State reads back the interface and its peers with live statistics, and
// the routes set by ApplyRoutes (sorted; none that the addresses imply).
func (b *Backend) State(ctx context.Context) (hostapi.InterfaceState, error) {
	b.mu.Lock()
	if b.closed || b.dev == nil {
		b.mu.Unlock()
		return hostapi.InterfaceState{}, hostapi.ErrClosed
	}
	dev, l := b.dev, b.link
	b.mu.Unlock()
	st, err := dev.State()
	if err != nil {
		return hostapi.InterfaceState{}, err
	}
	st.Routes = l.routeList()
	return st, nil
}

// RecycleState hands back a State result its caller is done with (see
// hostapi.StateRecycler and wgdev.Device.RecycleState).
func (b *Backend) RecycleState(st hostapi.InterfaceState) {
	if dev, err := b.device(); err == nil {
		dev.RecycleState(st.Peers)
	}
}

// ApplyRoutes changes by difference the routes of the stack, which are all
// the routing there is: the proxies and forwards reach a destination only
// if it is one of the interface's addresses, inside the subnet of one
// (hostapi.ImpliedRoutes), or inside a route, and fail at once for any
// other (SOCKS5 reply 3 "network unreachable", HTTP 502). So it is with
// replies: the stack answers a peer only through a route to it. A default
// route (0.0.0.0/0, ::/0, into an exit node) covers every destination but
// host-scoped ones (loopback, link-local, multicast: see hostScoped),
// which only a route naming them covers; the tunnel's own packets never
// pass through the stack, so they cannot loop.
//
// Before the first ApplyRoutes the stack routes only what its addresses
// imply: as with an OS interface, a peer is reached through a route to it
// (the daemon routes every peer's allowed IPs). Routes the addresses imply
// are not recorded; those recorded stay while Configure changes the
// addresses. Errors: hostapi.ErrInvalidArgument from
// hostapi.CheckRouteChanges (nothing changed), hostapi.ErrClosed.
func (b *Backend) ApplyRoutes(ctx context.Context, c hostapi.RouteChanges) error {
	if len(c.Add)+len(c.Remove) >= wgdev.BulkChange {
		defer debug.FreeOSMemory() // after the unlock below: as wgdev's ApplyPeers
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed || b.dev == nil {
		return hostapi.ErrClosed
	}
	if err := hostapi.CheckRouteChanges(c); err != nil {
		return err
	}
	b.link.applyRoutes(c)
	return nil
}

// SetFilter replaces the packet filter on packets from peers (see
// hostapi.Backend.SetFilter). It sits between wireguard-go and the link
// (wgdev.Device.SetFilter, plugins/internal/packetfilter for its bounds and
// timeouts): a packet it drops reaches neither the stack, so no expose and
// no proxied connection sees it, nor the gateway's stack, so nothing is
// forwarded for it; the packets the stack and the gateway send to peers
// pass through it too, so that replies to connections opened from this
// side — the proxies' and forwards' dials, and the gateway's hosts' — pass.
// Errors: hostapi.ErrInvalidArgument (nothing changed), hostapi.ErrClosed.
func (b *Backend) SetFilter(ctx context.Context, f hostapi.Filter) error {
	dev, err := b.device()
	if err != nil {
		return err
	}
	return dev.SetFilter(f)
}

// Close stops the proxies, the gateway and every connection of either,
// closes the device, its UDP socket and the stack, and waits for every
// goroutine. It is idempotent.
func (b *Backend) Close(ctx context.Context) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil
	}
	b.closed = true
	if b.dev == nil {
		return nil
	}
	b.proxies.close()
	if b.gw != nil {
		b.link.setGateway(nil)
		b.gw.close()
	}
	if err := b.dev.Close(); err != nil {
		return fmt.Errorf("close device: %w", err)
	}
	return nil
}
