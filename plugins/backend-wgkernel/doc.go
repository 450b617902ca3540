// Package wgkernel is the Rustynet data-plane backend for Linux kernel
// WireGuard. It creates the interface over rtnetlink
// (github.com/vishvananda/netlink), configures it over WireGuard's generic
// netlink family (golang.zx2c4.com/wireguard/wgctrl), and sets addresses
// and MTU over rtnetlink. It implements hostapi.Backend.
//
// Peers are applied by difference: a peer that is updated keeps its
// session. Every change is validated as a whole before the device is
// touched, by hostapi.PeerSet (allowed IPs of different peers may overlap,
// the same prefix on two peers may not), and a change that fails part-way
// (the kernel takes large peer sets in several netlink messages) is rolled
// back to the peer set before it, so the device never holds a peer the
// core did not ask for.
//
// Routes and forwarding are plugins/internal/hostroute's, shared with the
// wgtun backend: routes into the interface carry the routing protocol
// hostroute.Protocol (77) and only those are ever changed or removed; a
// default route lives in a routing table of its own behind policy rules,
// and the kernel's WireGuard sockets carry the matching firewall mark
// (wgctrl's FirewallMark), so the tunnel's own packets stay out of it, as
// with wg-quick. A gateway (InterfaceConfig.Gateway) turns on IP forwarding
// and installs an nftables table that forwards from the interface only to
// the gateway's prefixes, optionally masquerading; without a gateway the
// table drops whatever the host would forward from the interface.
//
// The interface survives the plugin's process: a restarted plugin whose
// Configure names an existing WireGuard interface adopts it, peers,
// sessions, routes and default-route policy included (all read back from
// the kernel), and the core's next difference brings it in line. Close
// removes the interface and everything the backend added beside it; the
// forwarding settings it changed go back to what they were. (What they
// were before an earlier process changed them is not known to a restarted
// one: after a crash, forwarding a gateway turned on stays on.)
//
// The packet filter (SetFilter) is nftables in the same table, through
// hostroute: an input chain and the forward chain send every packet from
// the interface that is not in the reply direction of its connection
// through the filter's rules, held in sets of concatenated ranges (Linux
// 5.6 or later), so that a filter change cuts at once what it no longer
// admits. Connection tracking is the kernel's. A restarted plugin that
// adopts a filtered interface keeps it filtered, admitting nothing new,
// until the core sets the filter again.
//
// Capabilities: BackendCapPeerStats, BackendCapRoutes, BackendCapGateway
// and BackendCapPacketFilter. Kernel WireGuard needs no UAPI socket
// (`wg show` reads the kernel), so InterfaceConfig.UAPI is refused like
// every field the backend does not implement.
//
// On other systems New returns a Backend whose Probe and Configure fail
// with ErrUnsupported.
package wgkernel
