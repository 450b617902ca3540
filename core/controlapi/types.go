package controlapi

import "time"

// Status is what `rustynet status` shows: the node, its trust state, its
// data plane and its peers.
type Status struct {
	Node NodeStatus `json:"node"`
	// Build is the daemon's build: its version and the plugin protocol
	// versions it speaks.
	Build BuildStatus `json:"build"`
	// Health sums up whether the node can do all its work.
	Health  HealthStatus  `json:"health"`
	Trust   TrustStatus   `json:"trust"`
	Backend BackendStatus `json:"backend"`
	Store   PluginStatus  `json:"store"`
	Feed    *FeedStatus   `json:"feed,omitempty"` // nil without a configured feed
	// Sync is the exchange of heads with peers over the mesh; nil when it
	// is off.
	Sync *SyncStatus `json:"sync,omitempty"`
	// Interface is the data-plane interface as the backend reports it; nil
	// if the backend could not be read (the plugin status says why).
	Interface *InterfaceStatus `json:"interface,omitempty"`
	// Peers lists every peer, unless the status was asked for with
	// PeersSummary or PeersNone (then it is empty).
	Peers PeerList `json:"peers"`
	// PeerSummary sums the peers up; only with PeersSummary.
	PeerSummary *PeerSummary `json:"peer_summary,omitempty"`
}

// PeerDetail is how much of the peers a status carries: GET
// /v1/status?peers=all (the default), summary or none. A status of
// 10,000 peers is megabytes of JSON; summary and none are for very large
// meshes and for monitoring.
type PeerDetail string

// Peer details.
const (
	PeersAll     PeerDetail = "all"
	PeersSummary PeerDetail = "summary"
	PeersNone    PeerDetail = "none"
)

// ParsePeerDetail parses a peer detail; "" is PeersAll. Anything else is
// a USAGE error.
func ParsePeerDetail(s string) (PeerDetail, error) {
	switch d := PeerDetail(s); d {
	case "":
		return PeersAll, nil
	case PeersAll, PeersSummary, PeersNone:
		return d, nil
	}
	return "", Errorf(CodeUsage, "peers=%q: want all, summary or none", s)
}

// PeerSummary sums up the peers of a status.
type PeerSummary struct {
	Peers int `json:"peers"`
	// Handshaken counts the peers with a handshake, ever.
	Handshaken int `json:"handshaken"`
	// LatestHandshake is the most recent handshake of any peer; zero if
	// none.
	LatestHandshake time.Time `json:"latest_handshake,omitzero"`
	RxBytes         uint64    `json:"rx_bytes"`
	TxBytes         uint64    `json:"tx_bytes"`
}

// WithPeers returns s carrying the peers as d asks: s itself for
// PeersAll, else a copy with no peers and, for PeersSummary, their sum.
// s is not modified.
func (s Status) WithPeers(d PeerDetail) Status {
	if d == PeersAll || d == "" {
		return s
	}
	if d == PeersSummary {
		sum := &PeerSummary{Peers: len(s.Peers)}
		for _, p := range s.Peers {
			if !p.LastHandshake.IsZero() {
				sum.Handshaken++
				if p.LastHandshake.After(sum.LatestHandshake) {
					sum.LatestHandshake = p.LastHandshake
				}
			}
			sum.RxBytes += p.RxBytes
			sum.TxBytes += p.TxBytes
		}
		s.PeerSummary = sum
	}
	s.Peers = []PeerStatus{}
	return s
}

// Health states.
const (
	HealthOK       = "ok"
	HealthDegraded = "degraded" // the node runs but cannot do all its work; the reasons say what is missing
)

// HealthStatus is the node's health at a glance.
type HealthStatus struct {
	State   string   `json:"state"`             // HealthOK or HealthDegraded
	Reasons []string `json:"reasons,omitempty"` // why it is degraded, one line each
}

// InterfaceStatus is the node's interface: what the backend reports, with
// the routes explained from trusted membership.
type InterfaceStatus struct {
	Name       string    `json:"name"`
	ListenPort uint16    `json:"listen_port"`
	Addresses  []string  `json:"addresses"`
	Routes     RouteList `json:"routes"` // the routes into the interface, by prefix
	// HostRoutes, in a status asked for with PeersSummary or PeersNone,
	// counts the host routes (/32, /128: most often a peer's mesh
	// address) that Routes then leaves out; 0 in a status with every peer,
	// whose Routes lists them all.
	HostRoutes int `json:"host_routes,omitempty"`
	// Exit is the exit node chosen in the configuration; nil if none.
	Exit *ExitStatus `json:"exit,omitempty"`
	// Gateway is what this node forwards for its peers; nil if nothing.
	Gateway *GatewayStatus `json:"gateway,omitempty"`
	// Proxies are the local proxy, forward and expose listeners of a
	// userspace backend, as configured.
	Proxies []ProxyStatus `json:"proxies,omitempty"`
}

