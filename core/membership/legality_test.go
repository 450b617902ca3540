package membership_test

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// baseNet is the network most legality cases start from: 2-of-3 (alice
// owner, bob, carol), active nodes n00000 and n00001 (100.64.0.0/32,
// 100.64.0.1/32) and revoked node n00002 (100.64.0.2/32), with the default
// policy (schema 2).
func baseNet(tb testing.TB) *membershiptest.Network {
	tb.Helper()
	return revokeN2(tb, membershiptest.New(tb, 3))
}

// baseNetV1 is baseNet without a policy: every update of it is schema 1.
func baseNetV1(tb testing.TB) *membershiptest.Network {
	tb.Helper()
	return revokeN2(tb, membershiptest.NewV1(tb, 3))
}

func revokeN2(tb testing.TB, net *membershiptest.Network) *membershiptest.Network {
	tb.Helper()
	u := net.Propose(tb, membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00002"})
	net.MustApply(tb, net.Sign(tb, u, "alice", "bob"))
	return net
}

// netWith returns a network "test" of the given approvers (the first is
// the owner) and threshold, with nodes generated nodes.
func netWith(threshold uint64, nodes int, ids ...string) func(testing.TB) *membershiptest.Network {
	return func(tb testing.TB) *membershiptest.Network {
		return membershiptest.NewWith(tb, "test", threshold, approvers(ids...), nodes)
	}
}

// withLimits wraps a network constructor and sets test limits after
// genesis (limits apply to acceptance; genesis used the defaults).
func withLimits(mk func(testing.TB) *membershiptest.Network, set func(*membership.Limits)) func(testing.TB) *membershiptest.Network {
	return func(tb testing.TB) *membershiptest.Network {
		net := mk(tb)
		l := membership.DefaultLimits()
		set(&l)
		net.Limits = &l
		return net
	}
}

// preGenesis is a network whose chain is still empty.
func preGenesis(tb testing.TB) *membershiptest.Network {
	net := &membershiptest.Network{Approvers: map[string]membershiptest.Approver{}, Chain: membership.NewChain("test"), Now: membershiptest.Epoch0}
	for _, a := range approvers("alice", "bob", "carol") {
		net.Approvers[a.ID] = a
	}
	return net
}

func node(id string, i int, edit func(*membership.Node)) membership.Node {
	n := membershiptest.Node(id, i)
	if edit != nil {
		edit(&n)
	}
	return n
}

func pfx(s string) netip.Prefix  { return netip.MustParsePrefix(s) }
func ap(s string) netip.AddrPort { return netip.MustParseAddrPort(s) }
func pfxs(ss ...string) []netip.Prefix {
	out := []netip.Prefix{}
	for _, s := range ss {
		out = append(out, pfx(s))
	}
	return out
}

// hostAddrs returns n IPv4 host prefixes 10.b.0.1/32, 10.b.0.2/32, ….
func hostAddrs(b byte, n int) []netip.Prefix {
	out := make([]netip.Prefix, n)
	for i := range out {
		out[i] = netip.PrefixFrom(netip.AddrFrom4([4]byte{10, b, byte(i >> 8), byte(i + 1)}), 32)
	}
	return out
}

func endpoints(n int) []netip.AddrPort {
	out := make([]netip.AddrPort, n)
	for i := range out {
		out[i] = netip.AddrPortFrom(netip.AddrFrom4([4]byte{192, 0, 2, byte(i + 1)}), 51820)
	}
	return out
}

// tags returns n distinct sorted tags of length size (≤ 63).
func tags(n, size int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("t%03d", i) + strings.Repeat("x", size-4)
	}
	return out
}

// routes returns n distinct sorted masked /64 IPv6 routes.
func routes(n int) []netip.Prefix {
	out := make([]netip.Prefix, n)
	for i := range out {
		var a [16]byte
		a[0], a[1], a[6], a[7] = 0x20, 0x01, byte(i>>8), byte(i)
		out[i] = netip.PrefixFrom(netip.AddrFrom16(a), 64)
	}
	return out
}

