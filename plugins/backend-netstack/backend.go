// Package netstack is the rootless Rustynet backend: wireguard-go on an
// embedded gVisor network stack, with no TUN device and no privileges. The
// host reaches the mesh through local proxies and forwards (SOCKS5 with
// CONNECT and UDP ASSOCIATE, HTTP CONNECT, TCP and UDP forwards); the mesh
// reaches the host only through the ports it exposes. Names are resolved by
// DNS servers inside the mesh, or not at all.
package netstack

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"sync"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/wgdev"
	"golang.zx2c4.com/wireguard/conn"
	"golang.zx2c4.com/wireguard/device"
)

// Version is the backend's version, reported by Info.
const Version = "0.1.0"

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
// Lifecycle: New (nothing runs) → Configure (creates the stack, the device
// and the proxies) → ApplyPeers, RemovePeers, State, further Configure →
// Close. Peer calls do not wait for a Configure in progress, and RemovePeers
// goes before waiting peer changes (see wgdev.Device).
type Backend struct {
	log     *slog.Logger
	newBind func() conn.Bind // conn.NewDefaultBind; tests may replace it

	// mu serialises Configure and Close and guards the fields below.
	mu      sync.Mutex
	closed  bool
	cfg     hostapi.InterfaceConfig // last applied
	link    *link
	dev     *wgdev.Device
	mesh    *mesh
	proxies *proxySet
}

var _ hostapi.Backend = (*Backend)(nil)

// New returns an unconfigured backend that logs to logger (nil: discard).
func New(logger *slog.Logger) *Backend {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Backend{log: logger, newBind: conn.NewDefaultBind}
}

// Info describes the backend: peer statistics and proxies, no privileges.
func (b *Backend) Info(ctx context.Context) (hostapi.BackendInfo, error) {
	return hostapi.BackendInfo{
		Name:         "netstack",
		Version:      Version,
		Capabilities: hostapi.BackendCapPeerStats | hostapi.BackendCapProxy,
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

// Configure creates the stack, device and proxies on the first call. Later
// calls change the private key, listen port, addresses, MTU and proxies in
// place: peers and their sessions survive (a new private key expires
// sessions, as in WireGuard), and proxy services whose settings did not
// change keep their connections. There is no OS interface: Name is only
// what State reports (default "netstack"). UAPI is not supported.
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
	if err := b.link.setAddresses(cfg.Addresses); err != nil {
		change.abort()
		return hostapi.Errorf(hostapi.CodeInternal, "set addresses: %v", err)
	}
	if err := b.dev.Configure(cfg); err != nil {
		if rerr := b.link.setAddresses(b.cfg.Addresses); rerr != nil {
			b.log.Error("netstack: cannot restore the addresses after a failed Configure", "err", rerr)
		}
		change.abort()
		return err
	}
	change.commit()
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
	m := newMesh(l, nil)
	proxies := newProxySet(b.log, m)
	change, err := proxies.prepare(proxy)
	if err != nil {
		dev.Close()
		return err
	}
	change.commit()
	b.cfg, b.link, b.dev, b.mesh, b.proxies = cfg, l, dev, m, proxies
	return nil
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
// wgdev.Device.ApplyPeers).
func (b *Backend) ApplyPeers(ctx context.Context, c hostapi.PeerChanges) error {
	dev, err := b.device()
	if err != nil {
		return err
	}
	return dev.ApplyPeers(c)
}

// RemovePeers removes peers at once; their packets are dropped before it
// returns (see wgdev.Device.RemovePeers).
func (b *Backend) RemovePeers(ctx context.Context, keys []hostapi.Key) error {
	dev, err := b.device()
	if err != nil {
		return err
	}
	return dev.RemovePeers(keys)
}

// State reads back the interface and its peers with live statistics.
func (b *Backend) State(ctx context.Context) (hostapi.InterfaceState, error) {
	dev, err := b.device()
	if err != nil {
		return hostapi.InterfaceState{}, err
	}
	return dev.State()
}

// ApplyRoutes is unsupported: without an OS interface there is nothing to
// route; the proxies reach every allowed IP of every peer.
func (b *Backend) ApplyRoutes(ctx context.Context, c hostapi.RouteChanges) error {
	if _, err := b.device(); err != nil {
		return err
	}
	return hostapi.Errorf(hostapi.CodeUnsupported, "netstack has no routes: the proxies reach every peer's allowed IPs")
}

// SetFilter is unsupported in this version (no BackendCapPacketFilter): the
// mesh reaches only the exposed ports, but traffic to them is not filtered
// by source.
func (b *Backend) SetFilter(ctx context.Context, f hostapi.Filter) error {
	if _, err := b.device(); err != nil {
		return err
	}
	return hostapi.Errorf(hostapi.CodeUnsupported, "netstack has no packet filter")
}

// Close stops the proxies and their connections, closes the device, its
// UDP socket and the stack, and waits for every goroutine. It is
// idempotent.
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
	if err := b.dev.Close(); err != nil {
		return fmt.Errorf("close device: %w", err)
	}
	return nil
}