// Route kinds in RouteStatus.
const (
	RouteMesh   = "mesh"   // a node's mesh address
	RouteSubnet = "subnet" // a prefix a subnet router serves
	RouteExit   = "exit"   // the default route to the chosen exit node
)

// RouteStatus is one route into the interface.
type RouteStatus struct {
	Prefix string `json:"prefix"`
	Via    string `json:"via"`  // node id of the peer it leads to; "" if no peer has it (yet)
	Kind   string `json:"kind"` // RouteMesh, RouteSubnet or RouteExit
}

// ExitStatus is the configured exit node.
type ExitStatus struct {
	Node string `json:"node"`
	// Active is true when internet traffic goes through Node; otherwise
	// Reason says why not.
	Active bool   `json:"active"`
	Reason string `json:"reason,omitempty"`
}

// GatewayStatus is what the node forwards for its peers.
type GatewayStatus struct {
	Prefixes   []string `json:"prefixes"`
	Masquerade bool     `json:"masquerade"`
	// Reason is set when the membership lets the node serve but it does
	// not, and says why (e.g. the backend cannot forward).
	Reason string `json:"reason,omitempty"`
}

// ProxyStatus is one local listener of a userspace backend.
type ProxyStatus struct {
	Kind   string `json:"kind"`   // "socks5", "http", "forward/tcp", "forward/udp", "expose/tcp", "expose/udp"
	Listen string `json:"listen"` // host address; for an expose, the mesh port
	Target string `json:"target,omitempty"`
	// Auth is true when clients must present the configured username and
	// password (socks5 and http only; forwards and exposes never ask).
	Auth bool `json:"auth"`
}

// NodeStatus identifies the node.
type NodeStatus struct {
	ID        string `json:"id"`
	NetworkID string `json:"network_id"`
	PublicKey string `json:"public_key"` // WireGuard public key, base64
}

// TrustStatus is the node's trusted membership.
type TrustStatus struct {
	Epoch       uint64 `json:"epoch"`
	StateRoot   string `json:"state_root"`   // hex
	GenesisRoot string `json:"genesis_root"` // hex, the pinned root
	// Restricted is true in restricted-safe mode, when the data plane only
	// shrinks and Reason says why.
	Restricted   bool       `json:"restricted"`
	Reason       string     `json:"reason,omitempty"`
	LastRejected *Rejection `json:"last_rejected,omitempty"` // nil if nothing was rejected
	// HighWaterError is why the high-water mark lags the log, while it
	// does (its write failed, on a full disk for example; the daemon
	// retries): rollback detection is weaker meanwhile. Empty otherwise.
	HighWaterError string `json:"high_water_error,omitempty"`
	// PolicyDigest is the hex digest of the signed access policy; empty
	// when the state has none, and then every connection from peers is
	// denied.
	PolicyDigest string `json:"policy_digest,omitempty"`
	// FilterRules is how many rules the packet filter the node enforces
	// has (the policy compiled for this node); 0 admits no connection from
	// peers. -1 before the first filter is in place.
	FilterRules int `json:"filter_rules"`
	// LastUpdateAt is when the newest trusted update (the genesis at
	// first) was created, by its signed created_at; zero if there is none.
	LastUpdateAt time.Time `json:"last_update_at,omitzero"`
	// UpdateAgeSeconds is how old that update is now.
	UpdateAgeSeconds int64 `json:"update_age_seconds"`
	// MaxUpdateAgeSeconds is the configured maximum age
	// ([membership] max_update_age), 0 if none; Stale is true while the
	// newest update is older than that. A stale node keeps its peers.
	MaxUpdateAgeSeconds int64 `json:"max_update_age_seconds,omitempty"`
	Stale               bool  `json:"stale"`
	// Forked is set while the node holds evidence of a fork: it accepts
	// no update (FORKED) and its data plane follows only the fork's floor.
	Forked *ForkStatus `json:"forked,omitempty"`
}

