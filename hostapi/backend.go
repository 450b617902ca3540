package hostapi

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// Backend is a data plane: one WireGuard-compatible interface and its peers.
// The core computes the desired peer set from trusted membership and drives a
// Backend only with differences; a Backend never decides who is a peer.
//
// Contract, method by method below; in general:
//   - Info and Probe may be called before Configure; every other method
//     except Close returns ErrClosed before Configure or after Close.
//   - A method that returns an error has changed nothing: invalid input is
//     detected before anything is touched, and a failure part-way is rolled
//     back so the device never holds a peer the core did not ask for.
//   - Methods are safe for concurrent use; mutations are serialised.
type Backend interface {
	// Info describes the plugin: name, version, capabilities and the
	// privileges it needs.
	Info(ctx context.Context) (BackendInfo, error)

	// Probe reports whether this backend can work on this host as the
	// plugin's process is running now (platform, privileges, kernel module,
	// TUN device), without creating anything. It returns nil if it can, else
	// an error (usually ErrUnsupported or ErrPermission) whose message says
	// why, for `backend = "auto"` to record.
	Probe(ctx context.Context) error

	// Configure creates the interface (first call) or changes its
	// interface-level settings (later calls) without disturbing existing
	// peers. A field the backend cannot honour (e.g. Proxy without
	// BackendCapProxy) fails with ErrUnsupported.
	Configure(ctx context.Context, cfg InterfaceConfig) error

	// ApplyPeers applies a difference: first every key in c.Remove is
	// removed, then every peer in c.Upsert is added or, if present, updated
	// in place so that its session and handshake survive. The resulting peer
	// set is validated as a whole before anything changes, by the rules of
	// PeerSet.Plan: a zero, duplicate or own key, an allowed IP that is
	// invalid, not masked or IPv4-mapped, a peer without allowed IPs, the
	// same allowed IP on two peers (prefixes may overlap: the longest match
	// wins, as in WireGuard), a bad endpoint or keepalive, or more peers than
	// the backend holds fail with ErrInvalidArgument. Removing an absent
	// key is not an error.
	ApplyPeers(ctx context.Context, c PeerChanges) error

	// RemovePeers removes peers at once: their sessions end and packets from
	// or to them are dropped before RemovePeers returns. Absent keys are
	// ignored. Implementations give it priority over queued work.
	//
	// Removal is the one exception to "an error changed nothing": if it
	// fails part-way, peers already removed stay removed (the data plane
	// only ever shrinks on a removal) and the error says which remain; the
	// caller re-reads State.
	RemovePeers(ctx context.Context, keys []Key) error

	// State reads back the interface and every peer, with live statistics.
	// Peers are sorted by public key. The result is the caller's to read,
	// not to modify: its slices may share memory with the backend's own.
	State(ctx context.Context) (InterfaceState, error)

	// ApplyRoutes changes, by difference, which prefixes the host routes
	// into the interface: first every prefix in c.Remove stops, then every
	// prefix in c.Add starts. Prefixes must pass CheckRoute, else
	// ErrInvalidArgument and nothing changes. Removing a route that is not
	// there, or adding one that is, is not an error; a prefix the
	// interface's addresses already route (ImpliedRoutes) needs no route
	// and is neither installed nor reported. A backend touches only routes
	// it installed itself, never another route with the same prefix, and
	// on error leaves the routes as they were.
	//
	// A default route (0.0.0.0/0 or ::/0, an exit node's) sends every packet
	// that no other route of the host claims into the interface, except
	// the tunnel's own encrypted packets, which keep their path outside it
	// (no routing loop); the host's more specific routes, such as its LAN,
	// keep precedence. A backend that cannot keep its own packets out of a
	// default route fails it with ErrUnsupported.
	//
	// A backend without an OS interface routes inside its own stack: its
	// proxies and forwards reach the routed prefixes and fail at once,
	// as unreachable, for any other destination. Needs BackendCapRoutes,
	// else ErrUnsupported.
	ApplyRoutes(ctx context.Context, c RouteChanges) error

	// SetFilter replaces the packet filter on traffic arriving from peers:
	// to the node itself and, on a gateway, forwarded beyond it. Once set,
	// the filter is default-deny and stateful. A packet from a peer passes
	// if it opens a connection a rule admits (FilterRule), or belongs to a
	// connection already admitted: a later packet of a connection a rule
	// admitted, or a reply to a connection opened from this side (by the
	// node, or by a host behind it through the tunnel). ICMP errors about
	// such a connection pass too. Every other packet is dropped before it
	// reaches the node's stack, the operating system or a forwarded
	// destination. Connections are tracked per protocol, addresses and
	// ports (ICMP echo by identifier) in a table of bounded size with idle
	// timeouts; a backend states its bounds.
	//
	// Replacing the filter keeps the tracked connections the new rules
	// still admit and cuts the others: their next packet from the peer is
	// dropped. An empty Filter admits no new connection from peers. Until
	// the first SetFilter nothing is filtered; a host that wants no gap
	// sets the filter before it adds peers. Invalid rules (FilterRule)
	// fail with ErrInvalidArgument and change nothing. Needs
	// BackendCapPacketFilter, else ErrUnsupported.
	SetFilter(ctx context.Context, f Filter) error

	// Close removes the interface and releases every socket, file and
	// goroutine the backend holds. It is idempotent.
	Close(ctx context.Context) error
}

