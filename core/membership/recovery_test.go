package membership_test

import (
	"bytes"
	"slices"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// recoveryNet is a 2-of-3 network (alice owner, bob, carol) with a 2-of-3
// cold recovery set (r1, r2, r3) declared in its genesis.
func recoveryNet(t *testing.T) *membershiptest.Network {
	t.Helper()
	net := &membershiptest.Network{Approvers: map[string]membershiptest.Approver{}, Chain: membership.NewChain("test"), Now: membershiptest.Epoch0}
	var as []membership.Approver
	for _, a := range []membershiptest.Approver{
		membershiptest.NewApprover("alice", membership.RoleOwner),
		membershiptest.NewApprover("bob", membership.RoleApprover),
		membershiptest.NewApprover("carol", membership.RoleApprover),
	} {
		net.Approvers[a.ID] = a
		as = append(as, a.Approver)
	}
	rec := &membership.Recovery{Threshold: 2}
	for _, id := range []string{"r1", "r2", "r3"} {
		a := membershiptest.NewApprover(id, membership.RoleApprover)
		net.Approvers[id] = a
		rec.Keys = append(rec.Keys, a.PublicKey)
	}
	nodes := []membership.Node{membershiptest.Node(membershiptest.NodeID(0), 0), membershiptest.Node(membershiptest.NodeID(1), 1)}
	g, err := membership.NewGenesisWithRecovery("test", 2, as, nodes, membership.DefaultPolicy(), rec, net.Proposal())
	if err != nil {
		t.Fatal(err)
	}
	if g.Body.SchemaVersion != 3 {
		t.Fatalf("genesis with recovery keys is schema %d, want 3", g.Body.SchemaVersion)
	}
	// Without the recovery keys' own signatures the genesis is refused.
	net.Sign(t, g, "alice", "bob", "carol")
	if _, err := membership.Evaluate(net.Chain.State(), g, net.Options()); membership.CodeOf(err) != membership.NewApproverMustSign {
		t.Fatalf("genesis without the recovery keys' signatures: %v, want NEW_APPROVER_MUST_SIGN", err)
	}
	net.MustApply(t, net.Sign(t, g, "r1", "r2", "r3"))
	return net
}

// try proposes op and applies it signed by signers, returning the
// engine's verdict: the proposal's refusal, or the apply's.
func try(t *testing.T, net *membershiptest.Network, op membership.Operation, signers ...string) error {
	t.Helper()
	u, err := membership.NewUpdate(net.Chain.State(), op, net.Proposal())
	if err != nil {
		return err
	}
	_, err = net.Apply(net.Sign(t, u, signers...))
	return err
}

// recoverOp replaces the approvers with dave (owner) and erin, 2 of 2.
func recoverOp(t *testing.T, net *membershiptest.Network) membership.Operation {
	t.Helper()
	var as []membership.Approver
	for _, a := range []membershiptest.Approver{
		membershiptest.NewApprover("dave", membership.RoleOwner),
		membershiptest.NewApprover("erin", membership.RoleApprover),
	} {
		net.Approvers[a.ID] = a
		as = append(as, a.Approver)
	}
	return membership.Operation{Type: membership.OpRecover, Approvers: membership.NewApproverSet(as), Threshold: 2}
}

// TestRecoveryReplacesLostApprovers: with every approver key lost, the
// owner's included, two of the three recovery keys and the new approvers
// replace the approver set; the new approvers then govern, the old keys
// and the recovery keys cannot.
func TestRecoveryReplacesLostApprovers(t *testing.T) {
	net := recoveryNet(t)
	op := recoverOp(t, net)
	u := net.Sign(t, net.Propose(t, op), "r1", "r3", "dave", "erin")
	if u.Body.SchemaVersion != 3 {
		t.Fatalf("recover is schema %d", u.Body.SchemaVersion)
	}
	back, err := membership.ParseSignedUpdate(u.Encode(), nil)
	if err != nil || !bytes.Equal(back.BodyBytes(), u.BodyBytes()) {
		t.Fatalf("recover does not round-trip: %v", err)
	}
	res := net.MustApply(t, u)
	if res.Auth.Recovery == nil || res.Auth.Recovery.Have != 2 || res.Auth.Old != nil {
		t.Errorf("authorization %+v", res.Auth)
	}
	st := net.Chain.State()
	var ids []string
	for _, a := range st.Approvers() {
		ids = append(ids, a.ID)
	}
	if !slices.Equal(ids, []string{"dave", "erin"}) || st.Threshold() != 2 || st.Recovery() == nil {
		t.Fatalf("after recovery: approvers %v threshold %d recovery %v", ids, st.Threshold(), st.Recovery())
	}
	add := membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node(membershiptest.NodeID(5), 5)}
	for _, tc := range []struct {
		signers []string
		code    membership.Code
	}{
		{[]string{"alice", "bob"}, membership.UnknownSigner}, // the old approvers
		{[]string{"r1", "r2"}, membership.UnknownSigner},     // recovery keys cannot govern
	} {
		if _, err := net.Apply(net.Sign(t, net.Propose(t, add), tc.signers...)); membership.CodeOf(err) != tc.code {
			t.Errorf("add_node signed by %v: %v, want %s", tc.signers, err, tc.code)
		}
	}
	net.MustApply(t, net.Sign(t, net.Propose(t, add), "dave", "erin"))
}

