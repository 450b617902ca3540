package controlapi

import "time"

// Status is what `rustynet status` shows: the node, its trust state, its
// data plane and its peers.
type Status struct {
	Node    NodeStatus    `json:"node"`
	Trust   TrustStatus   `json:"trust"`
	Backend BackendStatus `json:"backend"`
	Store   PluginStatus  `json:"store"`
	Feed    *FeedStatus   `json:"feed,omitempty"` // nil without a configured feed
	Peers   []PeerStatus  `json:"peers"`
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
	Name      string `json:"name"`
	State     string `json:"state"` // "running", "restarting", "broken", "closed"
	Restarts  int    `json:"restarts"`
	LastError string `json:"last_error,omitempty"`
}

// FeedStatus is the configured update feed.
type FeedStatus struct {
	Source         string    `json:"source"` // URL or directory
	LastFetch      time.Time `json:"last_fetch,omitzero"`
	LastError      string    `json:"last_error,omitempty"`
	AppliedThrough uint64    `json:"applied_through"` // highest epoch applied from the feed
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
	Applied   bool   `json:"applied"`
	DryRun    bool   `json:"dry_run"`
	Epoch     uint64 `json:"epoch"`      // the epoch the update produces
	StateRoot string `json:"state_root"` // hex root the update produces
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
