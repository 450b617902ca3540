package membership_test

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"net/netip"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// TestThreatMatrix runs the engine-level rows of the seed's threat-driven
// test matrix (000_b4b6481d6f7819a3.txt §6). Every refused update leaves
// the chain exactly as it was (wantReject checks state, root, seen ids and
// log). Row 7 (a revoked node reconnecting at the data plane) is the
// daemon's; its engine part — the revoked status is in the trusted state
// and in the root — is asserted under row 6.
func TestThreatMatrix(t *testing.T) {
	t.Run("1 forged signature", func(t *testing.T) {
		net := membershiptest.New(t, 2)
		u := net.Propose(t, addOp("x", 50))
		alice, bob := net.Approvers["alice"], net.Approvers["bob"]
		mallory := membershiptest.NewApprover("mallory", membership.RoleApprover)
		zero := base64.StdEncoding.EncodeToString(make([]byte, ed25519.SignatureSize))
		other := net.Sign(t, net.Propose(t, addOp("y", 51)), "alice", "bob")
		cases := map[string][]wireSig{
			"zero signature bytes": {rawSign(alice, docSigningMessage("test", u.BodyBytes())), {bob.PublicKey.String(), zero}},
			"attacker's signature under an approver's key": {rawSign(alice, docSigningMessage("test", u.BodyBytes())),
				{bob.PublicKey.String(), rawSign(mallory, docSigningMessage("test", u.BodyBytes())).Signature}},
			"valid signatures of another update": sigsOf(other),
			"signature over the body hash":       {rawSign(alice, docSigningMessage("test", u.BodyBytes())), rawSign(bob, sha256Of(u.BodyBytes()))},
		}
		for name, sigs := range cases {
			t.Run(name, func(t *testing.T) {
				wantReject(t, net, mustParse(t, envelope(u.BodyBytes(), sigs...)), membership.BadSignature, "")
			})
		}
	})

	t.Run("2 under threshold", func(t *testing.T) {
		net := membershiptest.NewWith(t, "test", 3, approvers("a1", "a2", "a3", "a4", "a5"), 2)
		u := net.Propose(t, addOp("x", 50))
		net.Sign(t, u, "a1", "a2")
		wantReject(t, net, u, membership.ThresholdNotMet, "2 of 3")
		// Padding the count with anything but a third approver fails too.
		wantReject(t, net, withSigs(t, u, sigsOf(u)[1]), membership.DuplicateSigner, "")
		wantReject(t, net, net.Sign(t, mustParse(t, u.Encode()), "mallory"), membership.UnknownSigner, "")
		net.MustApply(t, net.Sign(t, u, "a5"))
	})

	t.Run("3 replayed old valid update", func(t *testing.T) {
		net := membershiptest.New(t, 2)
		u1 := net.Sign(t, net.Propose(t, addOp("x", 50)), "alice", "bob")
		net.MustApply(t, u1)
		net.MustApply(t, net.Sign(t, net.Propose(t, addOp("y", 51)), "alice", "bob"))
		wantReject(t, net, u1, membership.ReplayedUpdate, "")
		wantReject(t, net, net.Log[0], membership.ReplayedUpdate, "") // even the genesis
		// A node that never saw u1's id refuses it by epoch and root.
		_, err := membership.Evaluate(net.Chain.State(), u1, net.Options())
		wantCode(t, err, membership.StaleEpoch)
		// Replaying from a log: a log with an entry repeated.
		log := append(append([]*membership.SignedUpdate{}, net.Log...), u1)
		_, n, err := membership.Replay(log, membership.Hash{}, nil)
		if membership.CodeOf(err) != membership.ReplayedUpdate || n != len(log)-1 {
			t.Errorf("Replay with a repeated entry: got %v at entry %d, want REPLAYED_UPDATE at %d", err, n, len(log)-1)
		}
	})

	t.Run("4 rollback to an older root", func(t *testing.T) {
		net := membershiptest.New(t, 2)
		old := net.Chain.State()
		for i, id := range []string{"x", "y"} {
			net.MustApply(t, net.Sign(t, net.Propose(t, addOp(id, 50+i)), "alice", "bob"))
		}
		// An update at the right epoch that chains from an older root.
		b := nextBody(net.Chain.State(), membership.Operation{Type: membership.OpRemoveNode, NodeID: "n00000"}, net.Now)
		b.PrevStateRoot = old.Root()
		wantReject(t, net, net.Sign(t, forge(t, b), "alice", "bob"), membership.WrongPrevRoot, "")
		// An update prepared against the older state (its own epoch).
		stale, err := membership.NewUpdate(old, membership.Operation{Type: membership.OpRemoveNode, NodeID: "n00000"}, net.Proposal())
		if err != nil {
			t.Fatal(err)
		}
		wantReject(t, net, net.Sign(t, stale, "alice", "bob"), membership.StaleEpoch, "")
		// A log with an entry dropped or two entries swapped does not replay.
		full := net.Log
		for name, log := range map[string][]*membership.SignedUpdate{
			"dropped": {full[0], full[2]},
			"swapped": {full[0], full[2], full[1]},
		} {
			// The entry after the gap is ahead of the state it meets.
			if _, _, err := membership.Replay(log, full[0].Body.NewStateRoot, nil); membership.CodeOf(err) != membership.FutureEpoch {
				t.Errorf("Replay of a log with an entry %s: got %v, want FUTURE_EPOCH", name, err)
			}
		}
		// A truncated log replays to an older root; that root differs from
		// the latest, which is what the store's high-water mark compares.
		c, _, err := membership.Replay(full[:2], full[0].Body.NewStateRoot, nil)
		if err != nil || c.State().Root() == net.Chain.State().Root() {
			t.Errorf("truncated log: got root %v (err %v), want an older root than %s", c.State().Root(), err, net.Chain.State().Root())
		}
	})

	t.Run("5 conflicting same-epoch updates", func(t *testing.T) {
		for _, order := range []string{"A then B", "B then A"} {
			t.Run(order, func(t *testing.T) {
				net := membershiptest.New(t, 2)
				a := net.Sign(t, net.Propose(t, addOp("x", 50)), "alice", "bob")
				b := net.Sign(t, net.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00000"}), "bob", "carol")
				first, second := a, b
				if order == "B then A" {
					first, second = b, a
				}
				net.MustApply(t, first)
				wantReject(t, net, second, membership.StaleEpoch, "")
				// Re-labelled for the next epoch, it still chains from the
				// pre-fork root.
				body := second.Body
				body.Epoch++
				wantReject(t, net, net.Sign(t, forge(t, body), "alice", "bob", "carol"), membership.WrongPrevRoot, "")
			})
		}
		t.Run("the same change twice", func(t *testing.T) {
			net := membershiptest.New(t, 2)
			a := net.Sign(t, net.Propose(t, addOp("x", 50)), "alice", "bob")
			b := net.Sign(t, net.Propose(t, addOp("x", 50)), "alice", "bob") // other update id
			if a.Body.NewStateRoot == b.Body.NewStateRoot {
				t.Fatalf("two updates with different ids claim one root")
			}
			net.MustApply(t, b)
			wantReject(t, net, a, membership.StaleEpoch, "")
		})
		t.Run("two nodes that forked refuse each other", func(t *testing.T) {
			n1 := membershiptest.New(t, 2)
			n2 := &membershiptest.Network{Approvers: n1.Approvers, Chain: membership.NewChain("test"), Now: n1.Now}
			n2.MustApply(t, n1.Log[0])
			a := n1.Sign(t, n1.Propose(t, addOp("x", 50)), "alice", "bob")
			b := n2.Sign(t, n2.Propose(t, addOp("y", 51)), "alice", "bob")
			n1.MustApply(t, a)
			n2.MustApply(t, b)
			wantReject(t, n1, b, membership.StaleEpoch, "")
			wantReject(t, n2, a, membership.StaleEpoch, "")
			next := n1.Sign(t, n1.Propose(t, addOp("z", 52)), "alice", "bob")
			wantReject(t, n2, next, membership.WrongPrevRoot, "")
		})
	})

	t.Run("6 revoked node re-adds itself without quorum", func(t *testing.T) {
		net := membershiptest.New(t, 3)
		net.MustApply(t, net.Sign(t, net.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00001"}), "alice", "bob"))
		if n, _ := net.Chain.State().Node("n00001"); n.Status != membership.StatusRevoked {
			t.Fatalf("after revoke: got status %q, want revoked", n.Status)
		}
		// The node's operator holds a signing key of its own ("n00001") and
		// has compromised one approver (carol); the threshold is 2.
		fresh := membershiptest.Node("n00001", 1)
		fresh.PublicKey = membershiptest.NodeKey("n00001-new")
		cases := []struct {
			name    string
			op      membership.Operation
			signers []string
			code    membership.Code
		}{
			{"restore, signed by itself", membership.Operation{Type: membership.OpRestoreNode, NodeID: "n00001"}, []string{"n00001"}, membership.UnknownSigner},
			{"restore, signed by itself and one approver", membership.Operation{Type: membership.OpRestoreNode, NodeID: "n00001"}, []string{"carol", "n00001"}, membership.UnknownSigner},
			{"restore, signed by one approver", membership.Operation{Type: membership.OpRestoreNode, NodeID: "n00001"}, []string{"carol"}, membership.ThresholdNotMet},
			{"re-add under its id with a quorum", membership.Operation{Type: membership.OpAddNode, Node: fresh}, []string{"alice", "bob"}, membership.IllegalOperation},
			{"rotate its key, signed by one approver", membership.Operation{Type: membership.OpRotateNodeKey, NodeID: "n00001", PublicKey: fresh.PublicKey}, []string{"carol"}, membership.ThresholdNotMet},
			{"update itself, signed by one approver", membership.Operation{Type: membership.OpUpdateNode, NodeID: "n00001", Addresses: pfxs("100.64.9.9/32"), Endpoints: []netip.AddrPort{}, Tags: []string{"exit"}, Routes: pfxs("0.0.0.0/0")}, []string{"carol"}, membership.ThresholdNotMet},
			{"make itself an approver", membership.Operation{Type: membership.OpAddApprover, Approver: membershiptest.NewApprover("n00001", membership.RoleOwner).Approver}, []string{"carol", "n00001"}, membership.ThresholdNotMet},
			{"re-add under a new id, signed by itself", membership.Operation{Type: membership.OpAddNode, Node: func() membership.Node { n := membershiptest.Node("n00001b", 77); return n }()}, []string{"n00001"}, membership.UnknownSigner},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				u, err := membership.NewUpdate(net.Chain.State(), c.op, net.Proposal())
				if err != nil {
					wantCode(t, err, c.code)
					u = forge(t, nextBody(net.Chain.State(), c.op, net.Now))
				}
				wantReject(t, net, net.Sign(t, u, c.signers...), c.code, "")
			})
		}
		// Removed, then re-added by itself: still no quorum.
		net.MustApply(t, net.Sign(t, net.Propose(t, membership.Operation{Type: membership.OpRemoveNode, NodeID: "n00001"}), "alice", "bob"))
		readd := net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("n00001", 1)})
		wantReject(t, net, net.Sign(t, readd, "carol", "n00001"), membership.UnknownSigner, "")
	})

	t.Run("ABA add X, remove X, replay the add", func(t *testing.T) {
		net := membershiptest.New(t, 2)
		s0 := net.Chain.State()
		add := net.Sign(t, net.Propose(t, addOp("x", 50)), "alice", "bob")
		net.MustApply(t, add)
		// An add of y prepared at s1 but never applied.
		pending := net.Sign(t, net.Propose(t, addOp("y", 51)), "alice", "bob")
		net.MustApply(t, net.Sign(t, net.Propose(t, membership.Operation{Type: membership.OpRemoveNode, NodeID: "x"}), "alice", "bob"))
		s2 := net.Chain.State()

		if !sameMembers(s0, s2) {
			t.Fatalf("after add and remove of x: the members differ from before, want the same")
		}
		if s0.Root() == s2.Root() {
			t.Fatalf("after add and remove of x: got root %s, the root of the earlier state with the same members", s2.Root())
		}
		wantReject(t, net, add, membership.ReplayedUpdate, "")
		if _, err := membership.Evaluate(s2, add, net.Options()); membership.CodeOf(err) != membership.StaleEpoch {
			t.Errorf("Evaluate(old add) on the ABA state: got %v, want STALE_EPOCH", err)
		}
		wantReject(t, net, pending, membership.StaleEpoch, "")
		// Relabelled to the current epoch, the old add still chains from
		// s0: refused by its id, and without the id check by its root.
		b := add.Body
		b.Epoch = s2.Epoch() + 1
		relabelled := net.Sign(t, forge(t, b), "alice", "bob")
		wantReject(t, net, relabelled, membership.ReplayedUpdate, "")
		if _, err := membership.Evaluate(s2, relabelled, net.Options()); membership.CodeOf(err) != membership.WrongPrevRoot {
			t.Errorf("Evaluate(relabelled old add) on the ABA state: got %v, want WRONG_PREV_ROOT", err)
		}
		b.UpdateID[0] ^= 1
		wantReject(t, net, net.Sign(t, forge(t, b), "alice", "bob"), membership.WrongPrevRoot, "")
		// The same change proposed afresh is fine.
		net.MustApply(t, net.Sign(t, net.Propose(t, addOp("x", 50)), "alice", "bob"))
	})

	t.Run("8 time skew", func(t *testing.T) {
		net := membershiptest.New(t, 2)
		skew := membership.DefaultLimits().MaxClockSkew
		p := net.Proposal()
		p.CreatedAt = net.Now.Add(skew + time.Second)
		ahead, err := membership.NewUpdate(net.Chain.State(), addOp("x", 50), p)
		if err != nil {
			t.Fatal(err)
		}
		net.Sign(t, ahead, "alice", "bob")
		wantReject(t, net, ahead, membership.NotYetValid, "")
		// A verifier whose clock runs ahead past the expiry refuses it too.
		net.Now = net.Now.Add(skew + 2*time.Hour)
		wantReject(t, net, ahead, membership.Expired, "")
		// Within the skew it is accepted.
		net.Now = p.CreatedAt.Add(-skew)
		net.MustApply(t, ahead)
	})
}