// TestRecoveryRefusals: fewer recovery keys than the threshold gain
// nothing, whoever else signs; the new approvers must prove their keys;
// the new set needs an owner and keys apart from the recovery set; a
// network without recovery keys cannot recover.
func TestRecoveryRefusals(t *testing.T) {
	for _, tc := range []struct {
		name    string
		edit    func(*membership.Operation)
		signers []string
		code    membership.Code
	}{
		{"one recovery key", nil, []string{"r1", "dave", "erin"}, membership.ThresholdNotMet},
		{"the old approvers instead", nil, []string{"alice", "bob", "carol", "dave", "erin"}, membership.ThresholdNotMet},
		{"one recovery key and every approver", nil, []string{"r2", "alice", "bob", "carol", "dave", "erin"}, membership.ThresholdNotMet},
		{"a new approver does not sign", nil, []string{"r1", "r2", "dave"}, membership.NewApproverMustSign},
		{"an outsider signs", nil, []string{"r1", "r2", "dave", "erin", "mallory"}, membership.UnknownSigner},
		{"no owner in the new set", func(op *membership.Operation) { op.Approvers[0].Role = membership.RoleApprover }, []string{"r1", "r2", "dave", "erin"}, membership.OwnerRequired},
		{"threshold above the new set", func(op *membership.Operation) { op.Threshold = 3 }, []string{"r1", "r2", "dave", "erin"}, membership.BadThreshold},
	} {
		t.Run(tc.name, func(t *testing.T) {
			net := recoveryNet(t)
			op := recoverOp(t, net)
			if tc.edit != nil {
				tc.edit(&op)
			}
			before := net.Chain.State().Root()
			if err := try(t, net, op, tc.signers...); membership.CodeOf(err) != tc.code {
				t.Fatalf("%v, want %s", err, tc.code)
			}
			if net.Chain.State().Root() != before {
				t.Fatal("a refused recovery changed the state")
			}
		})
	}
	t.Run("a recovery key as a new approver", func(t *testing.T) {
		net := recoveryNet(t)
		r1 := net.Approvers["r1"]
		op := membership.Operation{Type: membership.OpRecover, Threshold: 1,
			Approvers: []membership.Approver{{ID: "r1", PublicKey: r1.PublicKey, Role: membership.RoleOwner}}}
		if err := try(t, net, op, "r1", "r2"); membership.CodeOf(err) != membership.IllegalOperation {
			t.Fatalf("%v, want ILLEGAL_OPERATION", err)
		}
	})
	t.Run("a network without recovery keys", func(t *testing.T) {
		net := membershiptest.New(t, 1)
		op := recoverOp(t, net)
		if err := try(t, net, op, "alice", "bob", "dave", "erin"); membership.CodeOf(err) != membership.IllegalOperation {
			t.Fatalf("%v, want ILLEGAL_OPERATION", err)
		}
	})
}

