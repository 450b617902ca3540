package membership

import (
	"crypto/sha256"
	"iter"
	"slices"
	"strings"
)

// Domain-separation prefixes of every hash this package computes. They are
// part of the format (docs/membership-encoding.md §5, §13.5): v1's are
// frozen; v2 adds one for every input it changes, and keeps the approvers
// and nodes digests, whose inputs it does not change.
const (
	domainStateRoot    = "rustynet.membership.state-root.v1\x00"
	domainNodes        = "rustynet.membership.nodes.v1\x00"
	domainApprovers    = "rustynet.membership.approvers.v1\x00"
	domainUpdateDigest = "rustynet.membership.update-digest.v1\x00"
	domainSignature    = "rustynet.membership.update.v1\x00"

	domainStateRootV2    = "rustynet.membership.state-root.v2\x00"
	domainUpdateDigestV2 = "rustynet.membership.update-digest.v2\x00"
	domainSignatureV2    = "rustynet.membership.update.v2\x00"
	domainPolicy         = "rustynet.membership.policy.v2\x00"

	domainStateRootV3 = "rustynet.membership.state-root.v3\x00"
	domainRecovery    = "rustynet.membership.recovery.v3\x00"
)

// State is the trusted membership of one network at one epoch. A State is
// immutable: the reducer returns a new State and never changes its input,
// so a State may be shared between goroutines freely.
//
// Its root (Root) is SHA-256 over a canonical header that covers the
// network id, the epoch, the digest of the update that produced it, the
// threshold, and digests of the approver set and of every node record; and,
// once the state has a policy (schema 2), the policy's digest, under the v2
// header and domain. A state without a policy keeps the v1 formula, so v1
// chains keep their roots. The epoch and update digest make every root
// unique along a chain: adding and then removing a node yields a state with
// the same members but a different root, so no old update can chain from it
// again (no ABA replay).
type State struct {
	networkID  string
	epoch      uint64
	lastDigest Hash // digest of the update that produced this state; zero at epoch 0
	threshold  uint64
	approvers  []Approver // sorted by ID

	// nodes holds the nodes sorted by ID, each with its leaf (the SHA-256
	// of its canonical record); the values are immutable. Sorted chunks,
	// not a map: copy-on-write copies only the chunks an update changes,
	// and scans need no lookups.
	nodes nodeSeq

	// policy is the access policy (immutable, shared between states); nil
	// until a schema-2 genesis or a set_policy sets one.
	policy       *Policy
	policyDigest Hash

	// recovery is the cold recovery set (immutable, shared between
	// states); nil until a schema-3 genesis or a set_recovery sets one.
	recovery       *Recovery
	recoveryDigest Hash

	approversDigest Hash
	nodesDigest     Hash
	root            Hash
}

// Empty returns the state before genesis: epoch 0, no approvers, no nodes.
// Its root is the prev_state_root of the network's genesis update.
func Empty(networkID string) *State {
	s := &State{networkID: networkID}
	s.approversDigest = digestApprovers(nil)
	s.nodesDigest = digestLeavesOf(&s.nodes)
	s.root = s.computeRoot()
	return s
}

// NetworkID returns the network this state belongs to.
func (s *State) NetworkID() string { return s.networkID }

// Epoch returns the number of updates applied since the empty state.
func (s *State) Epoch() uint64 { return s.epoch }

// Root returns the state root.
func (s *State) Root() Hash { return s.root }

// LastUpdateDigest returns the digest of the update that produced s.
func (s *State) LastUpdateDigest() Hash { return s.lastDigest }

// Threshold returns how many distinct approver signatures an update needs.
func (s *State) Threshold() uint64 { return s.threshold }

// Approvers returns a copy of the approver set, sorted by ID.
func (s *State) Approvers() []Approver { return slices.Clone(s.approvers) }

