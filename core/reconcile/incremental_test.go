package reconcile

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/hostapi"
)

// TestChangesMatchesFullDiff checks, for every kind of node operation, that
// the incremental change equals what a full Desired + Diff computes.
func TestChangesMatchesFullDiff(t *testing.T) {
	self := membershiptest.NodeID(0)
	opts := Options{Self: self, SelfKey: membershiptest.NodeKey(self)}
	tests := []struct {
		name     string
		op       membership.Operation
		wantFull bool
	}{
		{"add node", membership.Operation{Type: membership.OpAddNode, Node: membershiptest.Node("fresh", 50)}, false},
		{"revoke node", membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00001"}, false},
		{"remove node", membership.Operation{Type: membership.OpRemoveNode, NodeID: "n00001"}, false},
		{"rotate key", membership.Operation{Type: membership.OpRotateNodeKey, NodeID: "n00001", PublicKey: membershiptest.NodeKey("rotated")}, false},
		{"update node", membership.Operation{Type: membership.OpUpdateNode, NodeID: "n00002", Addresses: []netip.Prefix{netip.MustParsePrefix("100.64.9.9/32")},
			Endpoints: []netip.AddrPort{}, Tags: []string{}, Routes: []netip.Prefix{}}, false},
		{"add approver changes no peer", membership.Operation{Type: membership.OpSetThreshold, Threshold: 3}, false},
		{"revoke self needs a full reconcile", membership.Operation{Type: membership.OpRevokeNode, NodeID: self}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			net := membershiptest.New(t, 4)
			pre := net.Chain.State()
			signers := []string{"alice", "bob"}
			if tt.op.Type == membership.OpSetThreshold {
				signers = []string{"alice", "bob", "carol"}
			}
			u := net.Propose(t, tt.op)
			net.MustApply(t, net.Sign(t, u, signers...))
			post := net.Chain.State()

			got, full := Changes(pre, post, &tt.op, opts)
			if full != tt.wantFull {
				t.Fatalf("full = %v, want %v", full, tt.wantFull)
			}
			if full {
				return
			}
			// The full path: the backend holds pre's plan exactly.
			var current []hostapi.PeerState
			applied := map[hostapi.Key]hostapi.PeerConfig{}
			for _, p := range Desired(pre, opts).Peers {
				current = append(current, hostapi.PeerState{PublicKey: p.PublicKey, Endpoint: p.Endpoint, AllowedIPs: p.AllowedIPs})
				applied[p.PublicKey] = p
			}
			want := Diff(Desired(post, opts).Peers, current, applied)
			if diff := cmp.Diff(want, got, cmp.Comparer(func(x, y netip.Prefix) bool { return x == y }),
				cmp.Comparer(func(x, y netip.AddrPort) bool { return x == y })); diff != "" {
				t.Errorf("Changes differs from Desired+Diff (-full +incremental):\n%s", diff)
			}
		})
	}
}
