package membership_test

import (
	"bytes"
	"slices"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/membership"
)

// resolution builds the resolve_fork of sides on the network's state,
// applying choice, signed by ids.
func resolution(t *testing.T, pre *membership.State, sides []*membership.SignedUpdate, choice membership.Hash, p membership.Proposal, ids func(*membership.SignedUpdate) *membership.SignedUpdate) *membership.SignedUpdate {
	t.Helper()
	r, err := membership.NewResolution(pre, sides, choice, p)
	if err != nil {
		t.Fatalf("NewResolution: %v", err)
	}
	return ids(r)
}

func TestResolutionSettlesAFork(t *testing.T) {
	net, x, y := fork(t) // bob signed both
	pre := net.Chain.State()
	for _, tc := range []struct {
		name   string
		choice membership.Hash
		has    string // a node the resolved state has
		hasNot string
	}{
		{"choose the add", x.Digest(), "n00009", ""},
		{"choose the revoke", y.Digest(), "", "n00009"},
		{"choose neither", membership.Hash{}, "", "n00009"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := resolution(t, pre, []*membership.SignedUpdate{y, x}, tc.choice, net.Proposal(), func(u *membership.SignedUpdate) *membership.SignedUpdate {
				return net.Sign(t, u, "alice", "carol")
			})
			if r.Body.Epoch != x.Body.Epoch || r.Body.PrevStateRoot != x.Body.PrevStateRoot || r.Body.SchemaVersion != 4 {
				t.Fatalf("resolution epoch %d prev %s schema %d", r.Body.Epoch, r.Body.PrevStateRoot, r.Body.SchemaVersion)
			}
			res, err := membership.Evaluate(pre, r, net.Options())
			if err != nil {
				t.Fatalf("Evaluate: %v", err)
			}
			if _, ok := res.Post.Node(tc.has); tc.has != "" && !ok {
				t.Errorf("resolved state lacks %s", tc.has)
			}
			if _, ok := res.Post.Node(tc.hasNot); tc.hasNot != "" && ok {
				t.Errorf("resolved state has %s", tc.hasNot)
			}
			n1, _ := res.Post.Node("n00001")
			if revoked := n1.Status == membership.StatusRevoked; revoked != (tc.choice == y.Digest()) {
				t.Errorf("n00001 status %s with choice %s", n1.Status, tc.choice)
			}
			// Round trip: the portable form parses back to the same bytes.
			back, err := membership.ParseSignedUpdate(r.Encode(), nil)
			if err != nil {
				t.Fatalf("ParseSignedUpdate: %v\n%s", err, r.Encode())
			}
			if !bytes.Equal(back.BodyBytes(), r.BodyBytes()) {
				t.Error("resolution does not re-encode byte-identically")
			}
			if _, err := membership.Evaluate(pre, back, net.Options()); err != nil {
				t.Errorf("parsed resolution: %v", err)
			}
			for _, side := range []*membership.SignedUpdate{x, y} {
				if !membership.Supersedes(r, side) {
					t.Errorf("resolution does not supersede %s", side.Digest())
				}
				if _, err := membership.CheckEquivocation(pre, r, side, nil); membership.CodeOf(err) != membership.IllegalOperation {
					t.Errorf("a resolution and a side it settles are taken for a fork: %v", err)
				}
			}
			if !membership.Settles(r, membership.NewEvidence(net.Log, x, y)) {
				t.Error("resolution does not settle the evidence")
			}
			// A log holding the resolution replays.
			if _, _, err := membership.Replay(append(slices.Clone(net.Log), r), net.Log[0].Body.NewStateRoot, nil); err != nil {
				t.Errorf("Replay: %v", err)
			}
			if lines := membership.Describe(pre, &r.Body.Operation); len(lines) < 3 {
				t.Errorf("Describe: %q", lines)
			}
		})
	}
}

