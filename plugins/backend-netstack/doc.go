// Package netstack is the rootless Rustynet backend: wireguard-go on an
// embedded gVisor network stack, with no TUN device and no privileges. The
// host reaches the mesh through local proxies and forwards (SOCKS5 with
// CONNECT and UDP ASSOCIATE, HTTP CONNECT, TCP and UDP forwards); the mesh
// reaches the host only through the ports it exposes, and, on a subnet
// router or exit node, through the gateway. Names are resolved by DNS
// servers inside the mesh, or not at all.
//
// # Routes
//
// There is no OS interface, so the routes of hostapi.Backend.ApplyRoutes
// decide what the proxies and forwards may reach: the subnets the
// addresses imply and the routes given (link.reaches, over a routeSet that
// answers in time proportional to the prefix lengths in use, not to the
// routes: a route per peer is the common case). A proxy or forward to any
// other destination fails at once, before a packet is sent (errNoRoute:
// SOCKS5 reply 3, HTTP 502); one that is routed but does not answer fails
// after the dial timeout (SOCKS5 reply 6, HTTP 504), or as the peer says
// (refused: reply 5). Everything the stack sends goes to wireguard-go,
// which picks the peer by the longest allowed IP and drops what no peer
// claims, replies to inbound connections included. Before the first
// ApplyRoutes only the addresses' own subnets are reachable; the daemon
// routes every peer's allowed IPs, and tests do the same (connect in
// helpers_test.go).
//
// A default route (an exit client's 0.0.0.0/0 and ::/0) covers every
// destination except host-scoped ones (loopback, link-local, multicast,
// unspecified: hostScoped); a route that names such a prefix covers it.
// The one rule is covers (routes.go), which the gateway uses too.
//
// # Gateway
//
// With InterfaceConfig.Gateway set, the node forwards for its peers as a
// userspace subnet router or exit node does (gateway.go). The link hands
// TCP and UDP packets whose destination is not one of its addresses but
// lies in a gateway prefix to a second gVisor stack, promiscuous and
// allowed to spoof source addresses, whose forwarders terminate each flow;
// the host then dials the real destination and the two are relayed. A TCP
// connection is accepted on the mesh side only once the host's dial has
// worked: a target that refuses or cannot be reached gives the client a
// reset. UDP flows are pairs of connected sockets that end after udpIdle.
// Both are bounded in number (maxGatewayTCP, maxGatewayUDP). Packets to
// destinations outside every gateway prefix, and every other protocol
// (ICMP echo included), are dropped. An exit (a /0 prefix) never forwards
// to a host-scoped address (a connection to one gets a reset) nor to the
// node's own addresses (which stay the stack's). Because the host opens
// the forwarded connections from its own address, Masquerade has no
// further effect. The second stack keeps the two roles apart:
// forwarded flows never reach the exposes, which listen on any address,
// and packets to the node's own addresses (exposed ports only, as without
// a gateway) never reach the forwarders.
//
// A later Configure that changes the prefixes closes the forwarded flows
// they no longer allow; one without Gateway closes them all and removes the
// second stack. Peers and their sessions are untouched either way.
//
// # Locking
//
// Backend.mu serialises Configure, ApplyRoutes and Close; peer calls go to
// wgdev.Device, which has its own lock. Lock order: Backend.mu, then
// link.mu (held for reading while Write delivers packets, so a change of
// gateway waits for deliveries in flight), then gateway.mu, then
// service.mu. Code running inside gVisor's packet delivery (the UDP
// forwarder) takes only service.mu.
package netstack