// ForkStatus is the fork a node holds evidence of (docs/forks.md).
type ForkStatus struct {
	// Epoch is the epoch both updates claim; PrevStateRoot the root (hex)
	// of the state both extend.
	Epoch         uint64 `json:"epoch"`
	PrevStateRoot string `json:"prev_state_root"`
	// Updates are the two updates' digests (hex), in the evidence's order.
	Updates []string `json:"updates"`
	// DoubleSigners are the approvers whose valid signatures are on both.
	DoubleSigners []string `json:"double_signers"`
	// Evidence is the evidence file's path ("" if it could not be kept).
	Evidence string `json:"evidence,omitempty"`
	Summary  string `json:"summary"`
	// FloorMembers is how many members (active or revoked) the floor holds.
	FloorMembers int `json:"floor_members"`
	// MoreEvidence is how many further pieces of evidence the node holds
	// (other conflicting updates, other forks); the floor covers them all.
	MoreEvidence int `json:"more_evidence,omitempty"`
}

// BuildStatus identifies the daemon's build (internal/version).
type BuildStatus struct {
	Version   string    `json:"version"`            // module version
	Revision  string    `json:"revision,omitempty"` // VCS commit
	Modified  bool      `json:"modified,omitempty"` // built from a checkout with changes
	Date      time.Time `json:"date,omitzero"`      // build (commit) date
	GoVersion string    `json:"go_version"`
	// Protocols are the plugin protocol versions the daemon speaks.
	Protocols []int `json:"protocols"`
}

// Rejection is an update the node refused.
type Rejection struct {
	Code    string    `json:"code"` // membership error code, e.g. "THRESHOLD_NOT_MET"
	Message string    `json:"message"`
	At      time.Time `json:"at"`
}

// BackendStatus is the data plane.
type BackendStatus struct {
	Name   string       `json:"name"` // "netstack", "wgtun", "wgkernel"
	Plugin PluginStatus `json:"plugin"`
	// Skipped lists the backends `kind = "auto"` tried before Name, and why
	// each was passed over.
	Skipped []SkippedBackend `json:"skipped,omitempty"`
	// Isolated is non-empty when the node must have no peers at all, and
	// says why (revoked, removed, key rotated away, no trusted membership).
	Isolated string `json:"isolated,omitempty"`
}

// SkippedBackend is a backend that auto-selection did not choose.
type SkippedBackend struct {
	Name   string `json:"name"`
	Reason string `json:"reason"`
}

// PluginStatus is a supervised plugin process.
type PluginStatus struct {
	Name  string `json:"name"`
	State string `json:"state"` // "running", "restarting", "broken", "closed"
	// Restarts counts relaunches since the daemon started.
	Restarts  int    `json:"restarts"`
	LastError string `json:"last_error,omitempty"`
	// NextAttempt is, while the plugin is broken (it crash-looped and its
	// breaker is open), when it will be tried again.
	NextAttempt time.Time `json:"next_attempt,omitzero"`
	// MissedPings counts the health checks the running plugin has missed
	// in a row; it is relaunched after a few.
	MissedPings int `json:"missed_pings,omitempty"`
	// Version is what the running plugin's Info reports; empty while it is
	// not running.
	Version string `json:"version,omitempty"`
}

// Feed states.
const (
	FeedPending  = "pending"  // no fetch has ended yet
	FeedOK       = "ok"       // the last fetch brought a log the node accepted
	FeedFailing  = "failing"  // the last fetch failed (unreachable, an HTTP error, too large, cut for stalling); it is retried
	FeedRejected = "rejected" // the last fetch brought a log the node refused (a fork, a rollback, a bad signature)
	FeedStalled  = "stalled"  // the fetch in progress, or the feed, has brought nothing usable for too long
)