func TestResolutionRefusals(t *testing.T) {
	net, x, y := fork(t)
	pre := net.Chain.State()
	under := net.Sign(t, net.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00002"}), "carol")
	// z was proposed after x had expired: a retry, not a fork with x.
	late := *net
	late.Now = net.Now.Add(2 * time.Hour)
	z := late.Sign(t, late.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00002"}), "alice", "bob")
	sign := func(ids ...string) func(*membership.SignedUpdate) *membership.SignedUpdate {
		return func(u *membership.SignedUpdate) *membership.SignedUpdate { return net.Sign(t, u, ids...) }
	}

	// bob signed both sides: with alice his signature counts for nothing.
	r := resolution(t, pre, []*membership.SignedUpdate{x, y}, x.Digest(), net.Proposal(), sign("alice", "bob"))
	res, err := membership.Evaluate(pre, r, net.Options())
	wantCode(t, err, membership.ThresholdNotMet)
	for _, c := range res.Auth.Signers {
		if c.DoubleSigner != (c.ID == "bob") {
			t.Errorf("signer %s double-signer %v", c.ID, c.DoubleSigner)
		}
	}
	if !slices.Equal(res.Auth.DoubleSigners, []string{"bob"}) {
		t.Errorf("Auth.DoubleSigners %v, want [bob]", res.Auth.DoubleSigners)
	}
	// bob and carol: still one that counts.
	r = resolution(t, pre, []*membership.SignedUpdate{x, y}, membership.Hash{}, net.Proposal(), sign("bob", "carol"))
	_, err = membership.Evaluate(pre, r, net.Options())
	wantCode(t, err, membership.ThresholdNotMet)

	for _, tc := range []struct {
		name  string
		sides []*membership.SignedUpdate
		code  membership.Code
	}{
		{"one side", []*membership.SignedUpdate{x}, membership.IllegalOperation},
		{"the same side twice", []*membership.SignedUpdate{x, x}, membership.IllegalOperation},
		{"a side under threshold", []*membership.SignedUpdate{x, under}, membership.IllegalOperation},
		{"no two sides live at once", []*membership.SignedUpdate{x, z}, membership.IllegalOperation},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := membership.NewResolution(pre, tc.sides, membership.Hash{}, net.Proposal())
			wantCode(t, err, tc.code)
		})
	}
	t.Run("choice not a side", func(t *testing.T) {
		_, err := membership.NewResolution(pre, []*membership.SignedUpdate{x, y}, under.Digest(), net.Proposal())
		wantCode(t, err, membership.IllegalOperation)
	})
	t.Run("a v3 node refuses it", func(t *testing.T) {
		r := resolution(t, pre, []*membership.SignedUpdate{x, y}, x.Digest(), net.Proposal(), sign("alice", "carol"))
		_, err := membership.ParseSignedUpdateV3Only(r.Encode())
		wantCode(t, err, membership.UnknownSchema)
	})
	t.Run("a resolution of another state", func(t *testing.T) {
		r := resolution(t, pre, []*membership.SignedUpdate{x, y}, x.Digest(), net.Proposal(), sign("alice", "carol"))
		net.MustApply(t, x)
		_, err := membership.Evaluate(net.Chain.State(), r, net.Options())
		wantCode(t, err, membership.StaleEpoch)
	})
}

// Two different resolutions of one fork are an equivocation of their own,
// naming approvers the first fork did not.
func TestConflictingResolutionsAreAFork(t *testing.T) {
	net, x, y := fork(t)
	pre := net.Chain.State()
	sign := func(u *membership.SignedUpdate) *membership.SignedUpdate { return net.Sign(t, u, "alice", "carol") }
	r1 := resolution(t, pre, []*membership.SignedUpdate{x, y}, x.Digest(), net.Proposal(), sign)
	r2 := resolution(t, pre, []*membership.SignedUpdate{x, y}, y.Digest(), net.Proposal(), sign)
	rep, err := membership.VerifyEvidence(membership.NewEvidence(net.Log, r1, r2), net.Log[0].Body.NewStateRoot, nil)
	if err != nil {
		t.Fatalf("VerifyEvidence: %v", err)
	}
	if !slices.Equal(rep.DoubleSigners, []string{"alice", "carol"}) {
		t.Errorf("double signers %v, want [alice carol]", rep.DoubleSigners)
	}
	// A third round settles the resolutions and the sides together; only
	// bob, alice and carol are named now, so no one is left to sign it.
	r3, err := membership.NewResolution(pre, []*membership.SignedUpdate{x, y, r1, r2}, membership.Hash{}, net.Proposal())
	if err != nil {
		t.Fatalf("NewResolution: %v", err)
	}
	net.Sign(t, r3, "alice", "carol")
	_, err = membership.Evaluate(pre, r3, net.Options())
	wantCode(t, err, membership.ThresholdNotMet)
	if !membership.Supersedes(r3, x) || !membership.Supersedes(r3, r1) {
		t.Error("a later round does not supersede the earlier sides")
	}
}