// TestRootsNeverRepeat walks a long chain that keeps returning to the same
// members (add, revoke, restore, remove, rotate there and back) and checks
// that no root ever repeats.
func TestRootsNeverRepeat(t *testing.T) {
	net := membershiptest.New(t, 2)
	seen := map[membership.Hash]uint64{net.Chain.State().Root(): 1}
	for i := range 5 {
		for _, op := range []membership.Operation{
			addOp("x", 50),
			{Type: membership.OpRevokeNode, NodeID: "x"},
			{Type: membership.OpRestoreNode, NodeID: "x"},
			{Type: membership.OpRotateNodeKey, NodeID: "x", PublicKey: membershiptest.NodeKey("other")},
			{Type: membership.OpRotateNodeKey, NodeID: "x", PublicKey: membershiptest.NodeKey("x")},
			{Type: membership.OpRemoveNode, NodeID: "x"},
			{Type: membership.OpSetThreshold, Threshold: 3},
			{Type: membership.OpSetThreshold, Threshold: 2},
		} {
			net.MustApply(t, net.Sign(t, net.Propose(t, op), "alice", "bob", "carol"))
			s := net.Chain.State()
			if e, dup := seen[s.Root()]; dup {
				t.Fatalf("round %d, %s: root %s repeats the root of epoch %d", i, op.Type, s.Root(), e)
			}
			seen[s.Root()] = s.Epoch()
		}
	}
}

func sameMembers(a, b *membership.State) bool {
	var as, bs []string
	for n := range a.Nodes() {
		as = append(as, n.ID+"/"+n.PublicKey.String()+"/"+string(n.Status))
	}
	for n := range b.Nodes() {
		bs = append(bs, n.ID+"/"+n.PublicKey.String()+"/"+string(n.Status))
	}
	if len(as) != len(bs) || a.Threshold() != b.Threshold() || len(a.Approvers()) != len(b.Approvers()) {
		return false
	}
	for i := range as {
		if as[i] != bs[i] {
			return false
		}
	}
	return true
}

func sha256Of(b []byte) []byte {
	s := sha256.Sum256(b)
	return s[:]
}
