// Package membershiptest provides deterministic keys, networks and signed
// updates for tests and benchmarks of code built on package membership.
// Nothing here is fit for production: keys derive from public seeds.
package membershiptest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
)

// Epoch0 is the fixed creation time of everything this package builds.
var Epoch0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Approver is a deterministic test approver: its Ed25519 key derives from
// its ID.
type Approver struct {
	membership.Approver
	Private ed25519.PrivateKey
}

// NewApprover returns the approver id with a key derived from id.
func NewApprover(id string, role membership.Role) Approver {
	seed := sha256.Sum256([]byte("rustynet-test-approver:" + id))
	priv := ed25519.NewKeyFromSeed(seed[:])
	var pub membership.ApproverKey
	copy(pub[:], priv.Public().(ed25519.PublicKey))
	return Approver{Approver: membership.Approver{ID: id, PublicKey: pub, Role: role}, Private: priv}
}

// NodeKey returns a deterministic, non-zero node key for id. It is not a
// real X25519 point; the trust engine treats node keys as opaque.
func NodeKey(id string) membership.NodeKey {
	return membership.NodeKey(sha256.Sum256([]byte("rustynet-test-node:" + id)))
}

// Node returns an active node with id and mesh address 100.64.x.y/32
// derived from i (i < 65536).
func Node(id string, i int) membership.Node {
	return membership.Node{
		ID:        id,
		PublicKey: NodeKey(id),
		Addresses: []netip.Prefix{netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64 + byte(i>>16), byte(i >> 8), byte(i)}), 32)},
		Endpoints: []netip.AddrPort{},
		Tags:      []string{},
		Routes:    []netip.Prefix{},
		Status:    membership.StatusActive,
	}
}

// NodeID returns the conventional id of the i-th generated node.
func NodeID(i int) string { return fmt.Sprintf("n%05d", i) }

// Network is a test network: its approvers by id and its chain.
type Network struct {
	Approvers map[string]Approver
	Chain     *membership.Chain
	Log       []*membership.SignedUpdate
	Now       time.Time
	Limits    *membership.Limits
}

// Alice, Bob and Carol are the default approvers; Alice is the owner.
func defaultApprovers() []Approver {
	return []Approver{
		NewApprover("alice", membership.RoleOwner),
		NewApprover("bob", membership.RoleApprover),
		NewApprover("carol", membership.RoleApprover),
	}
}

// New returns a 2-of-3 network "test" (alice owner, bob, carol) with nodes
// generated nodes and membership.DefaultPolicy, its genesis signed by all
// three and applied.
func New(tb testing.TB, nodes int) *Network {
	tb.Helper()
	return NewWith(tb, "test", 2, defaultApprovers(), nodes)
}

// NewV1 is New with a schema-1 genesis: a network without a policy, as
// every network created before schema 2 is.
func NewV1(tb testing.TB, nodes int) *Network {
	tb.Helper()
	return NewWithPolicy(tb, "test", 2, defaultApprovers(), nodes, nil)
}

// NewWith returns a network with the given approvers and threshold, nodes
// generated nodes and membership.DefaultPolicy (every member may reach
// every other), its genesis signed by every approver and applied.
func NewWith(tb testing.TB, networkID string, threshold uint64, approvers []Approver, nodes int) *Network {
	tb.Helper()
	return NewWithPolicy(tb, networkID, threshold, approvers, nodes, membership.DefaultPolicy())
}

// NewWithPolicy is NewWith with the given policy; nil gives a schema-1
// genesis without a policy.
func NewWithPolicy(tb testing.TB, networkID string, threshold uint64, approvers []Approver, nodes int, policy *membership.Policy) *Network {
	tb.Helper()
	net := &Network{Approvers: map[string]Approver{}, Chain: membership.NewChain(networkID), Now: Epoch0}
	var as []membership.Approver
	for _, a := range approvers {
		net.Approvers[a.ID] = a
		as = append(as, a.Approver)
	}
	ns := make([]membership.Node, nodes)
	for i := range ns {
		ns[i] = Node(NodeID(i), i)
	}
	g, err := membership.NewGenesis(networkID, threshold, as, ns, policy, net.Proposal())
	if err != nil {
		tb.Fatalf("genesis: %v", err)
	}
	for _, a := range approvers {
		net.Sign(tb, g, a.ID)
	}
	net.MustApply(tb, g)
	return net
}

// Proposal returns proposal parameters at the network's clock, valid one hour.
func (n *Network) Proposal() membership.Proposal {
	return membership.Proposal{CreatedAt: n.Now, Validity: time.Hour, Limits: n.Limits}
}

// Options returns acceptance options at the network's clock.
func (n *Network) Options() membership.Options {
	return membership.Options{Now: n.Now, Limits: n.Limits}
}

// Propose builds the unsigned update applying op to the current state.
func (n *Network) Propose(tb testing.TB, op membership.Operation) *membership.SignedUpdate {
	tb.Helper()
	u, err := membership.NewUpdate(n.Chain.State(), op, n.Proposal())
	if err != nil {
		tb.Fatalf("propose %s: %v", op.Type, err)
	}
	return u
}

// Sign signs u with the named approvers' keys (which need not be approvers
// of the network: tests sign with outsiders too).
func (n *Network) Sign(tb testing.TB, u *membership.SignedUpdate, ids ...string) *membership.SignedUpdate {
	tb.Helper()
	for _, id := range ids {
		a, ok := n.Approvers[id]
		if !ok {
			a = NewApprover(id, membership.RoleApprover)
			n.Approvers[id] = a
		}
		if err := u.Sign(a.Private); err != nil {
			tb.Fatalf("sign by %s: %v", id, err)
		}
	}
	return u
}

// MustApply applies u and fails the test if it is rejected.
func (n *Network) MustApply(tb testing.TB, u *membership.SignedUpdate) *membership.Result {
	tb.Helper()
	res, err := n.Chain.Apply(u, n.Options())
	if err != nil {
		tb.Fatalf("apply %s: %v", u.Body.Operation.Type, err)
	}
	n.Log = append(n.Log, u)
	return res
}

// Apply applies u, returning the engine's verdict.
func (n *Network) Apply(u *membership.SignedUpdate) (*membership.Result, error) {
	res, err := n.Chain.Apply(u, n.Options())
	if err == nil {
		n.Log = append(n.Log, u)
	}
	return res, err
}

// MeshRules returns a normalized policy of n mesh rules: rule i lets
// member src(i) reach every member on TCP port 1000+i, the last rule's
// port shifted by variant (so two variants differ in one port). It is the
// policy of the policy-change benchmarks.
func MeshRules(n, variant int, src func(i int) string) *membership.Policy {
	p := &membership.Policy{}
	for i := range n {
		port := uint16(1000 + i)
		if i == n-1 {
			port += uint16(variant)
		}
		p.Rules = append(p.Rules, membership.Rule{
			Name:    fmt.Sprintf("r%05d", i),
			Context: membership.ContextMesh,
			Src:     []membership.Selector{membership.NodeSelector(src(i))},
			Dst:     []membership.Selector{membership.MembersSelector()},
			Ports:   []membership.PortSpec{{Proto: membership.ProtoTCP, First: port, Last: port}},
		})
	}
	p.Normalize()
	return p
}
