// Package wgtun is the wgtun backend: wireguard-go on a real TUN device of
// the operating system — /dev/net/tun on Linux, utun on macOS, Wintun on
// Windows. It assigns the node's addresses and MTU, brings the interface up,
// routes prefixes into it, and can expose a UAPI socket so that
// `wg show` from wireguard-tools reads the interface.
//
// Lifecycle: New → Probe (optional) → Configure, which creates the
// interface → ApplyPeers, RemovePeers, State, ApplyRoutes and later
// Configure calls, concurrently if need be → Close, which removes the
// interface and everything the backend added to the host beside it.
// Peers are driven through plugins/internal/wgdev, shared with the netstack
// backend; this package owns the TUN device and the operating system's view
// of it.
//
// Routes (BackendCapRoutes) are applied by difference and only ever touch
// routes this backend installed. On Linux they are
// plugins/internal/hostroute's, shared with the wgkernel backend: every
// route carries the routing protocol hostroute.Protocol (77), which is how
// a route of the backend's is told from anyone else's with the same prefix,
// and State.Routes is read back from the kernel. A default route
// (0.0.0.0/0, ::/0) is routed the way wg-quick does it: wireguard-go's
// sockets carry a firewall mark (UAPI fwmark), the default route lives in a
// routing table of its own, and policy rules keep the marked, encrypted
// packets and the host's more specific routes out of it. On macOS and
// Windows routes go through route(8) and the IP Helper API, and a default
// route fails with ErrUnsupported: nothing there keeps the tunnel's own
// packets out of it.
//
// Gateway (BackendCapGateway, Linux only): InterfaceConfig.Gateway makes
// the node a subnet router or exit. hostroute turns on IP forwarding as the
// gateway's prefixes need and installs an nftables table for the
// interface that forwards packets from peers only to those prefixes,
// optionally masquerading them; without a gateway the same table drops
// whatever the host would forward from the interface. On macOS and Windows
// a gateway fails with ErrUnsupported.
//
// Packet filter (BackendCapPacketFilter, every platform): SetFilter puts
// the userspace stateful filter of plugins/internal/packetfilter between
// wireguard-go and the TUN device (plugins/internal/wgdev), the same one
// the netstack backend uses. It judges every packet from a peer before it
// is written to the TUN device, so the host's stack — and, on a gateway,
// its forwarding — never sees what the filter drops, and it sees every
// packet the host sends into the tunnel, so replies to the host's own
// connections pass. On Linux nftables could do the same (as the wgkernel
// backend does), but wireguard-go already holds every packet in userspace:
// one filter for all three platforms, with the netstack backend's
// semantics exactly, and no dependence on the host's conntrack, its
// modules or other firewalls.
//
// The backend acts in the network namespace of its process: run it in a
// namespace by starting the process there (`ip netns exec`), not by moving
// one thread, because wireguard-go opens its UDP sockets from its own
// goroutines whenever the interface comes up.
package wgtun
