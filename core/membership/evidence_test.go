package membership_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// fork returns a 3-member network of 2-of-3 approvers one update past
// genesis, and two conflicting updates for its next epoch: x adds node
// n00009 (signed by alice and bob), y revokes n00001 (signed by bob and
// carol). bob signed both.
func fork(t *testing.T) (*membershiptest.Network, *membership.SignedUpdate, *membership.SignedUpdate) {
	t.Helper()
	net := membershiptest.New(t, 3)
	net.MustApply(t, net.Sign(t, net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("n00005", 5)}), "alice", "carol"))
	x := net.Sign(t, net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("n00009", 9)}), "alice", "bob")
	y := net.Sign(t, net.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00001"}), "bob", "carol")
	return net, x, y
}

func TestEvidenceNamesDoubleSignersAndRoundTrips(t *testing.T) {
	net, x, y := fork(t)
	genesis := net.Log[0].Body.NewStateRoot
	for _, order := range [][2]*membership.SignedUpdate{{x, y}, {y, x}} {
		ev := membership.NewEvidence(net.Log, order[0], order[1])
		rep, err := membership.VerifyEvidence(ev, genesis, nil)
		if err != nil {
			t.Fatalf("VerifyEvidence: %v", err)
		}
		if !slices.Equal(rep.DoubleSigners, []string{"bob"}) {
			t.Errorf("double signers %v, want [bob]", rep.DoubleSigners)
		}
		if rep.Epoch != 3 || rep.PrevRoot != net.Chain.State().Root() || rep.GenesisRoot != genesis {
			t.Errorf("report epoch %d prev %s genesis %s", rep.Epoch, rep.PrevRoot, rep.GenesisRoot)
		}
		enc := ev.Encode()
		back, err := membership.ParseEvidence(enc, nil)
		if err != nil {
			t.Fatalf("ParseEvidence: %v\n%s", err, enc)
		}
		if !bytes.Equal(back.Encode(), enc) {
			t.Error("evidence does not re-encode byte-identically")
		}
		// Either arrival order gives the same bytes and the same name.
		other := membership.NewEvidence(net.Log, order[1], order[0])
		if !bytes.Equal(other.Encode(), enc) {
			t.Error("evidence depends on the order the updates arrived in")
		}
		if rep.Name() == "" || rep.Summary() == "" {
			t.Error("empty name or summary")
		}
	}
}

func TestEvidenceRefusals(t *testing.T) {
	net, x, y := fork(t)
	genesis := net.Log[0].Body.NewStateRoot
	under := net.Sign(t, net.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00002"}), "carol")
	outsider := net.Sign(t, net.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00002"}), "carol", "mallory")
	other := membershiptest.New(t, 3)
	otherPin := other.Log[0].Body.NewStateRoot
	for _, tc := range []struct {
		name string
		ev   *membership.Evidence
		pin  membership.Hash
		code membership.Code
	}{
		{"same update twice", &membership.Evidence{Log: net.Log, Updates: [2]*membership.SignedUpdate{x, x}}, genesis, membership.IllegalOperation},
		{"one side under threshold", membership.NewEvidence(net.Log, x, under), genesis, membership.ThresholdNotMet},
		{"one side signed by an outsider", membership.NewEvidence(net.Log, x, outsider), genesis, membership.UnknownSigner},
		{"log of another genesis", membership.NewEvidence(net.Log, x, y), otherPin, membership.IntegrityFailure},
		{"no log", membership.NewEvidence(nil, x, y), membership.Hash{}, membership.IntegrityFailure},
		{"log one entry short", membership.NewEvidence(net.Log[:1], x, y), genesis, membership.FutureEpoch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := membership.VerifyEvidence(tc.ev, tc.pin, nil)
			if got := membership.CodeOf(err); got != tc.code {
				t.Fatalf("VerifyEvidence: %v, want %s", err, tc.code)
			}
		})
	}
}

func TestParseEvidenceRefusesMalformed(t *testing.T) {
	net, x, y := fork(t)
	good := membership.NewEvidence(net.Log, x, y).Encode()
	swapped := bytes.Replace(good, []byte(`"epoch": 3`), []byte(`"epoch": 4`), 1)
	for _, tc := range []struct {
		name string
		data []byte
		code membership.Code
	}{
		{"empty", nil, membership.NonCanonical},
		{"not JSON", []byte("hello"), membership.NonCanonical},
		{"unknown key", bytes.Replace(good, []byte(`"rustynet_evidence": 1,`), []byte(`"rustynet_evidence": 1, "x": 1,`), 1), membership.NonCanonical},
		{"future version", bytes.Replace(good, []byte(`"rustynet_evidence": 1,`), []byte(`"rustynet_evidence": 2,`), 1), membership.UnknownSchema},
		{"header disagrees", swapped, membership.NonCanonical},
		{"trailing data", append(slices.Clone(good), []byte("{}")...), membership.NonCanonical},
		{"one update", []byte(`{"rustynet_evidence":1,"network_id":"test","epoch":3,"prev_state_root":"00","log":[],"updates":[{}]}`), membership.NonCanonical},
		{"log not an array", []byte(`{"rustynet_evidence":1,"network_id":"test","epoch":3,"prev_state_root":"00","log":{},"updates":[{},{}]}`), membership.NonCanonical},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := membership.ParseEvidence(tc.data, nil)
			if membership.CodeOf(err) != tc.code {
				t.Fatalf("ParseEvidence: %v, want %s", err, tc.code)
			}
		})
	}
}

