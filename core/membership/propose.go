package membership

import (
	"crypto/rand"
	"io"
	"slices"
	"strings"
	"time"
)

// Proposal says when a new update is created and for how long approvers may
// sign and apply it.
type Proposal struct {
	CreatedAt time.Time
	Validity  time.Duration // expires_at = CreatedAt + Validity
	Rand      io.Reader     // source of the update id; nil means crypto/rand
	Limits    *Limits       // nil means DefaultLimits()
}

// NewUpdate builds the unsigned update that applies op to pre: the next
// epoch, pre's root as prev_state_root, the resulting root as
// new_state_root, a fresh random 128-bit update id, and the schema version
// SchemaFor gives. It fails with the same codes as Evaluate if op is not
// legal on pre or the body would exceed its size limit. Lists in op are
// taken as they are: call Node.Normalize and Policy.Normalize on operator
// input first.
func NewUpdate(pre *State, op Operation, p Proposal) (*SignedUpdate, error) {
	l := p.Limits
	if l == nil {
		d := DefaultLimits()
		l = &d
	}
	r := p.Rand
	if r == nil {
		r = rand.Reader
	}
	b := Body{
		SchemaVersion: SchemaFor(pre, &op),
		NetworkID:     pre.networkID,
		Epoch:         pre.epoch + 1,
		PrevStateRoot: pre.root,
		CreatedAt:     p.CreatedAt.Unix(),
		ExpiresAt:     p.CreatedAt.Add(p.Validity).Unix(),
		Operation:     op,
	}
	if !validID(b.NetworkID) {
		return nil, errorf(IllegalOperation, "network id %q is not 1-63 characters of [a-z0-9._-]", b.NetworkID)
	}
	if _, err := io.ReadFull(r, b.UpdateID[:]); err != nil {
		return nil, errorf(IllegalOperation, "reading a random update id: %v", err)
	}
	if err := checkTimes(&b, Options{History: true}, l); err != nil {
		return nil, err
	}
	bld, err := reduce(pre, &b.Operation, nil, l)
	if err != nil {
		return nil, err
	}
	b.NewStateRoot = bld.finish(b.Epoch, updateDigest(&b)).root
	raw := EncodeBody(&b)
	if err := checkBodySize(len(raw), op.Type, l); err != nil {
		return nil, err
	}
	// Round-trip through the parser so a proposal can never be something a
	// verifier would refuse as malformed.
	parsed, err := ParseBody(raw, l)
	if err != nil {
		return nil, err
	}
	return &SignedUpdate{raw: raw, Body: parsed}, nil
}

// NewGenesis builds the unsigned genesis update of a network: epoch 1 from
// the empty state. Every approver in it must sign it. policy is the
// network's first access policy (normalised; DefaultPolicy lets every
// member reach every other); the genesis is then a schema-2 record. A nil
// policy gives a schema-1 genesis without a policy, whose network denies
// all traffic until a set_policy gives it one: for compatibility tests
// only.
func NewGenesis(networkID string, threshold uint64, approvers []Approver, nodes []Node, policy *Policy, p Proposal) (*SignedUpdate, error) {
	return NewGenesisWithRecovery(networkID, threshold, approvers, nodes, policy, nil, p)
}

// NewGenesisWithRecovery is NewGenesis with a cold recovery set (schema 3,
// encoding doc §14); nil makes it NewGenesis. Every recovery key must sign
// the genesis too, as every approver does.
func NewGenesisWithRecovery(networkID string, threshold uint64, approvers []Approver, nodes []Node, policy *Policy, recovery *Recovery, p Proposal) (*SignedUpdate, error) {
	as := append([]Approver(nil), approvers...)
	sortBy(as, func(a Approver) string { return a.ID })
	ns := make([]Node, len(nodes))
	for i := range nodes {
		ns[i] = nodes[i].Clone()
		ns[i].Normalize()
		if ns[i].Status == "" {
			ns[i].Status = StatusActive
		}
	}
	sortBy(ns, func(n Node) string { return n.ID })
	pol := policy.Clone()
	if pol != nil {
		pol.Normalize()
	}
	return NewUpdate(Empty(networkID), Operation{Type: OpGenesis, Threshold: threshold, Approvers: as, Nodes: ns, Policy: pol,
		Recovery: NewRecovery(recovery)}, p)
}

// NewRecovery returns a copy of r with its keys in canonical order (nil
// for nil): what set_recovery and a genesis carry.
func NewRecovery(r *Recovery) *Recovery {
	r = r.Clone()
	if r != nil {
		slices.SortFunc(r.Keys, func(a, b ApproverKey) int { return strings.Compare(a.String(), b.String()) })
	}
	return r
}

// NewApproverSet returns a copy of as sorted by id: what recover carries.
func NewApproverSet(as []Approver) []Approver {
	out := append([]Approver(nil), as...)
	sortBy(out, func(a Approver) string { return a.ID })
	return out
}
