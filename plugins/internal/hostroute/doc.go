// Package hostroute is the host's side of a mesh interface's routing, for
// the backends with an OS interface (wgtun, wgkernel): which prefixes the
// host routes into the interface, and what the host forwards out of it on
// behalf of peers.
//
// The portable part (Plan, Apply) is the one implementation of "routes by
// difference": the routes a backend installs are those ApplyRoutes asked
// for, less the prefixes the interface's addresses already route
// (hostapi.ImpliedRoutes), changed by difference with every step undone if
// a later one fails. wgtun on macOS and Windows drives it with route(8) and
// the IP Helper API.
//
// On Linux, Link does all of it for one interface, through rtnetlink
// (github.com/vishvananda/netlink), nftables (github.com/google/nftables)
// and the forwarding sysctls:
//
//   - Owned routes. Every route and policy rule a Link installs carries the
//     routing protocol Protocol (77), and a Link lists, changes and removes
//     only routes of its interface with that tag: a route someone else
//     installed, even with the same prefix and interface, is never touched.
//     Routes go into the main table with metric Metric, so that a route of
//     the host's own to the very same prefix (metric 0 for IPv4, 256 or
//     1024 for IPv6) keeps precedence and neither add nor remove fails on
//     it. The kernel is the record: a Link opened on an interface that an
//     earlier Link (a plugin since restarted) configured finds its routes
//     there.
//
//   - Default routes (0.0.0.0/0, ::/0: a client's route to an exit node),
//     the way wg-quick does them. The tunnel's own UDP packets carry a
//     firewall mark (the backend sets it on its sockets), the default route
//     goes into a routing table of its own, and two policy rules per
//     family send everything else there: "not fwmark M lookup main
//     suppress_prefixlength 0" (priority RulePrioritySuppress: the host's
//     routes other than its default route still win, so the LAN and the
//     path to the exit's endpoint stay direct) and "not fwmark M lookup T"
//     (priority RulePriorityLookup). The tunnel's marked packets skip both
//     and follow the host's main table: no routing loop. As wg-quick does,
//     net.ipv4.conf.all.src_valid_mark is set to 1, and the conntrack mark
//     carries M back onto replies (a chain of the nftables table below), so
//     that a strict reverse-path filter accepts them — without nftables a
//     default route is refused (ErrUnsupported) rather than installed to
//     loop; src_valid_mark is left on (it changes nothing for
//     unmarked packets, and another tunnel may rely on it). M and T are one
//     number, MarkBase plus the interface index (MarkOf), so two interfaces
//     in one namespace never share them. Removing the last default route
//     removes the rules, the table's route and the mark.
//
//   - Forwarding (hostapi.GatewayConfig). One nftables table of the inet
//     family per interface, named "rustynet-" and the interface's name,
//     replaced atomically on every change (the packet filter's sets and
//     chains included): its forward chain lets packets
//     that arrive from the interface through only if they belong to a
//     connection opened from elsewhere (ct state established,related) or
//     go to a gateway prefix (never to loopback, link-local, multicast or
//     unspecified addresses), and drops every other packet forwarded from
//     the interface, whatever the host's own forwarding settings allow;
//     with Masquerade, a nat chain masquerades what is forwarded from the
//     interface out of another one. Without a gateway the table still
//     holds the drop (the guard), if nftables is available. A gateway
//     turns on net.ipv4.ip_forward and net.ipv6.conf.all.forwarding as its
//     prefixes need them; a value a Link changed is put back when the
//     gateway goes or the Link closes.
//
//   - Packet filter (hostapi.Backend.SetFilter, for the kernel backend;
//     wgtun filters in userspace). With a filter set, the same table gets
//     an input chain and the forward chain changes: packets from the
//     interface that conntrack finds invalid are dropped; packets in the
//     reply direction of their connection pass (replies to connections
//     the host or a host behind it opened, ICMP errors about them); every
//     other packet — not only a connection's first — must be admitted by
//     the filter's rules, in a regular chain both jump to: a new TCP
//     connection only by a bare SYN, an ICMP error about a connection a
//     peer opened by that connection's original tuple (ct original), the
//     rest by its headers. Judging every packet, not only new ones, is
//     what makes a filter change cut at once the connections it no longer
//     admits, which conntrack would otherwise keep established. The rules
//     are lookups in sets of concatenated ranges (source . destination .
//     protocol . port; Linux 5.6), one set per kind and family, filled from
//     packetfilter.Cells, so a filter of thousands of rules costs one
//     lookup per kind; at most MaxFilterElements elements. Forwarded
//     packets must pass both the gateway's prefixes and the rules. A Link
//     opened on an interface that was filtered keeps filtering, admitting
//     nothing new, until the filter is set again.
//
// Close removes everything a Link added. A Link acts in the network
// namespace of the thread that opened it, whatever thread calls it later.
package hostroute
