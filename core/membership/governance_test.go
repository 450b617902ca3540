package membership_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

func addApprover(id string, role membership.Role) membership.Operation {
	return membership.Operation{Type: membership.OpAddApprover, Approver: membershiptest.NewApprover(id, role).Approver}
}

func removeApprover(id string) membership.Operation {
	return membership.Operation{Type: membership.OpRemoveApprover, ApproverID: id}
}

func setThreshold(k uint64) membership.Operation {
	return membership.Operation{Type: membership.OpSetThreshold, Threshold: k}
}

func tc(have, need uint64) *membership.ThresholdCheck {
	return &membership.ThresholdCheck{Have: have, Need: need}
}

// govStep is one update of a governance scenario: the operation, who signs
// it, and the verdict. A refused step leaves the state as it was, and the
// scenario continues from there.
type govStep struct {
	op       membership.Operation
	signers  []string
	code     membership.Code // "" means accepted
	old, new *membership.ThresholdCheck
}

// TestGovernanceRotation is a table in the style of TUF's root-rotation
// tests. Each row starts from an approver set and threshold and runs a
// sequence of updates. Approver-set and threshold changes need a threshold
// of the pre-state's approvers AND a threshold of the post-state's
// approvers AND a pre-state owner's signature, and an added approver must
// sign its own addition; the Auth thresholds are asserted where given.
func TestGovernanceRotation(t *testing.T) {
	node := func(id string, i int) membership.Operation { return addOp(id, i) }
	rows := []struct {
		name      string
		approvers []string // the first is an owner
		owners    []string // further owners
		threshold uint64
		steps     []govStep
		final     []string // approver ids at the end
	}{
		{
			name: "1-of-1 to 2-of-2", approvers: []string{"alice"}, threshold: 1,
			steps: []govStep{
				{op: addApprover("bob", membership.RoleApprover), signers: []string{"alice"}, code: membership.NewApproverMustSign, old: tc(1, 1), new: tc(1, 1)},
				{op: addApprover("bob", membership.RoleApprover), signers: []string{"bob"}, code: membership.ThresholdNotMet, old: tc(0, 1), new: tc(1, 1)},
				{op: addApprover("bob", membership.RoleApprover), signers: []string{"alice", "bob"}, old: tc(1, 1), new: tc(2, 1)},
				{op: setThreshold(2), signers: []string{"alice"}, code: membership.ThresholdNotMet, old: tc(1, 1), new: tc(1, 2)},
				{op: setThreshold(2), signers: []string{"bob"}, code: membership.ThresholdNotMet, old: tc(1, 1), new: tc(1, 2)},
				{op: setThreshold(2), signers: []string{"alice", "bob"}, old: tc(2, 1), new: tc(2, 2)},
				{op: node("x", 50), signers: []string{"alice"}, code: membership.ThresholdNotMet, old: tc(1, 2)},
				{op: node("x", 50), signers: []string{"alice", "bob"}, old: tc(2, 2)},
			},
			final: []string{"alice", "bob"},
		},
		{
			name: "3-of-5 with one key replaced", approvers: []string{"a1", "a2", "a3", "a4", "a5"}, threshold: 3,
			steps: []govStep{
				// Adding a6: old set (5) needs 3, new set (6) needs 3.
				{op: addApprover("a6", membership.RoleApprover), signers: []string{"a1", "a2", "a6"}, code: membership.ThresholdNotMet, old: tc(2, 3), new: tc(3, 3)}, // new met, old not
				{op: addApprover("a6", membership.RoleApprover), signers: []string{"a1", "a2", "a3"}, code: membership.NewApproverMustSign, old: tc(3, 3), new: tc(3, 3)},
				{op: addApprover("a6", membership.RoleApprover), signers: []string{"a2", "a3", "a4", "a6"}, code: membership.OwnerRequired, old: tc(3, 3), new: tc(4, 3)},
				{op: addApprover("a6", membership.RoleApprover), signers: []string{"a1", "a2", "a3", "a6"}, old: tc(3, 3), new: tc(4, 3)},
				// Removing a5: old set (6) needs 3, new set (5) needs 3;
				// a5's own signature counts toward the old set only.
				{op: removeApprover("a5"), signers: []string{"a1", "a2", "a5"}, code: membership.ThresholdNotMet, old: tc(3, 3), new: tc(2, 3)}, // old met, new not
				{op: removeApprover("a5"), signers: []string{"a2", "a3", "a4"}, code: membership.OwnerRequired, old: tc(3, 3), new: tc(3, 3)},
				{op: removeApprover("a5"), signers: []string{"a1", "a6", "a5", "a2"}, old: tc(4, 3), new: tc(3, 3)},
				// The old key is gone; the new one counts.
				{op: node("x", 50), signers: []string{"a1", "a2", "a5"}, code: membership.UnknownSigner},
				{op: node("x", 50), signers: []string{"a1", "a2", "a6"}, old: tc(3, 3)},
			},
			final: []string{"a1", "a2", "a3", "a4", "a6"},
		},
		{
			name: "every key replaced step by step", approvers: []string{"alice", "bob", "carol"}, threshold: 2,
			steps: []govStep{
				{op: addApprover("alice2", membership.RoleOwner), signers: []string{"alice", "bob", "alice2"}},
				{op: removeApprover("alice"), signers: []string{"alice2", "bob"}}, // alice2 is a pre-state owner now
				{op: addApprover("bob2", membership.RoleApprover), signers: []string{"alice2", "bob", "bob2"}},
				{op: removeApprover("bob"), signers: []string{"alice2", "bob2"}},
				{op: addApprover("carol2", membership.RoleApprover), signers: []string{"bob2", "carol", "carol2"}, code: membership.OwnerRequired},
				{op: addApprover("carol2", membership.RoleApprover), signers: []string{"alice2", "carol", "carol2"}},
				{op: removeApprover("carol"), signers: []string{"alice2", "carol2"}},
				{op: node("x", 50), signers: []string{"alice", "bob"}, code: membership.UnknownSigner},
				{op: node("x", 50), signers: []string{"carol"}, code: membership.UnknownSigner},
				{op: node("x", 50), signers: []string{"bob2", "carol2"}, old: tc(2, 2)},
			},
			final: []string{"alice2", "bob2", "carol2"},
		},
		{
			name: "threshold up and down", approvers: []string{"a1", "a2", "a3", "a4"}, threshold: 2,
			steps: []govStep{
				{op: setThreshold(3), signers: []string{"a1", "a2"}, code: membership.ThresholdNotMet, old: tc(2, 2), new: tc(2, 3)},
				{op: setThreshold(3), signers: []string{"a1", "a2", "a3"}, old: tc(3, 2), new: tc(3, 3)},
				{op: setThreshold(4), signers: []string{"a1", "a2", "a3", "a4"}},
				{op: setThreshold(1), signers: []string{"a1", "a2", "a3"}, code: membership.ThresholdNotMet, old: tc(3, 4), new: tc(3, 1)}, // new met, old not
				{op: setThreshold(1), signers: []string{"a1", "a2", "a3", "a4"}, old: tc(4, 4), new: tc(4, 1)},
				{op: node("x", 50), signers: []string{"a4"}, old: tc(1, 1)},
				{op: setThreshold(2), signers: []string{"a2", "a3"}, code: membership.OwnerRequired},
				{op: setThreshold(2), signers: []string{"a1", "a2"}},
			},
			final: []string{"a1", "a2", "a3", "a4"},
		},
		{
			name: "owners", approvers: []string{"alice", "bob", "carol"}, owners: []string{"bob"}, threshold: 2,
			steps: []govStep{
				// A new owner's signature does not stand in for a pre-state owner's.
				{op: addApprover("dave", membership.RoleOwner), signers: []string{"carol", "dave"}, code: membership.ThresholdNotMet},
				{op: addApprover("dave", membership.RoleOwner), signers: []string{"carol", "erin", "dave"}, code: membership.UnknownSigner},
				{op: addApprover("dave", membership.RoleOwner), signers: []string{"alice", "carol", "dave"}},
				// Either owner suffices; an owner may be removed while another remains.
				{op: removeApprover("alice"), signers: []string{"bob", "carol"}},
				{op: removeApprover("bob"), signers: []string{"carol", "dave"}},
				{op: removeApprover("dave"), signers: []string{"carol", "dave"}, code: membership.BadThreshold},
				{op: setThreshold(1), signers: []string{"carol", "dave"}},
				{op: removeApprover("dave"), signers: []string{"carol", "dave"}, code: membership.OwnerRequired},
			},
			final: []string{"carol", "dave"},
		},
		{
			name: "removed approver re-added", approvers: []string{"alice", "bob", "carol"}, threshold: 2,
			steps: []govStep{
				{op: removeApprover("carol"), signers: []string{"alice", "bob"}},
				{op: addApprover("carol", membership.RoleApprover), signers: []string{"alice", "carol"}, code: membership.ThresholdNotMet, old: tc(1, 2), new: tc(2, 2)},
				{op: addApprover("carol", membership.RoleApprover), signers: []string{"alice", "bob", "carol"}},
			},
			final: []string{"alice", "bob", "carol"},
		},
		{
			name: "2-of-2 cannot shrink without lowering the threshold", approvers: []string{"alice", "bob"}, threshold: 2,
			steps: []govStep{
				{op: removeApprover("bob"), signers: []string{"alice", "bob"}, code: membership.BadThreshold},
				{op: setThreshold(1), signers: []string{"alice", "bob"}},
				{op: removeApprover("bob"), signers: []string{"bob"}, code: membership.ThresholdNotMet, old: tc(1, 1), new: tc(0, 1)},
				{op: removeApprover("bob"), signers: []string{"alice"}, old: tc(1, 1), new: tc(1, 1)},
			},
			final: []string{"alice"},
		},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			as := approvers(row.approvers...)
			for i := range as {
				if slices.Contains(row.owners, as[i].ID) {
					as[i].Role = membership.RoleOwner
				}
			}
			net := membershiptest.NewWith(t, "test", row.threshold, as, 1)
			for i, s := range row.steps {
				u, perr := membership.NewUpdate(net.Chain.State(), s.op, net.Proposal())
				if perr != nil {
					// An illegal operation cannot be proposed; forge it
					// to show that verification refuses it the same way.
					wantCode(t, perr, s.code)
					u = forge(t, nextBody(net.Chain.State(), s.op, net.Now))
				}
				net.Sign(t, u, s.signers...)
				res, err := membership.Evaluate(net.Chain.State(), u, net.Options())
				if got := membership.CodeOf(err); got != s.code {
					t.Fatalf("step %d (%s signed by %v): got %v (code %q), want code %q", i, s.op.Type, s.signers, err, got, s.code)
				}
				if s.old != nil {
					if diff := cmp.Diff(s.old, res.Auth.Old); diff != "" {
						t.Errorf("step %d: Auth.Old (-want +got):\n%s", i, diff)
					}
				}
				if s.new != nil {
					if diff := cmp.Diff(s.new, res.Auth.New); diff != "" {
						t.Errorf("step %d: Auth.New (-want +got):\n%s", i, diff)
					}
				}
				if s.code != "" {
					wantReject(t, net, u, s.code, "")
					continue
				}
				net.MustApply(t, u)
			}
			var got []string
			for _, a := range net.Chain.State().Approvers() {
				got = append(got, a.ID)
			}
			if diff := cmp.Diff(row.final, got); diff != "" {
				t.Errorf("final approvers (-want +got):\n%s", diff)
			}
		})
	}
}

