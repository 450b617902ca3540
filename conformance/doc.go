// Package conformance is the suite every Rustynet plugin must pass (SPEC
// §9): the rules of the hostapi contract as cases a machine can check
// against a running plugin, across the real gRPC boundary.
//
// # Cases
//
// A Case is a plain value: a stable ID ("store.durable.kill"), a level (Must
// or Should), what it needs (capability flags the plugin advertises, or
// needs of the harness such as a process of its own to SIGKILL), a one-line
// rule, and a function of a context and an Env. StoreCases and BackendCases
// return the suites; each begins with the process cases (handshake, stdout
// hygiene, version negotiation, unknown calls, shutdown, host death, host
// leaks). A plugin conforms when every MUST case that runs passes.
//
// # One engine, three ways to reach a plugin
//
// The engine (RunStoreSuite, RunBackendSuite) runs each case with a fresh
// Env, which starts plugin instances on demand and removes everything the
// case made when it ends. It reaches a plugin
//
//   - in process: StoreTarget.New (BackendTarget.New), served through
//     hostapi.ServeStoreTest or ServeBackendTest, a real gRPC connection
//     inside this process;
//   - as a binary: StoreTarget.Binary, launched with hostapi.LaunchStore or
//     LaunchBackend exactly as the daemon launches it; the process cases
//     and the SIGKILL cases need this;
//   - reattached: StoreTarget.Reattach, a plugin someone started in
//     reattach mode (hostapi.EnvReattach), e.g. under a debugger, reached
//     through hostapi.ReattachStore or ReattachBackend, one connection per
//     instance; the suite cannot launch, kill or inspect that process, so
//     the cases that need to skip, and backends run on Loopback only.
//
// Backends run in the nodes of a Topology: Loopback (this host's network)
// or Namespaces (a network namespace each, for backends with an OS
// interface), so that two instances (three, for the longest-match case)
// carry real WireGuard traffic between them; BackendTarget.Reference adds
// interop with another backend.
//
// # What the backend cases pin
//
// Peer changes follow hostapi.PeerSet.Plan, checked through the plugin
// boundary: overlapping allowed IPs of different peers are accepted and
// traffic takes the longest match (backend.peers.overlap,
// backend.traffic.longest-match); every input Plan refuses fails with
// INVALID_ARGUMENT and leaves State as it was (backend.invalid.*).
//
// Routes (backend.routes.*, BackendCapRoutes; without it ApplyRoutes must
// answer UNSUPPORTED) change by difference and read back sorted in
// State.Routes, without the prefixes the interface's addresses imply. For
// a backend with an OS interface the suite also reads the routing table of
// the instance's namespace (netlink: the route lookup `ip route get` does)
// and installs a route of its own to the same prefix, which the backend
// must leave alone. Traffic to an address in a peer's routed subnet reaches
// the peer only while the route is there. A default route is refused with
// UNSUPPORTED or carries an exit's traffic without a routing loop: the
// peer's endpoint is then reached only through the namespace's own default
// route, which the backend's default route displaces.
//
// A gateway (backend.gateway.*, BackendCapGateway; without it Configure
// with a Gateway must answer UNSUPPORTED) forwards a peer's traffic to a
// host on a network behind the node: in Namespaces a namespace of its own
// joined to the node, on Loopback this host's own address dialled by the
// host. The host must see the gateway's address with Masquerade, nothing
// must pass to a destination the gateway does not serve, and nothing at
// all once Configure drops the gateway.
//
// The packet filter (backend.filter.*) is not a capability a backend may
// lack: SPEC §7 puts policy enforcement in every backend's data plane, so
// the cases are MUST without a capability gate, and a backend that does
// not advertise BackendCapPacketFilter or answers UNSUPPORTED fails them.
// With real traffic to a node that filters what its peer sends, they check
// that a new TCP or UDP connection no rule admits is dropped, an admitted
// one passes with its replies, connections the filtering node opens get
// their replies without a rule, ICMP echo passes only by an ICMP rule
// (backends with an OS interface: proxies cannot send ICMP), IPv6 is
// filtered like IPv4, and a filter change keeps an admitted connection and
// cuts one the new rules deny.
//
// # What the store cases pin
//
// Besides the hostapi.Store contract clause by clause (lifecycle, append
// index and limits, reads, snapshots, durability and atomicity across
// SIGKILL, the lock, permissions), three SHOULD cases (store.corrupt.*)
// damage a closed store's files, knowing nothing of its layout: a store
// that keeps checksums reports CORRUPT instead of other bytes. The
// kill-during-writes cases kill a writer Options.CrashIterations times,
// sometimes while it still opens the store.
//
// Truncate (store.truncate.*, StoreCapTruncate; a store without it is not
// asked) removes the suffix above its argument and a snapshot beyond it,
// refuses to go beyond the head, and changes nothing at the head. Beside an
// appender and readers it never lets a read see a hole, and a SIGKILL in
// the middle of one (store.truncate.kill, a random delay into a Truncate
// up to 1.5 times as long as an uninterrupted one took) leaves an intact,
// contiguous prefix of the old log no shorter than the argument, and no
// snapshot beyond its head.
//
// # Front ends
//
// RunStore and RunBackend run the suite from a plugin author's Go tests,
// one subtest per case; an optional Options holds the plugin to the SHOULD
// cases too (Strict) or sets CrashIterations. Main is the command line (`rustynet conformance`,
// and the standalone command in cmd/rustynet-conformance), which writes a
// text, JSON or JUnit Report and exits 0, 1 or 2; Run is the same for a
// host that reports errors itself. The text report streams: a TextStream
// fed by Options.Started and Options.Progress writes each case's line as
// the case ends, and the finished Report's WriteText writes the same text
// at once. The package itself never imports package testing.
//
// docs/plugin-authors.md is the guide; testdata/broken holds deliberately
// broken plugins that the package's tests use to prove the suite fails
// them, each exactly in the cases that observe its defect (on Loopback, and
// in Namespaces as root for the route defects only an OS interface shows).
package conformance