// TestSetRecovery: a network without recovery keys adopts them by a
// threshold of approvers, an owner, and each new key's own signature; the
// state becomes schema 3 and can then recover. A recovery key cannot also
// be an approver, and cannot be added as one later.
func TestSetRecovery(t *testing.T) {
	net := membershiptest.New(t, 1)
	rec := &membership.Recovery{Threshold: 1}
	for _, id := range []string{"r1", "r2"} {
		a := membershiptest.NewApprover(id, membership.RoleApprover)
		net.Approvers[id] = a
		rec.Keys = append(rec.Keys, a.PublicKey)
	}
	op := membership.Operation{Type: membership.OpSetRecovery, Recovery: membership.NewRecovery(rec)}
	for _, tc := range []struct {
		signers []string
		code    membership.Code
	}{
		{[]string{"bob", "carol", "r1", "r2"}, membership.OwnerRequired},
		{[]string{"alice", "r1", "r2"}, membership.ThresholdNotMet},
		{[]string{"alice", "bob", "r1"}, membership.NewApproverMustSign},
	} {
		if _, err := net.Apply(net.Sign(t, net.Propose(t, op), tc.signers...)); membership.CodeOf(err) != tc.code {
			t.Errorf("set_recovery signed by %v: %v, want %s", tc.signers, err, tc.code)
		}
	}
	u := net.Sign(t, net.Propose(t, op), "alice", "bob", "r1", "r2")
	if u.Body.SchemaVersion != 3 {
		t.Fatalf("set_recovery is schema %d", u.Body.SchemaVersion)
	}
	net.MustApply(t, u)
	if st := net.Chain.State(); st.SchemaVersion() != 3 || st.Recovery() == nil {
		t.Fatalf("state schema %d recovery %v", st.SchemaVersion(), st.Recovery())
	}
	if err := try(t, net, op, "alice", "bob"); membership.CodeOf(err) != membership.IllegalOperation {
		t.Errorf("the same recovery set again: %v, want ILLEGAL_OPERATION", err)
	}
	r1 := net.Approvers["r1"]
	addR1 := membership.Operation{Type: membership.OpAddApprover, Approver: membership.Approver{ID: "r1", PublicKey: r1.PublicKey, Role: membership.RoleApprover}}
	if err := try(t, net, addR1, "alice", "bob", "carol", "r1"); membership.CodeOf(err) != membership.IllegalOperation {
		t.Errorf("a recovery key added as an approver: %v, want ILLEGAL_OPERATION", err)
	}
	net.MustApply(t, net.Sign(t, net.Propose(t, recoverOp(t, net)), "r2", "dave", "erin"))
	// The whole chain replays, as a node does at start.
	if _, _, err := membership.Replay(net.Log, net.Log[0].Body.NewStateRoot, nil); err != nil {
		t.Fatalf("replay: %v", err)
	}
}

// TestRecoverySetIsValidated: malformed recovery sets in a genesis.
func TestRecoverySetIsValidated(t *testing.T) {
	a := membershiptest.NewApprover("alice", membership.RoleOwner)
	r := membershiptest.NewApprover("r1", membership.RoleApprover)
	for _, tc := range []struct {
		name string
		rec  *membership.Recovery
		code membership.Code
	}{
		{"no keys", &membership.Recovery{Threshold: 1}, membership.IllegalOperation},
		{"threshold 0", &membership.Recovery{Keys: []membership.ApproverKey{r.PublicKey}}, membership.BadThreshold},
		{"threshold above the keys", &membership.Recovery{Keys: []membership.ApproverKey{r.PublicKey}, Threshold: 2}, membership.BadThreshold},
		{"an approver's key", &membership.Recovery{Keys: []membership.ApproverKey{a.PublicKey}, Threshold: 1}, membership.IllegalOperation},
		{"a key twice", &membership.Recovery{Keys: []membership.ApproverKey{r.PublicKey, r.PublicKey}, Threshold: 1}, membership.NonCanonical},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := membership.NewGenesisWithRecovery("test", 1, []membership.Approver{a.Approver}, nil, membership.DefaultPolicy(), tc.rec, membership.Proposal{CreatedAt: membershiptest.Epoch0, Validity: 3600e9})
			if err != nil {
				if membership.CodeOf(err) != tc.code {
					t.Fatalf("NewGenesisWithRecovery: %v, want %s", err, tc.code)
				}
				return
			}
			_, err = membership.Evaluate(membership.Empty("test"), g, membership.Options{Now: membershiptest.Epoch0})
			if membership.CodeOf(err) != tc.code {
				t.Fatalf("%v, want %s", err, tc.code)
			}
		})
	}
}