// TestGenesisRules: genesis is epoch 1 from the empty state, signed by
// every initial approver, with a valid threshold and at least one owner.
func TestGenesisRules(t *testing.T) {
	abc := approvers("alice", "bob", "carol")
	as := func(ts ...membershiptest.Approver) []membership.Approver {
		var out []membership.Approver
		for _, a := range ts {
			out = append(out, a.Approver)
		}
		return out
	}
	noOwner := approvers("alice", "bob")
	noOwner[0].Role = membership.RoleApprover
	sameKey := as(abc[0], abc[1])
	sameKey[1].PublicKey = sameKey[0].PublicKey
	n1, n2 := membershiptest.Node("n1", 1), membershiptest.Node("n2", 2)
	revoked := n2
	revoked.Status = membership.StatusRevoked
	sharedKey := n2
	sharedKey.PublicKey = n1.PublicKey
	sharedAddr := n2
	sharedAddr.Addresses = n1.Addresses
	all := []string{"alice", "bob", "carol"}
	cases := []struct {
		name      string
		threshold uint64
		approvers []membership.Approver
		nodes     []membership.Node
		signers   []string
		code      membership.Code
	}{
		{"signed by all", 2, as(abc...), nil, []string{"alice", "bob", "carol"}, ""},
		{"signed by a threshold only", 2, as(abc...), nil, []string{"alice", "bob"}, membership.NewApproverMustSign},
		{"signed by one", 2, as(abc...), nil, []string{"alice"}, membership.ThresholdNotMet},
		{"outsider signature", 2, as(abc...), nil, []string{"alice", "bob", "carol", "mallory"}, membership.UnknownSigner},
		{"threshold 0", 0, as(abc...), nil, []string{"alice", "bob", "carol"}, membership.BadThreshold},
		{"threshold above approvers", 4, as(abc...), nil, []string{"alice", "bob", "carol"}, membership.BadThreshold},
		{"no approvers", 1, nil, nil, nil, membership.BadThreshold},
		{"no owner", 1, as(noOwner...), nil, []string{"alice", "bob"}, membership.OwnerRequired},
		{"two approvers share a key", 1, sameKey, nil, []string{"alice"}, membership.IllegalOperation},
		{"with nodes", 2, as(abc...), []membership.Node{n1, n2}, all, ""},
		{"revoked node", 2, as(abc...), []membership.Node{n1, revoked}, all, membership.IllegalOperation},
		{"nodes share a key", 2, as(abc...), []membership.Node{n1, sharedKey}, all, membership.IllegalOperation},
		{"nodes share an address", 2, as(abc...), []membership.Node{n1, sharedAddr}, all, membership.IllegalOperation},
		{"nodes not sorted", 2, as(abc...), []membership.Node{n2, n1}, all, membership.NonCanonical},
		{"nodes repeated", 2, as(abc...), []membership.Node{n1, n1}, all, membership.NonCanonical},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			net := preGenesis(t)
			g, err := membership.NewGenesis("test", c.threshold, c.approvers, c.nodes, nil, net.Proposal())
			if c.name == "nodes not sorted" && err == nil {
				err = membership.ErrNonCanonical // NewGenesis sorts operator input; forge the unsorted record
			}
			if err != nil {
				// Illegal: NewGenesis refuses it; forge it to show that
				// verification refuses it the same way.
				wantCode(t, err, c.code)
				nodes := c.nodes
				if nodes == nil {
					nodes = []membership.Node{}
				}
				b := nextBody(net.Chain.State(), membership.Operation{Type: membership.OpGenesis, Threshold: c.threshold, Approvers: c.approvers, Nodes: nodes}, net.Now)
				if c.approvers == nil {
					b.Operation.Approvers = []membership.Approver{}
				}
				g = forge(t, b)
			}
			net.Sign(t, g, c.signers...)
			if c.code == "" {
				net.MustApply(t, g)
				return
			}
			wantReject(t, net, g, c.code, "")
		})
	}

	t.Run("pinned genesis root", func(t *testing.T) {
		a := membershiptest.New(t, 2)
		b := membershiptest.New(t, 2) // same members, other update id: other root
		a.MustApply(t, a.Sign(t, a.Propose(t, addOp("x", 50)), "alice", "bob"))
		if a.Log[0].Body.NewStateRoot == b.Log[0].Body.NewStateRoot {
			t.Fatalf("two genesis updates with different ids gave one root")
		}
		if _, _, err := membership.Replay(a.Log, b.Log[0].Body.NewStateRoot, nil); membership.CodeOf(err) != membership.IntegrityFailure {
			t.Errorf("Replay with another network's pinned genesis: got %v, want INTEGRITY_FAILURE", err)
		}
		if _, _, err := membership.Replay(a.Log, a.Log[0].Body.NewStateRoot, nil); err != nil {
			t.Errorf("Replay with its own pinned genesis: got %v, want success", err)
		}
		if _, _, err := membership.Replay(a.Log[1:], membership.Hash{}, nil); membership.CodeOf(err) != membership.IntegrityFailure {
			t.Errorf("Replay of a log without its genesis: got %v, want INTEGRITY_FAILURE", err)
		}
		if _, _, err := membership.Replay(nil, membership.Hash{}, nil); membership.CodeOf(err) != membership.IntegrityFailure {
			t.Errorf("Replay of an empty log: got %v, want INTEGRITY_FAILURE", err)
		}
	})
}