// TestOperationLegality runs every operation against states it must be
// refused on. Each case is signed by every approver (and the approver being
// added), so only the reducer's legality rules can refuse it; each asserts
// the exact code and that the chain did not move.
func TestOperationLegality(t *testing.T) {
	type tc struct {
		name    string
		net     func(testing.TB) *membershiptest.Network // nil: baseNet
		op      membership.Operation
		signers []string // nil: alice, bob, carol
		code    membership.Code
		why     string // substring of the message, naming the reason
	}
	add := func(n membership.Node) membership.Operation {
		return membership.Operation{Type: membership.OpAddNode, Node: n}
	}
	byID := func(typ membership.OpType, id string) membership.Operation {
		return membership.Operation{Type: typ, NodeID: id}
	}
	update := func(id string, addrs []netip.Prefix, edit func(*membership.Operation)) membership.Operation {
		op := membership.Operation{Type: membership.OpUpdateNode, NodeID: id, Addresses: addrs,
			Endpoints: []netip.AddrPort{}, Tags: []string{}, Routes: []netip.Prefix{}}
		if edit != nil {
			edit(&op)
		}
		return op
	}
	dave := membershiptest.NewApprover("dave", membership.RoleApprover)
	bobKeyAsDave := dave.Approver
	bobKeyAsDave.PublicKey = membershiptest.NewApprover("bob", membership.RoleApprover).PublicKey
	newBob := membershiptest.NewApprover("bob2", membership.RoleApprover).Approver
	newBob.ID = "bob"
	badRole := dave.Approver
	badRole.Role = "admin"

	cases := []tc{
		// add_node
		{name: "add_node/existing id", op: add(node("n00000", 50, nil)), code: membership.IllegalOperation, why: "already exists"},
		{name: "add_node/revoked id", op: add(node("n00002", 51, nil)), code: membership.IllegalOperation, why: "already exists"},
		{name: "add_node/duplicate key", op: add(node("x", 52, func(n *membership.Node) { n.PublicKey = membershiptest.NodeKey("n00001") })), code: membership.IllegalOperation, why: "public key"},
		{name: "add_node/key of a revoked node", op: add(node("x", 52, func(n *membership.Node) { n.PublicKey = membershiptest.NodeKey("n00002") })), code: membership.IllegalOperation, why: "public key"},
		{name: "add_node/shared address", op: add(node("x", 1, nil)), code: membership.IllegalOperation, why: "address 100.64.0.1"},
		{name: "add_node/address of a revoked node", op: add(node("x", 2, nil)), code: membership.IllegalOperation, why: "address 100.64.0.2"},
		{name: "add_node/revoked status", op: add(node("x", 53, func(n *membership.Node) { n.Status = membership.StatusRevoked })), code: membership.IllegalOperation, why: "active"},
		{name: "add_node/unknown status", op: add(node("x", 53, func(n *membership.Node) { n.Status = "paused" })), code: membership.IllegalOperation, why: "status"},
		{name: "add_node/no address", op: add(node("x", 53, func(n *membership.Node) { n.Addresses = nil })), code: membership.IllegalOperation, why: "at least one"},
		{name: "add_node/network prefix as address", op: add(node("x", 53, func(n *membership.Node) { n.Addresses = pfxs("100.64.9.0/24") })), code: membership.IllegalOperation, why: "host prefix"},
		{name: "add_node/ipv4-mapped address", op: add(node("x", 53, func(n *membership.Node) { n.Addresses = pfxs("::ffff:100.64.9.1/128") })), code: membership.IllegalOperation, why: "host prefix"},
		{name: "add_node/unspecified address", op: add(node("x", 53, func(n *membership.Node) { n.Addresses = pfxs("0.0.0.0/32") })), code: membership.IllegalOperation, why: "host prefix"},
		{name: "add_node/unmasked route", op: add(node("x", 53, func(n *membership.Node) { n.Routes = pfxs("10.1.2.3/8") })), code: membership.IllegalOperation, why: "masked"},
		{name: "add_node/endpoint port 0", op: add(node("x", 53, func(n *membership.Node) { n.Endpoints = []netip.AddrPort{ap("192.0.2.1:0")} })), code: membership.IllegalOperation, why: "port"},
		{name: "add_node/endpoint with zone", op: add(node("x", 53, func(n *membership.Node) { n.Endpoints = []netip.AddrPort{ap("[fe80::1%eth0]:51820")} })), code: membership.IllegalOperation, why: "endpoint"},
		{name: "add_node/upper-case id", op: add(node("X", 53, nil)), code: membership.IllegalOperation, why: "node id"},
		{name: "add_node/bad tag", op: add(node("x", 53, func(n *membership.Node) { n.Tags = []string{"Exit"} })), code: membership.IllegalOperation, why: "tag"},
		{name: "add_node/owner with a control character", op: add(node("x", 53, func(n *membership.Node) { n.Owner = "a\tb" })), code: membership.IllegalOperation, why: "printable"},
		{name: "add_node/non-sorted tags", op: add(node("x", 53, func(n *membership.Node) { n.Tags = []string{"router", "exit"} })), code: membership.NonCanonical, why: "tags"},
		{name: "add_node/duplicate tags", op: add(node("x", 53, func(n *membership.Node) { n.Tags = []string{"exit", "exit"} })), code: membership.NonCanonical, why: "tags"},
		{name: "add_node/non-sorted addresses", op: add(node("x", 53, func(n *membership.Node) { n.Addresses = pfxs("100.64.9.2/32", "100.64.9.1/32") })), code: membership.NonCanonical, why: "addresses"},
		{name: "add_node/non-sorted routes", op: add(node("x", 53, func(n *membership.Node) { n.Routes = pfxs("10.2.0.0/16", "10.1.0.0/16") })), code: membership.NonCanonical, why: "routes"},
		{name: "add_node/non-sorted endpoints", op: add(node("x", 53, func(n *membership.Node) { n.Endpoints = []netip.AddrPort{ap("192.0.2.2:1"), ap("192.0.2.1:1")} })), code: membership.NonCanonical, why: "endpoints"},

		// remove, revoke, restore
		{name: "remove_node/unknown", op: byID(membership.OpRemoveNode, "ghost"), code: membership.IllegalOperation, why: "no node"},
		{name: "revoke_node/revoked", op: byID(membership.OpRevokeNode, "n00002"), code: membership.IllegalOperation, why: "is revoked"},
		{name: "revoke_node/unknown", op: byID(membership.OpRevokeNode, "ghost"), code: membership.IllegalOperation, why: "no node"},
		{name: "restore_node/active", op: byID(membership.OpRestoreNode, "n00000"), code: membership.IllegalOperation, why: "is active"},
		{name: "restore_node/unknown", op: byID(membership.OpRestoreNode, "ghost"), code: membership.IllegalOperation, why: "no node"},

		// rotate_node_key
		{name: "rotate_node_key/same key", op: membership.Operation{Type: membership.OpRotateNodeKey, NodeID: "n00000", PublicKey: membershiptest.NodeKey("n00000")}, code: membership.IllegalOperation, why: "already has"},
		{name: "rotate_node_key/another node's key", op: membership.Operation{Type: membership.OpRotateNodeKey, NodeID: "n00000", PublicKey: membershiptest.NodeKey("n00001")}, code: membership.IllegalOperation, why: "public key"},
		{name: "rotate_node_key/a revoked node's key", op: membership.Operation{Type: membership.OpRotateNodeKey, NodeID: "n00000", PublicKey: membershiptest.NodeKey("n00002")}, code: membership.IllegalOperation, why: "public key"},
		{name: "rotate_node_key/unknown", op: membership.Operation{Type: membership.OpRotateNodeKey, NodeID: "ghost", PublicKey: membershiptest.NodeKey("fresh")}, code: membership.IllegalOperation, why: "no node"},

		// update_node
		{name: "update_node/no change", op: update("n00000", pfxs("100.64.0.0/32"), nil), code: membership.IllegalOperation, why: "changes nothing"},
		{name: "update_node/taken address", op: update("n00000", pfxs("100.64.0.0/32", "100.64.0.1/32"), nil), code: membership.IllegalOperation, why: "address 100.64.0.1"},
		{name: "update_node/address of a revoked node", op: update("n00000", pfxs("100.64.0.2/32"), nil), code: membership.IllegalOperation, why: "address 100.64.0.2"},
		{name: "update_node/unknown", op: update("ghost", pfxs("100.64.9.9/32"), nil), code: membership.IllegalOperation, why: "no node"},
		{name: "update_node/no address", op: update("n00000", pfxs(), nil), code: membership.IllegalOperation, why: "at least one"},
		{name: "update_node/non-sorted tags", op: update("n00000", pfxs("100.64.0.0/32"), func(op *membership.Operation) { op.Tags = []string{"b", "a"} }), code: membership.NonCanonical, why: "tags"},

		// add_approver
		{name: "add_approver/existing id", op: membership.Operation{Type: membership.OpAddApprover, Approver: newBob}, signers: []string{"alice", "bob", "carol", "bob2"}, code: membership.IllegalOperation, why: "already exists"},
		{name: "add_approver/existing key", op: membership.Operation{Type: membership.OpAddApprover, Approver: bobKeyAsDave}, code: membership.IllegalOperation, why: "key"},
		{name: "add_approver/unknown role", op: membership.Operation{Type: membership.OpAddApprover, Approver: badRole}, signers: []string{"alice", "bob", "carol", "dave"}, code: membership.IllegalOperation, why: "role"},
		{name: "add_approver/bad id", op: membership.Operation{Type: membership.OpAddApprover, Approver: membership.Approver{ID: "Dave", PublicKey: dave.PublicKey, Role: membership.RoleApprover}}, signers: []string{"alice", "bob", "carol", "dave"}, code: membership.IllegalOperation, why: "approver id"},

		// remove_approver
		{name: "remove_approver/unknown", op: membership.Operation{Type: membership.OpRemoveApprover, ApproverID: "mallory"}, code: membership.IllegalOperation, why: "no approver"},
		{name: "remove_approver/fewer than threshold", net: netWith(3, 1, "alice", "bob", "carol"), op: membership.Operation{Type: membership.OpRemoveApprover, ApproverID: "carol"}, code: membership.BadThreshold, why: "below the threshold"},
		{name: "remove_approver/last owner", op: membership.Operation{Type: membership.OpRemoveApprover, ApproverID: "alice"}, code: membership.OwnerRequired, why: "last owner"},

		// set_threshold
		{name: "set_threshold/zero", op: membership.Operation{Type: membership.OpSetThreshold, Threshold: 0}, code: membership.BadThreshold, why: "between 1"},
		{name: "set_threshold/above approvers", op: membership.Operation{Type: membership.OpSetThreshold, Threshold: 4}, code: membership.BadThreshold, why: "between 1"},
		{name: "set_threshold/same", op: membership.Operation{Type: membership.OpSetThreshold, Threshold: 2}, code: membership.IllegalOperation, why: "already 2"},

		// genesis
		{name: "genesis/not from the empty state", op: membership.Operation{Type: membership.OpGenesis, Threshold: 1, Approvers: []membership.Approver{approvers("alice")[0].Approver}, Nodes: []membership.Node{}, Policy: membership.DefaultPolicy()}, code: membership.IllegalOperation, why: "only to the empty state"},
		{name: "genesis/first update is not genesis", net: preGenesis, op: add(node("x", 53, nil)), code: membership.IllegalOperation, why: "must be its genesis"},
		{name: "genesis/first update is remove", net: preGenesis, op: byID(membership.OpRemoveNode, "x"), code: membership.IllegalOperation, why: "must be its genesis"},

		// limits
		{name: "limits/max nodes", net: withLimits(netWith(2, 3, "alice", "bob", "carol"), func(l *membership.Limits) { l.MaxNodes = 3 }), op: add(node("x", 53, nil)), code: membership.LimitExceeded, why: "maximum of 3 nodes"},
		{name: "limits/max approvers", net: withLimits(netWith(2, 0, "alice", "bob", "carol"), func(l *membership.Limits) { l.MaxApprovers = 3 }), op: membership.Operation{Type: membership.OpAddApprover, Approver: dave.Approver}, signers: []string{"alice", "bob", "carol", "dave"}, code: membership.LimitExceeded, why: "maximum of 3 approvers"},
		{name: "limits/addresses per node", op: add(node("x", 53, func(n *membership.Node) { n.Addresses = hostAddrs(9, 9) })), code: membership.LimitExceeded, why: "addresses"},
		{name: "limits/endpoints per node", op: add(node("x", 53, func(n *membership.Node) { n.Endpoints = endpoints(9) })), code: membership.LimitExceeded, why: "endpoints"},
		{name: "limits/tags per node", op: add(node("x", 53, func(n *membership.Node) { n.Tags = tags(33, 8) })), code: membership.LimitExceeded, why: "tags"},
		{name: "limits/routes per node", op: add(node("x", 53, func(n *membership.Node) { n.Routes = routes(257) })), code: membership.LimitExceeded, why: "routes"},
		{name: "limits/owner length", op: add(node("x", 53, func(n *membership.Node) { n.Owner = strings.Repeat("o", 129) })), code: membership.LimitExceeded, why: "owner"},
		{name: "limits/update_node addresses", op: update("n00000", hostAddrs(9, 9), nil), code: membership.LimitExceeded, why: "addresses"},
		{name: "limits/update_node routes", op: update("n00000", pfxs("100.64.0.0/32"), func(op *membership.Operation) { op.Routes = routes(257) }), code: membership.LimitExceeded, why: "routes"},
	}
	var versioned []tc
	for _, c := range cases {
		if c.net != nil {
			versioned = append(versioned, c)
			continue
		}
		// The rules of §9 hold for v1 and v2 records alike.
		v1, v2 := c, c
		v1.name, v1.net = c.name+"/v1", baseNetV1
		v2.name, v2.net = c.name+"/v2", baseNet
		versioned = append(versioned, v1, v2)
	}
	for _, c := range versioned {
		t.Run(c.name, func(t *testing.T) {
			net := c.net(t)
			signers := c.signers
			if signers == nil {
				signers = []string{"alice", "bob", "carol"}
			}
			u := forge(t, nextBody(net.Chain.State(), c.op, net.Now))
			net.Sign(t, u, signers...)
			wantReject(t, net, u, c.code, c.why)
			if _, err := membership.NewUpdate(net.Chain.State(), c.op, net.Proposal()); membership.CodeOf(err) != c.code {
				t.Errorf("NewUpdate: got %v, want code %s (a proposal must fail like its verification)", err, c.code)
			}
		})
	}
}