// BackendInfo describes a backend plugin.
type BackendInfo struct {
	Name         string // e.g. "netstack", "wgtun", "wgkernel"
	Version      string
	Capabilities BackendCapabilities
	Privileges   Privileges
}

// Privileges says what a backend needs from its host.
type Privileges struct {
	Root         bool // needs root / CAP_NET_ADMIN (Administrator on Windows)
	TUN          bool // needs a TUN device (/dev/net/tun, utun, wintun)
	KernelModule bool // needs the kernel's WireGuard implementation
}

// BackendCapabilities are optional backend features, advertised on the wire.
type BackendCapabilities uint64

// Backend capability flags.
const (
	// BackendCapPeerStats: State reports endpoint, last handshake, rx and tx.
	BackendCapPeerStats BackendCapabilities = 1 << iota
	// BackendCapRoutes: ApplyRoutes is supported and State reports Routes.
	BackendCapRoutes
	// BackendCapPacketFilter: SetFilter is supported.
	BackendCapPacketFilter
	// BackendCapProxy: InterfaceConfig.Proxy is supported (userspace stacks
	// that reach the mesh through local proxies and forwards).
	BackendCapProxy
	// BackendCapUAPI: InterfaceConfig.UAPI is supported (`wg show` works).
	BackendCapUAPI
	// BackendCapGateway: InterfaceConfig.Gateway is supported (the node can
	// be a subnet router or an exit node).
	BackendCapGateway
)

// Has reports whether all flags in want are set.
func (c BackendCapabilities) Has(want BackendCapabilities) bool { return c&want == want }

// InterfaceConfig is the interface-level configuration.
type InterfaceConfig struct {
	// Name of the interface; empty lets the backend choose. Userspace stacks
	// without an OS interface ignore it.
	Name       string
	PrivateKey PrivateKey
	// ListenPort is the UDP port; 0 lets the backend choose one, which State
	// then reports.
	ListenPort uint16
	// Addresses are this node's mesh addresses, e.g. 100.64.0.1/32.
	Addresses []netip.Prefix
	// MTU of the tunnel; 0 means 1420.
	MTU int
	// Proxy configures local proxies and forwards (BackendCapProxy).
	Proxy *ProxyConfig
	// UAPI exposes the standard WireGuard UAPI socket (BackendCapUAPI).
	UAPI bool
	// Gateway, if set, makes the node forward traffic from peers beyond
	// itself (BackendCapGateway); nil forwards nothing.
	Gateway *GatewayConfig
}

// GatewayConfig is what a node forwards for its peers: a subnet router
// forwards to the prefixes it serves, an exit node to everything. Packets
// from peers to any other destination that is not the node itself are
// dropped, whatever the host's own forwarding settings say.
type GatewayConfig struct {
	// Prefixes are the destinations forwarded to, each passing CheckRoute;
	// 0.0.0.0/0 and ::/0 make an exit node. An exit never forwards to
	// loopback, link-local, multicast or unspecified addresses.
	Prefixes []netip.Prefix
	// Masquerade rewrites the source address of forwarded traffic to the
	// host's own address on the way out, so the destination network needs
	// no route back to the mesh. A backend without an OS interface opens
	// forwarded connections from the host itself, which has the same
	// effect whatever Masquerade says.
	Masquerade bool
}

// RouteChanges is a difference to apply to the routes into the interface.
type RouteChanges struct {
	Remove []netip.Prefix
	Add    []netip.Prefix
}

// ProxyConfig is how a host without a tunnel interface reaches the mesh and
// how the mesh reaches selected local services.
type ProxyConfig struct {
	SOCKS5 netip.AddrPort // SOCKS5 (CONNECT, UDP ASSOCIATE) listener; zero = off
	// HTTP is the HTTP proxy listener (CONNECT, and requests for
	// absolute http:// URIs); zero = off.
	HTTP     netip.AddrPort
	Forwards []Forward    // local listener → mesh address or name
	Exposes  []Expose     // mesh port → local service (the allow-list)
	DNS      []netip.Addr // resolvers inside the mesh for proxied names
	// Auth, if set, is what every client of the SOCKS5 and HTTP proxies
	// must present (CheckProxyAuth); nil lets every client in, so the
	// proxies may then listen on loopback addresses only.
	Auth *ProxyAuth
	// Hosts are the mesh's own names, from trusted membership: the
	// proxies and forwards resolve a name here first, case-insensitively,
	// and go to DNS only for a name that is not here. Each name passes
	// CheckHostName and appears once; each has at least one address.
	// Builders list them sorted by name, so that equal tables compare
	// equal; a backend does not rely on the order.
	Hosts []Host
	// Domain, if set, is the mesh's own domain (the network id): a name
	// "<host>.<Domain>" resolves as <host> does in Hosts. It passes
	// CheckHostName.
	Domain string
	// MeshService, if set, connects the node agent's own service (the
	// exchange of membership heads between members, core/gossip) to the
	// mesh. A backend with an OS interface needs none of this: the agent
	// listens and dials on the interface itself.
	MeshService *MeshService
}

