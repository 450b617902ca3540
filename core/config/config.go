package config

import (
	"log/slog"
	"net/netip"
	"net/url"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/paths"
	"github.com/rustynet/rustynet/hostapi"
)

// Config is a node's configuration with every default filled in and every
// path absolute. The zero value is not useful; start from Default, Parse or
// Load.
type Config struct {
	// File is the configuration file it was read from; empty for Default.
	File string

	Node       Node
	Membership Membership
	Store      Store
	Backend    Backend
	Proxy      Proxy
	Routing    Routing
	Control    Control
	Daemon     Daemon
	Log        Log
	Metrics    Metrics

	src *source // positions for Validate's errors; nil for Default
}

// Node is the [node] table: who this node is and where it keeps its state.
type Node struct {
	ID             string // the node's id in the membership
	PrivateKeyFile string // WireGuard private key in `wg genkey` format
	StateDir       string // the store's directory
	HighWaterFile  string // the ledger's high-water mark, outside StateDir
}

// Membership is the [membership] table: the pinned network and where
// updates come from.
type Membership struct {
	GenesisFile  string          // the signed genesis update
	GenesisRoot  membership.Hash // never zero: it pins the network
	Feed         Feed            // zero: no feed
	FeedMirrors  []Feed          // further locations of the feed, tried in turn; only with Feed
	FeedInterval time.Duration   // > 0
	MaxClockSkew time.Duration   // >= 0
	// MaxUpdateAge is how old the newest trusted update may be before the
	// node reports itself stale; 0 (the default) never.
	MaxUpdateAge time.Duration // >= 0
	// SyncPort is the TCP port, on the node's mesh addresses, of the
	// exchange of heads with peers (core/gossip); 0 turns it off.
	SyncPort     uint16
	SyncInterval time.Duration // > 0
}

// Feed is where signed updates are fetched from: at most one of URL and Dir
// is set. The transport is untrusted; the node verifies what it fetches.
type Feed struct {
	URL *url.URL // an http or https URL of the feed's head or single-file log (docs/feed.md)
	Dir string   // an absolute directory holding the feed (head.json, or log.json)
}

// IsZero reports whether no feed is configured.
func (f Feed) IsZero() bool { return f.URL == nil && f.Dir == "" }

// String returns the URL or directory, or "" for no feed.
func (f Feed) String() string {
	if f.URL != nil {
		return f.URL.String()
	}
	return f.Dir
}

// StoreKind names a store implementation.
type StoreKind string

// Store kinds.
const (
	StoreFile   StoreKind = "file"
	StoreSQLite StoreKind = "sqlite"
)

// Store is the [store] table.
type Store struct {
	Kind StoreKind
	// Plugin is the plugin executable; "" means the built-in plugin, served
	// by the daemon's own binary in plugin mode.
	Plugin string
	// PluginSHA256 pins Plugin: lower-case hex SHA-256, or "" for no pin.
	PluginSHA256 string
}

// BackendKind names a backend, or "auto" for the first that works.
type BackendKind string

// Backend kinds.
const (
	BackendAuto     BackendKind = "auto" // probe wgkernel, then wgtun, then netstack
	BackendNetstack BackendKind = "netstack"
	BackendWGTun    BackendKind = "wgtun"
	BackendWGKernel BackendKind = "wgkernel"
)

// Backend is the [backend] table.
type Backend struct {
	Kind         BackendKind
	Plugin       string // as Store.Plugin
	PluginSHA256 string // as Store.PluginSHA256
	// Interface is the interface name; "" lets the backend choose.
	Interface string
	// ListenPort is the WireGuard UDP port; 0 lets the backend choose.
	ListenPort uint16
	// MTU of the tunnel, 1280–65535 (1420 unless configured).
	MTU int
	// PersistentKeepalive for every peer, whole seconds; 0 = off.
	PersistentKeepalive time.Duration
	// UAPI exposes the standard WireGuard UAPI socket, so that `wg show`
	// works, on backends that have one (wgtun).
	UAPI bool
}

// Proxy is the [proxy] table: how a host without a tunnel interface reaches
// the mesh (netstack backend only).
type Proxy struct {
	SOCKS5           netip.AddrPort // zero = off
	HTTP             netip.AddrPort // zero = off
	DNS              []netip.Addr
	AllowNonLoopback bool // listeners may bind non-loopback addresses
	Forwards         []hostapi.Forward
	Exposes          []hostapi.Expose
	// Username and PasswordFile, both or neither, make the SOCKS5 and HTTP
	// proxies ask every client for this username and the password held in
	// PasswordFile (ReadProxyPassword); a proxy listening on a non-loopback
	// address needs them.
	Username     string
	PasswordFile string
}

