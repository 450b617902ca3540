package membership

import (
	"crypto/ed25519"
	"encoding/base64"
	"net/netip"
	"slices"
)

// SchemaVersion is the newest record schema version this package accepts;
// it accepts every version from 1 to SchemaVersion. Version 1 is the frozen
// format of the encoding doc §1–§12; version 2 (§13) adds the policy;
// version 3 (§14) adds the cold recovery set; version 4 (§15) adds the
// resolution of a fork (resolve_fork), the one operation it adds.
const SchemaVersion = 4

// UpdateKind is the value of the "kind" field of every update record.
const UpdateKind = "rustynet.membership.update"

// Status is a node's membership status.
type Status string

// Node statuses.
const (
	StatusActive  Status = "active"
	StatusRevoked Status = "revoked"
)

// Role is an approver's role. Owners are approvers whose signature is also
// required for approver-set and threshold changes.
type Role string

// Approver roles.
const (
	RoleApprover Role = "approver"
	RoleOwner    Role = "owner"
)

// NodeKey is a node's WireGuard (X25519) public key; its text form is
// standard base64, as printed by `wg pubkey`.
type NodeKey [32]byte

// String returns the key in standard base64.
func (k NodeKey) String() string { return base64.StdEncoding.EncodeToString(k[:]) }

// ApproverKey is an approver's Ed25519 public key; text form standard base64.
type ApproverKey [ed25519.PublicKeySize]byte

// String returns the key in standard base64.
func (k ApproverKey) String() string { return base64.StdEncoding.EncodeToString(k[:]) }

// ParseNodeKey parses a base64 X25519 public key in canonical form.
func ParseNodeKey(s string) (NodeKey, error) {
	var k NodeKey
	if err := parseKey32(s, (*[32]byte)(&k)); err != nil {
		return k, err
	}
	if k == (NodeKey{}) {
		return k, errorf(IllegalOperation, "node key is all zeroes")
	}
	return k, nil
}

// ParseApproverKey parses a base64 Ed25519 public key in canonical form.
func ParseApproverKey(s string) (ApproverKey, error) {
	var k ApproverKey
	err := parseKey32(s, (*[32]byte)(&k))
	return k, err
}

func parseKey32(s string, dst *[32]byte) error {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != 32 {
		if lenientKey32(s) {
			return errorf(NonCanonical, "key %q is a non-canonical base64 spelling (unused bits set or padding missing)", s)
		}
		return errorf(IllegalOperation, "key %q is not 32 bytes of standard base64", s)
	}
	copy(dst[:], b)
	return nil
}

// lenientKey32 reports whether a lenient decoder reads s as 32 bytes: s is
// then another spelling of a key, which is NON_CANONICAL like any other
// non-canonical spelling of a value, not a different key.
func lenientKey32(s string) bool {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return true
		}
	}
	return false
}

// Node tags that the data plane gives a meaning to; other tags are labels.
const (
	// TagRouter makes a node a subnet router: it serves its signed Routes,
	// and other nodes send those prefixes to it.
	TagRouter = "router"
	// TagExit makes a node an exit node: a node that chooses it in its
	// local configuration sends its internet traffic through it.
	TagExit = "exit"
)

// HasTag reports whether n carries tag.
func (n Node) HasTag(tag string) bool { return slices.Contains(n.Tags, tag) }

// Node is one member of the mesh. Values held by a State are never modified;
// methods that return a Node return a copy the caller may change.
type Node struct {
	ID        string
	PublicKey NodeKey
	Addresses []netip.Prefix   // mesh addresses, host prefixes (/32, /128), sorted, unique
	Endpoints []netip.AddrPort // endpoint hints, sorted, unique
	Tags      []string         // roles such as "exit", "router"; sorted, unique
	Routes    []netip.Prefix   // advertised routes, masked, sorted, unique
	Owner     string           // free-form owner label (printable ASCII)
	Status    Status
}

// Clone returns a deep copy of n.
func (n Node) Clone() Node {
	n.Addresses = append([]netip.Prefix(nil), n.Addresses...)
	n.Endpoints = append([]netip.AddrPort(nil), n.Endpoints...)
	n.Tags = append([]string(nil), n.Tags...)
	n.Routes = append([]netip.Prefix(nil), n.Routes...)
	return n
}

// Approver is a key allowed to sign updates.
type Approver struct {
	ID        string
	PublicKey ApproverKey
	Role      Role
}

// OpType names an operation.
type OpType string