func FuzzParseEvidence(f *testing.F) {
	net, x, y := fork(&testing.T{})
	f.Add(membership.NewEvidence(net.Log, x, y).Encode())
	f.Add([]byte(`{"rustynet_evidence":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := membership.ParseEvidence(data, nil)
		if err != nil {
			if membership.CodeOf(err) == "" {
				t.Fatalf("error without a code: %v", err)
			}
			return
		}
		back, err := membership.ParseEvidence(ev.Encode(), nil)
		if err != nil {
			t.Fatalf("re-encoded evidence does not parse: %v", err)
		}
		if !bytes.Equal(back.Encode(), ev.Encode()) {
			t.Fatal("re-encoding is not stable")
		}
	})
}

// TestForkFloorIsOrderIndependent: nodes on either side of a fork at the
// head compute the same floor — the members both sides (and the state
// before) agree on, byte for byte.
func TestForkFloorIsOrderIndependent(t *testing.T) {
	net, x, y := fork(t)
	rep, err := membership.CheckEquivocation(net.Chain.State(), x, y, nil)
	if err != nil {
		t.Fatal(err)
	}
	pre, px, py := rep.Pre, rep.Posts[0], rep.Posts[1]
	a := membership.ForkFloor(px, pre, px, py)
	b := membership.ForkFloor(py, pre, px, py)
	ids := func(s *membership.State) (out []string) {
		for n := range s.Nodes() {
			out = append(out, n.ID+":"+string(n.Status))
		}
		return out
	}
	if !slices.Equal(ids(a), ids(b)) {
		t.Fatalf("floors differ: %v vs %v", ids(a), ids(b))
	}
	// n00009 is only on one side and n00001's record differs (revoked on
	// one): neither is in the floor; the others are.
	if want := []string{"n00000:active", "n00002:active", "n00005:active"}; !slices.Equal(ids(a), want) {
		t.Fatalf("floor %v, want %v", ids(a), want)
	}
	ha, oka := a.PolicyDigest()
	hb, okb := b.PolicyDigest()
	if !oka || !okb || ha != hb {
		t.Errorf("the policy both sides agree on is lost: %v %v", oka, okb)
	}
	// A side that changed the policy leaves the floor without one.
	z := net.Sign(t, net.Propose(t, membership.Operation{Type: membership.OpSetPolicy, Policy: &membership.Policy{}}), "alice", "bob")
	rz, err := membership.CheckEquivocation(net.Chain.State(), x, z, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := membership.ForkFloor(rz.Posts[1], rz.Pre, rz.Posts[0], rz.Posts[1]).PolicyDigest(); ok {
		t.Error("a floor over two different policies keeps one")
	}
}

// TestReproposalAfterExpiryIsNoEquivocation: an update that expired
// unapplied and the one proposed again for the same epoch after it had
// expired, both signed by a quorum, are a retry, not a fork.
func TestReproposalAfterExpiryIsNoEquivocation(t *testing.T) {
	net, x, _ := fork(t)
	net.Now = net.Now.Add(2 * time.Hour) // x expired unapplied; the operator proposes again
	again := net.Sign(t, net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("n00009", 9)}), "alice", "bob")
	_, err := membership.CheckEquivocation(net.Chain.State(), x, again, nil)
	if membership.CodeOf(err) != membership.IllegalOperation {
		t.Fatalf("%v, want ILLEGAL_OPERATION (not an equivocation)", err)
	}
}