// Routing is the [routing] table: which signed routes this node uses and
// serves. Local settings can only opt out of what the signed membership
// allows, never add to it.
type Routing struct {
	// AcceptRoutes routes the prefixes subnet routers (nodes tagged
	// "router") serve, through them.
	AcceptRoutes bool
	// ExitNode is the id of the node (tagged "exit") to send internet
	// traffic through; "" for none.
	ExitNode string
	// Serve forwards for peers what this node's signed record allows: its
	// routes if it is tagged "router", everything if it is tagged "exit".
	Serve bool
	// Masquerade rewrites the source of forwarded traffic to this host's
	// address, so the networks behind it need no route back to the mesh.
	Masquerade bool
}

// Control is the [control] table: the local control API's endpoint.
type Control struct {
	// Socket is the Unix socket path, or the named pipe on Windows.
	Socket string
	// Group is a Unix group whose members may use the control API besides
	// root and the daemon's own user; "" for none.
	Group string
}

// Daemon is the [daemon] table: how the node agent behaves as a service.
type Daemon struct {
	// ExitOnBrokenPlugin makes `rustynet daemon` exit (status 3) once a
	// plugin has crash-looped and its breaker opened, so that a service
	// manager restarts the whole node. Off, the daemon keeps running,
	// reports itself degraded and retries the plugin for ever at a bounded
	// rate.
	ExitOnBrokenPlugin bool
}

// Bounds of the files a configuration names, read with inputfile.
const (
	// MaxFileBytes bounds a configuration file.
	MaxFileBytes = 1 << 20
	// MaxKeyFileBytes bounds a private key file: a WireGuard key is 45
	// bytes, an approver's PEM key about 120.
	MaxKeyFileBytes = 16 << 10
)

// Log is the [log] table.
type Log struct {
	Level  slog.Level
	Format LogFormat
}

// LogFormat is how the daemon writes its log lines.
type LogFormat string

// Log formats.
const (
	LogText LogFormat = "text" // slog's key=value lines
	LogJSON LogFormat = "json" // one JSON object per line
)

// Metrics is the [metrics] table: the opt-in Prometheus endpoint, with
// /healthz beside it.
type Metrics struct {
	// Listen is the HTTP listener's address; zero (the default) serves no
	// endpoint. A loopback address unless AllowNonLoopback.
	Listen           netip.AddrPort
	AllowNonLoopback bool
}

// DefaultMTU is the tunnel MTU when none is configured.
const DefaultMTU = 1420

// DefaultSyncPort is [membership] sync_port unless set: the TCP port of
// the exchange of heads with peers on the mesh.
const DefaultSyncPort = 51871

// Default returns the configuration of an empty file: every default set, the
// required keys ([node] id and private_key_file, [membership] genesis_file
// and genesis_root) empty. StateDir, HighWaterFile and Control.Socket come
// from the process's default layout (paths.Current: system locations for
// root, the XDG directories for a user); if a user layout has no state
// directory (no HOME, no XDG_STATE_HOME), they are empty and Parse reports
// node.state_dir as required.
func Default() *Config { return defaultIn(currentLayout()) }

// defaultIn is Default in layout l.
func defaultIn(l paths.Layout) *Config {
	c := defaults(l)
	_ = c.fillDerived(l)
	return c
}

// defaults returns the defaults in layout l before the settings derived
// from others.
func defaults(l paths.Layout) *Config {
	c := &Config{
		Membership: Membership{FeedInterval: 5 * time.Second, MaxClockSkew: 5 * time.Minute, SyncPort: DefaultSyncPort, SyncInterval: 5 * time.Second},
		Store:      Store{Kind: StoreFile},
		Backend:    Backend{Kind: BackendNetstack, MTU: DefaultMTU, UAPI: true},
		Routing:    Routing{AcceptRoutes: true, Serve: true, Masquerade: true},
		Proxy:      Proxy{SOCKS5: netip.AddrPortFrom(netip.AddrFrom4([4]byte{127, 0, 0, 1}), 1080)},
		Log:        Log{Level: slog.LevelInfo, Format: LogText},
	}
	c.Node.StateDir = l.StateDir
	return c
}

// ProxyConfig returns the proxy settings in the backend contract's form, or
// nil if none is set; with proxy.username set it reads the password
// (ReadProxyPassword), whose error it returns. The daemon passes it only
// to a backend advertising hostapi.BackendCapProxy.
func (c *Config) ProxyConfig() (*hostapi.ProxyConfig, error) {
	p := c.Proxy
	if !p.SOCKS5.IsValid() && !p.HTTP.IsValid() && len(p.DNS) == 0 && len(p.Forwards) == 0 && len(p.Exposes) == 0 {
		return nil, nil
	}
	pc := &hostapi.ProxyConfig{
		SOCKS5:   p.SOCKS5,
		HTTP:     p.HTTP,
		Forwards: append([]hostapi.Forward(nil), p.Forwards...),
		Exposes:  append([]hostapi.Expose(nil), p.Exposes...),
		DNS:      append([]netip.Addr(nil), p.DNS...),
	}
	if p.Username != "" {
		pass, err := c.ReadProxyPassword()
		if err != nil {
			return nil, err
		}
		pc.Auth = &hostapi.ProxyAuth{Username: p.Username, Password: pass}
	}
	return pc, nil
}