// FeedStatus is the configured update feed.
type FeedStatus struct {
	Source string `json:"source"` // URL or directory
	State  string `json:"state"`  // one of the Feed states
	// LastFetch is when the last fetch ended; LastSuccess when a fetch last
	// brought a log the node accepted (applied, or nothing new).
	LastFetch   time.Time `json:"last_fetch,omitzero"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	// FetchingSince is when the fetch in progress began; zero if none is.
	FetchingSince  time.Time `json:"fetching_since,omitzero"`
	LastError      string    `json:"last_error,omitempty"`
	AppliedThrough uint64    `json:"applied_through"` // highest epoch applied from the feed
	// Stalls counts the fetches cut because the source stopped sending or
	// sent too slowly.
	Stalls uint64 `json:"stalls"`
	// Head is the newest epoch the feed named at the last fetch; ServedBy
	// the location (of the feed and its mirrors) that served it.
	Head     uint64 `json:"head,omitempty"`
	ServedBy string `json:"served_by,omitempty"`
	// LastRequests and LastBytes are what the last fetch transferred: one
	// small request, answered "not modified", while the node is at the
	// feed's head.
	LastRequests int   `json:"last_requests"`
	LastBytes    int64 `json:"last_bytes"`
	// Skipped are the locations the last fetch passed over, and why (a
	// failure, or a log the node refused: a rollback, a fork).
	Skipped []FeedSkip `json:"skipped,omitempty"`
	// CatchingUp is the progress of the fetch in progress while it brings
	// entries; nil otherwise.
	CatchingUp *FeedProgress `json:"catching_up,omitempty"`
}

// FeedSkip is a location of the feed a fetch passed over.
type FeedSkip struct {
	Source string `json:"source"`
	Error  string `json:"error"`
}

// FeedProgress is how far a fetch catching up has come: entries verified
// (not yet applied: they are applied together once all verify) from Base
// through Through, of the feed's Head.
type FeedProgress struct {
	Base    uint64 `json:"base"`
	Through uint64 `json:"verified_through"`
	Head    uint64 `json:"head"`
	Bytes   int64  `json:"bytes"`
}

// SyncStatus is the exchange of heads with peers (core/gossip).
type SyncStatus struct {
	Port uint16 `json:"port"` // TCP, on the node's mesh addresses
	// Transport is "interface" (the OS interface carries it) or "backend
	// relay" (a userspace backend relays it).
	Transport string    `json:"transport"`
	Rounds    uint64    `json:"rounds"`
	LastRound time.Time `json:"last_round,omitzero"`
	// Newest is the newest head heard from a peer; nil if none yet.
	Newest *HeardHead `json:"newest_heard,omitempty"`
	// Behind is true when that head is ahead of this node's after the
	// round that heard it: the node could not catch up (LastError says
	// why).
	Behind bool `json:"behind"`
	// Applied counts updates applied from peers; Failures the peers that
	// could not be asked or whose answers were refused.
	Applied   uint64 `json:"applied"`
	Failures  uint64 `json:"failures"`
	LastError string `json:"last_error,omitempty"`
}

// HeardHead is a head heard from a peer.
type HeardHead struct {
	Peer      string    `json:"peer"`
	Epoch     uint64    `json:"epoch"`
	StateRoot string    `json:"state_root"`
	At        time.Time `json:"at"`
}

// PeerStatus is one peer as the backend reports it.
type PeerStatus struct {
	NodeID        string    `json:"node_id"`
	PublicKey     string    `json:"public_key"`         // base64
	Endpoint      string    `json:"endpoint,omitempty"` // IP:port; empty if unknown
	AllowedIPs    []string  `json:"allowed_ips"`
	LastHandshake time.Time `json:"last_handshake,omitzero"` // zero if never
	RxBytes       uint64    `json:"rx_bytes"`
	TxBytes       uint64    `json:"tx_bytes"`
}

// ApplyResult is the outcome of an accepted update (rejections are errors).
type ApplyResult struct {
	// Applied is true when the update is now the trusted state; false for a
	// dry run.
	Applied bool `json:"applied"`
	// AlreadyApplied is true when the node held this very update already
	// (the same body at its epoch: it came from a peer, the feed or an
	// earlier apply): nothing changed, and Epoch and StateRoot are the
	// update's.
	AlreadyApplied bool   `json:"already_applied,omitempty"`
	DryRun         bool   `json:"dry_run"`
	Epoch          uint64 `json:"epoch"`      // the epoch the update produces
	StateRoot      string `json:"state_root"` // hex root the update produces
	// Changes describes what the update does, one line per change.
	Changes []string `json:"changes"`
	// LatencyMicros is the time from receiving the update to the data plane
	// having changed (0 for a dry run).
	LatencyMicros int64 `json:"latency_micros"`
	// DataPlaneError is set when the update was committed but the backend
	// refused the change; the daemon keeps retrying until the data plane
	// matches the trusted state.
	DataPlaneError string `json:"data_plane_error,omitempty"`
}