// ApproverByKey returns the approver with public key k.
func (s *State) ApproverByKey(k ApproverKey) (Approver, bool) {
	for _, a := range s.approvers {
		if a.PublicKey == k {
			return a, true
		}
	}
	return Approver{}, false
}

// ApproverByID returns the approver with the given ID.
func (s *State) ApproverByID(id string) (Approver, bool) {
	for _, a := range s.approvers {
		if a.ID == id {
			return a, true
		}
	}
	return Approver{}, false
}

func (s *State) owners() int {
	n := 0
	for _, a := range s.approvers {
		if a.Role == RoleOwner {
			n++
		}
	}
	return n
}

// Recovery returns a copy of the cold recovery set, nil if the network
// has none.
func (s *State) Recovery() *Recovery { return s.recovery.Clone() }

// Policy returns the access policy, or nil if the state has none (a state
// without a policy denies all traffic). The value is shared with the state
// and every later state that keeps it: callers must not modify it (use
// Policy.Clone).
func (s *State) Policy() *Policy { return s.policy }

// PolicyDigest returns the digest of the policy (encoding doc §13.5); false
// if the state has none.
func (s *State) PolicyDigest() (Hash, bool) { return s.policyDigest, s.policy != nil }

// SchemaVersion returns the schema version of s: 2 once it has a policy,
// else 1. An update of any operation but genesis and set_policy applied to
// s must have this version (SchemaFor).
func (s *State) SchemaVersion() uint64 {
	if s.recovery != nil {
		return 3
	}
	if s.policy != nil {
		return 2
	}
	return 1
}

// NodesDigest returns the digest of the node set that the state root
// covers (every node's record, any status): two states with the same
// nodes have the same digest, whatever else differs between them, so a
// consumer may keep what it derived from one state's nodes while the
// digest stays the same.
func (s *State) NodesDigest() Hash { return s.nodesDigest }

// NodeCount returns the number of nodes, active and revoked.
func (s *State) NodeCount() int { return s.nodes.len() }

// node returns the (shared, immutable) node with the given ID.
func (s *State) node(id string) (*Node, bool) {
	n, _, ok := s.nodes.get(id)
	return n, ok
}

// NodeShared returns the node with the given ID without copying it: its
// slices are the state's own, as those Nodes yields, and callers must not
// modify them (use Node for a copy).
func (s *State) NodeShared(id string) (Node, bool) {
	n, ok := s.node(id)
	if !ok {
		return Node{}, false
	}
	return *n, true
}

// Node returns a copy of the node with the given ID.
func (s *State) Node(id string) (Node, bool) {
	n, ok := s.node(id)
	if !ok {
		return Node{}, false
	}
	return n.Clone(), true
}

// Nodes yields every node in ID order. The yielded values share their
// slices with the state: callers must not modify them (use Node.Clone).
func (s *State) Nodes() iter.Seq[Node] {
	return func(yield func(Node) bool) {
		for n := range s.nodes.all {
			if !yield(*n) {
				return
			}
		}
	}
}

// SharedNodes yields every node in ID order without copying it: the
// pointers are the state's own nodes, which callers must not modify (use
// Node.Clone). It is for readers of every node of a large state on a hot
// path (a filter compiled on every membership change), where a copy per
// node costs more than the reading.
func (s *State) SharedNodes() iter.Seq[*Node] {
	return func(yield func(*Node) bool) {
		for n := range s.nodes.all {
			if !yield(n) {
				return
			}
		}
	}
}

// RoutingNodes yields the nodes tagged router or exit, any status, in ID
// order, shared as SharedNodes yields them. It costs what the state holds
// of them, not a scan of every node: a data plane's routes and exits
// depend on these nodes alone, and a node recomputes what they serve on
// every update.
func (s *State) RoutingNodes() iter.Seq[*Node] { return s.nodes.routingNodes }