// maxedNode returns a node at every per-node limit of DefaultLimits.
func maxedNode(id string, i int) membership.Node {
	l := membership.DefaultLimits()
	return node(id, i, func(n *membership.Node) {
		n.Addresses = append(hostAddrs(byte(10+i), l.MaxAddresses-1), n.Addresses...)
		n.Endpoints = endpoints(l.MaxEndpoints)
		n.Tags = tags(l.MaxTags, 63)
		n.Routes = routes(l.MaxRoutes)
		n.Owner = strings.Repeat(`"\`, l.MaxOwnerLen/2)
		n.Normalize()
	})
}

// TestLimitsNeverBlockRemoval brings a network to every limit at once
// (nodes, approvers, a node at every per-node list limit and the owner
// length limit), proves it is at the limits (growth is refused), and then
// removes, revokes and shrinks: all of it must be accepted.
func TestLimitsNeverBlockRemoval(t *testing.T) {
	l := membership.DefaultLimits()
	l.MaxNodes = 4     // the real limit (65536) only changes the setup's size
	l.MaxApprovers = 5 // idem (64); TestLimitsMaxApproversDefault uses the real one
	ids := []string{"alice", "bob", "carol", "dave", "erin"}
	net := membershiptest.NewWith(t, "test", 5, approvers(ids...), 0)
	net.Limits = &l
	for i := range l.MaxNodes {
		n := maxedNode(membershiptest.NodeID(i), i)
		u := net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: n})
		if len(u.BodyBytes()) > l.MaxUpdateBytes {
			t.Fatalf("add of a maxed node: got %d bytes, want at most MaxUpdateBytes %d", len(u.BodyBytes()), l.MaxUpdateBytes)
		}
		net.MustApply(t, net.Sign(t, u, ids...))
	}

	// At the limits: growth is refused.
	grow := []membership.Operation{
		{Type: membership.OpAddNode, Node: node("x", 999, nil)},
		{Type: membership.OpAddApprover, Approver: membershiptest.NewApprover("frank", membership.RoleApprover).Approver},
	}
	for _, op := range grow {
		u := forge(t, nextBody(net.Chain.State(), op, net.Now))
		net.Sign(t, u, slices.Concat(ids, []string{"frank"})...)
		wantReject(t, net, u, membership.LimitExceeded, "")
	}

	// Every shrinking operation is accepted, in a row, at the limits.
	shrink := []struct {
		op      membership.Operation
		signers []string
	}{
		{membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00000"}, ids},
		{membership.Operation{Type: membership.OpRemoveNode, NodeID: "n00000"}, ids},
		{membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00001"}, ids},
		{membership.Operation{Type: membership.OpRestoreNode, NodeID: "n00001"}, ids},
		{membership.Operation{Type: membership.OpUpdateNode, NodeID: "n00002", Addresses: pfxs("100.64.0.2/32"), Endpoints: []netip.AddrPort{}, Tags: []string{}, Routes: []netip.Prefix{}}, ids},
		{membership.Operation{Type: membership.OpSetThreshold, Threshold: 4}, ids},
		{membership.Operation{Type: membership.OpRemoveApprover, ApproverID: "erin"}, ids},
	}
	for _, s := range shrink {
		u := net.Propose(t, s.op)
		net.MustApply(t, net.Sign(t, u, s.signers...))
	}
	if got, want := net.Chain.State().NodeCount(), 3; got != want {
		t.Errorf("node count: got %d, want %d", got, want)
	}
}

// TestLimitsMaxApproversDefault runs the approver-count limit at its real
// value: 64 approvers, threshold 64 of 64, so a removal carries the most
// signatures any update may need; it must not be blocked by the
// signature-count limit.
func TestLimitsMaxApproversDefault(t *testing.T) {
	l := membership.DefaultLimits()
	ids := make([]string, l.MaxApprovers)
	for i := range ids {
		ids[i] = fmt.Sprintf("a%02d", i)
	}
	net := membershiptest.NewWith(t, "test", uint64(l.MaxApprovers), approvers(ids...), 2)
	extra := membershiptest.NewApprover("extra", membership.RoleApprover)
	u := forge(t, nextBody(net.Chain.State(), membership.Operation{Type: membership.OpAddApprover, Approver: extra.Approver}, net.Now))
	net.Sign(t, u, slices.Concat(ids, []string{"extra"})...)
	wantReject(t, net, u, membership.LimitExceeded, "maximum of 64 approvers")

	for _, op := range []membership.Operation{
		{Type: membership.OpRevokeNode, NodeID: "n00000"},
		{Type: membership.OpRemoveNode, NodeID: "n00001"},
		{Type: membership.OpSetThreshold, Threshold: 63},
		{Type: membership.OpRemoveApprover, ApproverID: "a63"},
	} {
		u := net.Propose(t, op)
		net.MustApply(t, net.Sign(t, u, ids[:len(net.Chain.State().Approvers())]...))
	}
	if got, want := len(net.Chain.State().Approvers()), l.MaxApprovers-1; got != want {
		t.Errorf("approvers: got %d, want %d", got, want)
	}
}