// MeshService connects the node agent to the mesh on a backend without an
// OS interface, through two Unix sockets private to the agent:
//
//   - Every TCP connection that reaches Port on one of the node's mesh
//     addresses (and passes the packet filter) is relayed to the Unix
//     socket Accept, on which the agent listens.
//   - The backend listens on the Unix socket Dial (created 0600, replacing
//     a stale socket file). On each connection the agent writes one line,
//     the mesh address to reach ("100.64.0.2\n", at most 64 bytes); the
//     backend connects to that address at Port inside the mesh and answers
//     "ok\n" and relays, or answers "error: <why>\n" and closes. Only Port
//     can be reached this way.
//
// Both paths are absolute; Port is not 0 and is not exposed otherwise.
type MeshService struct {
	Port   uint16
	Accept string
	Dial   string
}

// ProxyAuth is a username and password for the proxies: RFC 1929
// username/password authentication for SOCKS5, Basic credentials in
// Proxy-Authorization for HTTP. String never shows the password.
type ProxyAuth struct {
	Username string
	Password string
}

// String names the username only.
func (a ProxyAuth) String() string { return "user " + a.Username + " (password hidden)" }

// GoString is String, so that %#v does not print the password either.
func (a ProxyAuth) GoString() string { return a.String() }

// Host is a name in the mesh and its addresses.
type Host struct {
	Name  string
	Addrs []netip.Addr
}

// Forward listens on a local address and relays to a mesh address.
type Forward struct {
	Proto  Proto          // ProtoTCP or ProtoUDP
	Listen netip.AddrPort // on the host
	// Target is the destination in the mesh. With TargetHost set it holds
	// only the port (netip.AddrPortFrom(netip.Addr{}, port)).
	Target netip.AddrPort
	// TargetHost, if set, names the destination instead of Target's
	// address: a name resolved as the proxies resolve one (Hosts, then
	// DNS) each time a connection or UDP flow begins. It passes
	// CheckHostName and is not an address.
	TargetHost string
}

// Destination is where f relays to, as host:port.
func (f Forward) Destination() string {
	if f.TargetHost != "" {
		return net.JoinHostPort(f.TargetHost, strconv.Itoa(int(f.Target.Port())))
	}
	return f.Target.String()
}

// Expose accepts connections on a mesh port and relays them to a local
// service. Only exposed ports are reachable from the mesh.
type Expose struct {
	Proto    Proto
	MeshPort uint16
	Target   netip.AddrPort // on the host
}

// PeerChanges is a difference to apply to the peer set.
type PeerChanges struct {
	Remove []Key
	Upsert []PeerConfig
}

// PeerConfig is the desired configuration of one peer.
type PeerConfig struct {
	PublicKey Key
	// Endpoint is the peer's UDP address; the zero value leaves it unknown
	// (the peer may still reach us) or, on update, unchanged.
	Endpoint            netip.AddrPort
	AllowedIPs          []netip.Prefix
	PersistentKeepalive time.Duration // 0 = off; whole seconds
}

// InterfaceState is what a backend reports about its interface.
type InterfaceState struct {
	Name       string
	PublicKey  Key
	ListenPort uint16
	Addresses  []netip.Prefix
	// Routes are the prefixes routed into the interface through
	// ApplyRoutes, sorted by netip.Prefix.Compare (BackendCapRoutes).
	Routes []netip.Prefix
	Peers  []PeerState // sorted by PublicKey
}

// PeerState is one peer as the backend sees it now.
type PeerState struct {
	PublicKey           Key
	Endpoint            netip.AddrPort // current (possibly roamed) endpoint
	AllowedIPs          []netip.Prefix
	PersistentKeepalive time.Duration
	LastHandshake       time.Time // zero if never
	RxBytes             uint64
	TxBytes             uint64
}

// Proto is a transport protocol in forwards and filters.
type Proto uint8

// Protocols.
const (
	ProtoAny Proto = iota
	ProtoTCP
	ProtoUDP
	ProtoICMP
)

// Filter is a default-deny packet filter over traffic from peers.
type Filter struct {
	Rules []FilterRule
}

// FilterRule admits connections from any of Src to any of Dst with
// protocol Proto (ProtoAny: every protocol) and, for TCP and UDP, a
// destination port within one of Ports (none: every port). Prefixes must
// pass CheckRoute (valid, masked, not IPv4-mapped); port ranges must not be
// empty (First <= Last); Proto must be one of the Proto constants. A rule
// with no Src or no Dst admits nothing. ProtoICMP covers ICMP and ICMPv6
// echo requests; other ICMP messages pass only as errors about a tracked
// connection.
type FilterRule struct {
	Src   []netip.Prefix
	Dst   []netip.Prefix
	Proto Proto
	Ports []PortRange
}

// PortRange is an inclusive range of ports.
type PortRange struct{ First, Last uint16 }
