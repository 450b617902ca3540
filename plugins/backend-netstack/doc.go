// Package netstack is the rootless Rustynet backend: wireguard-go on an
// embedded gVisor network stack, with no TUN device and no privileges. The
// host reaches the mesh through local proxies and forwards (SOCKS5 with
// CONNECT and UDP ASSOCIATE, an HTTP proxy with CONNECT and plain http://
// requests, TCP and UDP forwards); the mesh reaches the host only through
// the ports it exposes, and, on a subnet router or exit node, through the
// gateway.
//
// # Names and credentials
//
// The proxies and forwards resolve the mesh's own names first
// (hostapi.ProxyConfig.Hosts and Domain, which the daemon fills from
// trusted membership: "n2" and "n2.<network id>"), case-insensitively,
// then any other name through the DNS servers inside the mesh, or not at
// all (names.go, mesh.lookup). With hostapi.ProxyConfig.Auth, every
// SOCKS5 client must authenticate with username and password (RFC 1929)
// and every HTTP request carry Basic credentials in Proxy-Authorization
// (else 407); the check takes the same time whatever a client sends
// (credentials.go). Only proxies with credentials may listen on
// non-loopback addresses. New credentials restart the proxies, ending the
// sessions the old ones admitted.
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
// # Limits
//
// Every listener of the proxy set (SOCKS5, HTTP, each forward and expose)
// holds at most proxyLimits.conns connections or UDP sessions
// (limits.go). A SOCKS5 or HTTP client must send its request within
// headerTimeout, and an HTTP request line and header may take at most
// headerBytes (else 431). At the limit, the oldest connection still in its
// request (or, for HTTP, idle between two requests) is closed to make
// room, so slow clients cannot starve a client that asks at once; with
// none in its request, a new connection is reset and a new UDP session's
// datagram dropped. The HTTP proxy is net/http's server on the same
// admission (serviceListener) and forwards plain requests with
// httputil.ReverseProxy, one connection into the mesh per request. A SOCKS5 request read whole
// but malformed gets reply 1 (general failure), an unknown address type
// reply 8.
//
// # Removed peers
//
// A removal (RemovePeers, or ApplyPeers removing a peer or taking away
// allowed IPs) ends every flow relayed to or from an address the change
// leaves to no peer, or to another peer (revoke.go): host TCP connections
// of the proxies, forwards and exposes are reset, mesh sockets closed, UDP
// sessions ended. Which peer serves a far end is read from the peer set
// wgdev.Device configures wireguard-go through (Device.Owners), before
// and after the change.
//
// # Locking
//
// Backend.mu serialises Configure, ApplyRoutes and Close, and the ending
// of a removed peer's flows after a peer call; peer calls go to
// wgdev.Device, which has its own lock. Lock order: Backend.mu, then
// link.mu (held for reading while Write delivers packets, so a change of
// gateway waits for deliveries in flight), then gateway.mu, then
// service.mu. Device.Owners takes the device's lock after Backend.mu
// (as Configure does), never with link.mu, gateway.mu or service.mu
// held. Code running inside gVisor's packet delivery (the
// UDP forwarder) takes only service.mu.
package netstack
