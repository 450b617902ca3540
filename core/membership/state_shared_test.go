package membership_test

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
)

// TestNodeSharedIsNode: NodeShared returns what Node returns (only
// without the copy), and nothing for an unknown id.
func TestNodeSharedIsNode(t *testing.T) {
	net := membershiptest.New(t, 3)
	st := net.Chain.State()
	for n := range st.Nodes() {
		shared, ok := st.NodeShared(n.ID)
		copied, _ := st.Node(n.ID)
		if !ok || !cmp.Equal(shared, copied, cmpopts.EquateComparable(netip.Prefix{}, netip.AddrPort{})) {
			t.Errorf("NodeShared(%s) = %+v, %v; Node gives %+v", n.ID, shared, ok, copied)
		}
	}
	if _, ok := st.NodeShared("no-such-node"); ok {
		t.Error("NodeShared found a node that is not there")
	}
}