// computeRoot computes the root by §5 (no policy) or §13.5 (a policy).
func (s *State) computeRoot() Hash {
	w := canonWriter{b: make([]byte, 0, 512)}
	switch {
	case s.recovery != nil:
		w.b = append(w.b, domainStateRootV3...)
	case s.policy != nil:
		w.b = append(w.b, domainStateRootV2...)
	default:
		w.b = append(w.b, domainStateRoot...)
	}
	w.beginObject()
	w.field("approvers_digest", s.approversDigest.String())
	w.fieldUint("epoch", s.epoch)
	w.field("last_update_digest", s.lastDigest.String())
	w.field("network_id", s.networkID)
	w.fieldUint("node_count", uint64(s.nodes.len()))
	w.field("nodes_digest", s.nodesDigest.String())
	if s.policy != nil {
		w.field("policy_digest", s.policyDigest.String())
	}
	if s.recovery != nil {
		w.field("recovery_digest", s.recoveryDigest.String())
	}
	w.fieldUint("schema_version", s.SchemaVersion())
	w.fieldUint("threshold", s.threshold)
	w.endObject()
	return sha256.Sum256(w.b)
}

// PolicyDigest returns the digest a state root covers for policy p
// (encoding doc §13.5).
func PolicyDigest(p *Policy) Hash { return digestPolicy(EncodePolicy(p)) }

// digestPolicy is the policy digest of the canonical policy bytes enc.
func digestPolicy(enc []byte) Hash {
	h := sha256.New()
	h.Write([]byte(domainPolicy))
	h.Write(enc)
	return Hash(h.Sum(nil))
}

func digestApprovers(as []Approver) Hash {
	h := sha256.New()
	h.Write([]byte(domainApprovers))
	var buf []byte
	for i := range as {
		buf = encodeApprover(&as[i], buf)
		leaf := sha256.Sum256(buf)
		h.Write(leaf[:])
	}
	return Hash(h.Sum(nil))
}

// builder derives a new State from a base by copy-on-write.
type builder struct {
	s           *State
	nodes       seqBuilder
	nodesCh     bool
	approversCh bool
	buf         []byte
}

func newBuilder(base *State) *builder {
	cp := *base
	return &builder{s: &cp, nodes: seqBuilder{q: base.nodes}}
}

// putNode inserts or replaces n (which the builder now owns).
func (b *builder) putNode(n *Node) {
	b.buf = encodeNode(n, b.buf)
	b.nodes.put(n, sha256.Sum256(b.buf))
	b.s.nodes, b.nodesCh = b.nodes.q, true
}

func (b *builder) deleteNode(id string) {
	b.nodes.delete(id)
	b.s.nodes, b.nodesCh = b.nodes.q, true
}

func (b *builder) setApprovers(as []Approver) {
	slices.SortFunc(as, func(x, y Approver) int { return strings.Compare(x.ID, y.ID) })
	b.s.approvers = as
	b.approversCh = true
}

// setPolicy makes p (which the builder now owns) the state's policy; enc
// is its canonical encoding.
func (b *builder) setPolicy(p *Policy, enc []byte) {
	b.s.policy = p
	b.s.policyDigest = digestPolicy(enc)
}

// setRecovery makes r (which the builder now owns) the state's recovery
// set.
func (b *builder) setRecovery(r *Recovery) {
	b.s.recovery = r
	h := sha256.New()
	h.Write([]byte(domainRecovery))
	h.Write(EncodeRecovery(r))
	b.s.recoveryDigest = Hash(h.Sum(nil))
}

// finish seals the new state at the given epoch and update digest.
func (b *builder) finish(epoch uint64, digest Hash) *State {
	s := b.s
	s.epoch = epoch
	s.lastDigest = digest
	if b.approversCh {
		s.approversDigest = digestApprovers(s.approvers)
	}
	if b.nodesCh {
		s.nodesDigest = digestLeavesOf(&s.nodes)
	}
	s.root = s.computeRoot()
	return s
}
