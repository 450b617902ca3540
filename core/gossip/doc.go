// Package gossip is how members keep each other current without a feed:
// each node serves its trusted head, its log and any evidence of a fork
// on a small read-only HTTP service on its mesh address (SPEC §13), and
// asks a few random peers for theirs every round. A node that hears of a
// newer head fetches the entries it lacks from that peer and hands them
// to its ledger, which verifies them against the trusted chain exactly as
// it verifies a feed; a peer whose entry conflicts with the node's own is
// offered to the ledger as a possible fork; evidence a peer holds is
// fetched and verified the same way. Nothing received changes state
// unless it verifies: the transport is untrusted, and the service only
// ever reads.
//
// Where it runs: on the mesh, and only there. A backend with an OS
// interface carries it on the interface (the agent listens on its mesh
// addresses and dials peers' directly); a userspace backend relays it
// through two private Unix sockets (hostapi.MeshService). Either way a
// connection arrives only through WireGuard, from a peer, and passes the
// packet filter, which admits the service's port from every active member
// and from no one else whatever the policy says (policy.Options
// MeshServicePort). Nothing else is served on that port.
//
// The protocol, HTTP/1.1 with JSON, GET only:
//
//	GET /v1/head              Head: network, epoch, state root, digest of the last update, evidence held
//	GET /v1/log?from=N        the portable log (membership.EncodeLog) of the entries of epochs N, N+1, …,
//	                          at most MaxBatch of them
//	GET /v1/evidence?name=N   the evidence file named N in the head (membership.Evidence.Encode), 404 if none
//
// Bounds, on both sides: requests are GET with no body and headers of at
// most 4 KiB, read within 5 s; at most MaxConcurrent requests are served
// at once and RequestsPerSecond on average (bursts of Burst), else 503;
// responses are bounded (a head at 4 KiB, a log batch and an evidence file
// at the membership limits) and the client reads no more than those
// bounds, each request within its deadline.
package gossip