// The closed set of operations.
const (
	OpGenesis        OpType = "genesis"
	OpAddNode        OpType = "add_node"
	OpRemoveNode     OpType = "remove_node"
	OpRevokeNode     OpType = "revoke_node"
	OpRestoreNode    OpType = "restore_node"
	OpRotateNodeKey  OpType = "rotate_node_key"
	OpUpdateNode     OpType = "update_node"
	OpAddApprover    OpType = "add_approver"
	OpRemoveApprover OpType = "remove_approver"
	OpSetThreshold   OpType = "set_threshold"
	OpSetPolicy      OpType = "set_policy"   // schema version 2
	OpSetRecovery    OpType = "set_recovery" // schema version 3
	OpRecover        OpType = "recover"      // schema version 3
	OpResolveFork    OpType = "resolve_fork" // schema version 4
)

// governs reports whether op changes who may approve (the stricter rule set).
func (op OpType) governs() bool {
	return op == OpAddApprover || op == OpRemoveApprover || op == OpSetThreshold
}

// Operation is one membership change. Which fields are meaningful depends on
// Type; the canonical encoding carries exactly those fields:
//
//	genesis          Threshold, Approvers, Nodes
//	add_node         Node (Status must be active)
//	remove_node      NodeID
//	revoke_node      NodeID
//	restore_node     NodeID
//	rotate_node_key  NodeID, PublicKey
//	update_node      NodeID, Addresses, Endpoints, Tags, Routes (full replacement)
//	add_approver     Approver
//	remove_approver  ApproverID
//	set_threshold    Threshold
//	set_policy       Policy (the whole new document; nil is a policy without rules)
//	set_recovery     Recovery (the whole new recovery set)
//	recover          Approvers, Threshold (the whole new approver set)
//	resolve_fork     Sides (the conflicting updates it settles, by digest),
//	                 Choice (the digest of the side whose operation it
//	                 applies; zero: none — the state stays as it was)
//
// A schema-2 genesis also carries Policy; a schema-1 genesis has none (nil).
// A schema-3 genesis also carries Recovery.
type Operation struct {
	Type       OpType
	Threshold  uint64
	Approvers  []Approver
	Nodes      []Node
	Node       Node
	NodeID     string
	PublicKey  NodeKey
	Addresses  []netip.Prefix
	Endpoints  []netip.AddrPort
	Tags       []string
	Routes     []netip.Prefix
	Approver   Approver
	ApproverID string
	Policy     *Policy
	Recovery   *Recovery
	Sides      []*SignedUpdate
	Choice     Hash
}

// Recovery is a network's cold recovery set (schema 3, encoding doc §14):
// keys kept offline, none of them an approver, of which Threshold together
// may replace the whole approver set and threshold (recover) — the way out
// when approver keys are lost below the threshold, the owner's included —
// and may do nothing else.
type Recovery struct {
	Keys      []ApproverKey // sorted by their text form, unique
	Threshold uint64
}

// Clone returns a deep copy of r (nil for nil).
func (r *Recovery) Clone() *Recovery {
	if r == nil {
		return nil
	}
	return &Recovery{Keys: append([]ApproverKey(nil), r.Keys...), Threshold: r.Threshold}
}

// Has reports whether k is one of r's keys.
func (r *Recovery) Has(k ApproverKey) bool {
	return r != nil && slices.Contains(r.Keys, k)
}

// Hash is a SHA-256 digest; its text form is lower-case hex.
type Hash [32]byte

// Body is the signed part of an update record.
type Body struct {
	// SchemaVersion is the record's schema version, 1 or 2: the one
	// SchemaFor gives for the state it applies to and its operation.
	SchemaVersion uint64
	NetworkID     string
	UpdateID      [16]byte // random, 128 bits; text form 32 lower-case hex digits
	Epoch         uint64   // previous epoch + 1; genesis is epoch 1
	PrevStateRoot Hash
	NewStateRoot  Hash
	CreatedAt     int64 // unix seconds
	ExpiresAt     int64 // unix seconds
	Operation     Operation
}

// Signature is one approver's Ed25519 signature over an update's signing
// message. Signers are identified by public key, so distinct keys are
// distinct signers.
type Signature struct {
	PublicKey ApproverKey
	Sig       [ed25519.SignatureSize]byte
}

// SignedUpdate is an update record: its canonical body bytes (exactly as
// received or produced; the bytes are what is signed), the decoded body, and
// the signatures beside it.
type SignedUpdate struct {
	raw        []byte
	Body       Body
	Signatures []Signature

	// prechecked holds the verdicts of PrecheckSignatures, keyed by the
	// whole signature entry, so a signature changed afterwards is verified
	// afresh.
	prechecked map[Signature]bool
}

// BodyBytes returns the canonical body bytes. The caller must not modify them.
func (u *SignedUpdate) BodyBytes() []byte { return u.raw }
