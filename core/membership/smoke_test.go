package membership_test

import (
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

func TestSmokeAddRevokeRemove(t *testing.T) {
	net := membershiptest.New(t, 3)
	n := membershiptest.Node("new", 100)
	u := net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: n})
	net.Sign(t, u, "alice")
	if _, err := net.Apply(u); membership.CodeOf(err) != membership.ThresholdNotMet {
		t.Fatalf("1 of 2: got %v, want THRESHOLD_NOT_MET", err)
	}
	net.Sign(t, u, "bob")
	net.MustApply(t, u)
	if _, err := net.Apply(u); membership.CodeOf(err) != membership.ReplayedUpdate {
		t.Fatalf("replay: got %v", err)
	}
	parsed, err := membership.ParseSignedUpdate(u.Encode(), nil)
	if err != nil {
		t.Fatalf("round trip: %v", err)
	}
	if string(parsed.BodyBytes()) != string(u.BodyBytes()) {
		t.Fatal("body changed in round trip")
	}
	log, err := membership.ParseLog(membership.EncodeLog(net.Log), nil)
	if err != nil {
		t.Fatal(err)
	}
	c, _, err := membership.Replay(log, net.Log[0].Body.NewStateRoot, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.State().Root() != net.Chain.State().Root() {
		t.Fatal("replayed root differs")
	}
	t.Logf("%s", u.Encode())
}
