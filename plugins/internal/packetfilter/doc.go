// Package packetfilter is a stateful packet filter for the userspace
// backends: it enforces a hostapi.Filter on the packets a WireGuard device
// delivers from its peers, as hostapi.Backend.SetFilter states, in pure Go
// on raw IPv4 and IPv6 packets. plugins/internal/wgdev puts one between
// wireguard-go and the TUN device or network stack it writes to. The
// kernel backend enforces the same filter with nftables; Cells gives it
// the filter in the disjoint form its sets need, so that both backends
// read a hostapi.Filter through one implementation of its rules.
//
// # What passes
//
// Before the first Set every packet passes. Once a filter is set, a packet
// from a peer passes if
//
//   - it opens a connection a rule admits (PassNew): a TCP SYN (without
//     ACK, RST or FIN), a UDP datagram, an ICMP or ICMPv6 echo request, or
//     a packet of any other protocol, from a source in a rule's Src to a
//     destination in its Dst, with the rule's Proto and, for TCP and UDP, a
//     destination port in its Ports. ProtoAny covers every protocol, and
//     of ICMP what ProtoICMP does: echo requests. A ProtoAny rule with
//     Ports limits TCP and UDP to those ports and leaves the others open,
//     as FilterRule's wording says;
//   - it belongs to a tracked connection (PassTracked), in either
//     direction: one a peer opened and a rule admitted, or one opened from
//     this side by a packet to a peer (ToPeer) — the node's own, or, on a
//     gateway, a host's behind it;
//   - it is an ICMP error (destination unreachable, packet too big, time
//     exceeded, parameter problem) quoting a packet of a tracked
//     connection, sent back to that packet's source (PassRelated);
//   - it is a later fragment of a datagram whose first fragment passed
//     (PassFragment).
//
// Everything else is dropped, with a Verdict that says why. ICMP messages
// that are neither echo nor errors (redirects, router advertisements,
// timestamps) never pass once a filter is set; a WireGuard tunnel carries
// no neighbour discovery.
//
// # Parsing
//
// parse reads the IPv4 header with its options, or the IPv6 header and its
// extension headers (hop-by-hop, routing, fragment, destination options;
// at most 8), then the TCP, UDP or ICMP header. A packet whose headers are
// truncated or inconsistent is dropped, and so are packets whose
// destination is not the final one (an IPv4 loose or strict source route,
// an IPv6 routing header with segments left) and IPv6 packets with
// IPv4-mapped addresses: a filter judging them by their destination would
// be judging the wrong one.
//
// # Fragments
//
// A first fragment carries the transport header: it is judged like a whole
// packet, and it must hold the whole header (20 bytes of TCP, 8 of UDP or
// ICMP; RFC 1858's tiny-fragment rule, and RFC 7112's whole header chain
// for IPv6). Later fragments carry no ports, so they cannot be judged by
// the rules: a later fragment passes only if its datagram's first fragment
// passed (same addresses and identification, and for IPv4 protocol) within
// FragmentTimeout; one that starts inside the transport header's bytes is
// dropped (RFC 1858's overlap rule), so it cannot rewrite the ports the
// first fragment was judged by. The stack reassembles what passes. A later
// fragment that arrives before its first fragment is dropped, and with it
// the datagram: senders send fragments in order, and wireguard-go keeps
// a peer's packets in order. The datagram table holds at most
// Config.MaxFragments datagrams (DefaultMaxFragments) and, when full,
// forgets the oldest, which can only drop fragments; Set empties it.
//
// # Connection tracking
//
// Connections are tracked by protocol, addresses and ports (an ICMP echo
// by its identifier; other protocols by addresses alone) in a table of at
// most Config.MaxConns connections (DefaultMaxConns, 65,536: about 8 MiB),
// in 64 shards with a lock each, so that wireguard-go's per-peer writers
// rarely wait for each other. Each connection ends after an idle timeout
// that depends on its state (the *Timeout constants: TCP 60 s in its
// handshake, 2 h 4 min established, 2 min after a FIN, 10 s after an RST;
// UDP 30 s one way, 3 min both ways; ICMP echo 30 s; other protocols
// 60 s and 10 min). Expired connections are removed when met, and a full
// shard sweeps itself at most once a second.
//
// A full shard makes room only by dropping a connection that has never
// been answered (a TCP handshake, one-way UDP or another protocol, an ICMP
// echo) or was reset: losing one can only cut it, never let anything in.
// Established and answered connections are never evicted. With no room, a
// new connection from a peer is dropped (DropTableFull: the table fails
// closed) and a new one to a peer is not tracked, so its replies are
// dropped too; both are counted (Stats) and logged at most once a minute.
//
// TCP follows the handshake (SYN, SYN-ACK, ACK) loosely, without sequence
// numbers: the peer is authenticated by WireGuard and bound to its allowed
// IPs, so it can only disturb its own connections. A new connection must
// start with a SYN; a SYN over a connection closed by FIN or RST starts a
// new one (judged anew when it comes from a peer).
//
// # Changing the filter
//
// Set compiles the new rules, swaps them in, then walks the table: every
// connection a peer opened that the new rules do not admit is cut. A cut
// TCP or ICMP connection is forgotten (a peer's further packets no longer
// open one); a cut UDP or other one is kept, marked cut, so that packets
// this side keeps sending on it do not reopen it as a connection "opened
// from this side" whose replies would pass — its peer's packets are judged
// as new ones, and pass again only if a rule admits them. Connections
// opened from this side are kept. A new connection from a peer is judged
// with its shard locked and the rules loaded under that lock, so none
// admitted by the old rules slips past the walk.
//
// # Matching
//
// The rules compile into a ruleSet (rules.go): every dimension — source
// and destination per family, destination port per protocol — is cut into
// elementary intervals, each with the bitset of the rules covering it, and
// a packet is admitted when the bitsets of its source, destination and
// port share a rule. A lookup is three binary searches and an AND over a
// bit per rule: well under a microsecond at 1,000 rules (see the
// benchmarks). Only packets that open a connection, and Set's walk, look
// at the rules; the rest of a connection's packets cost one map lookup in
// their shard.
package packetfilter
