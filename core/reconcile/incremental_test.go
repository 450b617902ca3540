package reconcile

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/hostapi"
)

// fullDelta is what the daemon's full path computes when the backend holds
// pre's plan exactly: Diff against the read-back peers, DiffRoutes against
// the read-back routes.
func fullDelta(pre, post *membership.State, opts Options) Delta {
	var current []hostapi.PeerState
	applied := map[hostapi.Key]hostapi.PeerConfig{}
	before := Desired(pre, opts)
	for _, p := range before.Peers {
		current = append(current, hostapi.PeerState{PublicKey: p.PublicKey, Endpoint: p.Endpoint, AllowedIPs: p.AllowedIPs,
			PersistentKeepalive: p.PersistentKeepalive})
		applied[p.PublicKey] = p
	}
	after := Desired(post, opts)
	return Delta{Peers: Diff(after.Peers, current, applied), Routes: DiffRoutes(after.Routes, before.Routes)}
}

// TestChangesMatchesFullDiff checks, for every kind of node operation and
// every routing choice, that the change Changes computes equals what the
// full Desired + Diff path computes, peers and routes alike.
func TestChangesMatchesFullDiff(t *testing.T) {
	self := membershiptest.NodeID(0)
	fresh := membershiptest.Node("fresh", 50)
	tests := []struct {
		name     string
		op       func(t *testing.T, net *membershiptest.Network) membership.Operation
		wantFull bool
	}{
		{"add node", func(*testing.T, *membershiptest.Network) membership.Operation {
			return membership.Operation{Type: membership.OpAddNode, Node: fresh}
		}, false},
		{"revoke node", func(*testing.T, *membershiptest.Network) membership.Operation {
			return membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00004"}
		}, false},
		{"remove node", func(*testing.T, *membershiptest.Network) membership.Operation {
			return membership.Operation{Type: membership.OpRemoveNode, NodeID: "n00004"}
		}, false},
		{"rotate key", func(*testing.T, *membershiptest.Network) membership.Operation {
			return membership.Operation{Type: membership.OpRotateNodeKey, NodeID: "n00004", PublicKey: membershiptest.NodeKey("rotated")}
		}, false},
		{"update node address", func(*testing.T, *membershiptest.Network) membership.Operation {
			return membership.Operation{Type: membership.OpUpdateNode, NodeID: "n00005", Addresses: pfx("100.64.9.9/32"),
				Endpoints: []netip.AddrPort{}, Tags: []string{}, Routes: []netip.Prefix{}}
		}, false},
		{"revoke a router", func(*testing.T, *membershiptest.Network) membership.Operation {
			return membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00001"}
		}, false},
		{"revoke the chosen exit", func(*testing.T, *membershiptest.Network) membership.Operation {
			return membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00002"}
		}, false},
		{"remove the router tag: a shared route moves to the next router", func(t *testing.T, net *membershiptest.Network) membership.Operation {
			return tag(t, net, "n00001", []string{"web"}, pfx("10.1.0.0/16", "10.9.0.0/24"))
		}, false},
		{"remove the exit tag", func(t *testing.T, net *membershiptest.Network) membership.Operation {
			return tag(t, net, "n00002", []string{membership.TagRouter}, pfx("10.9.0.0/24", "10.2.0.0/16"))
		}, false},
		{"a plain node becomes a router", func(t *testing.T, net *membershiptest.Network) membership.Operation {
			return tag(t, net, "n00004", []string{membership.TagRouter}, pfx("10.4.0.0/16"))
		}, false},
		{"a node takes the address a router serves", func(t *testing.T, net *membershiptest.Network) membership.Operation {
			return membership.Operation{Type: membership.OpUpdateNode, NodeID: "n00005", Addresses: pfx("100.64.7.7/32"),
				Endpoints: []netip.AddrPort{}, Tags: []string{}, Routes: []netip.Prefix{}}
		}, false},
		{"set threshold changes no peer", func(*testing.T, *membershiptest.Network) membership.Operation {
			return membership.Operation{Type: membership.OpSetThreshold, Threshold: 3}
		}, false},
		{"revoke self needs a full reconcile", func(*testing.T, *membershiptest.Network) membership.Operation {
			return membership.Operation{Type: membership.OpRevokeNode, NodeID: self}
		}, true},
		{"tag self needs a full reconcile", func(t *testing.T, net *membershiptest.Network) membership.Operation {
			return tag(t, net, self, []string{membership.TagExit}, nil)
		}, true},
	}
	options := map[string]Options{
		"plain":         {Self: self, SelfKey: membershiptest.NodeKey(self)},
		"accept routes": {Self: self, SelfKey: membershiptest.NodeKey(self), AcceptRoutes: true},
		"exit n00002":   {Self: self, SelfKey: membershiptest.NodeKey(self), AcceptRoutes: true, ExitNode: "n00002"},
	}
	for _, tt := range tests {
		for oname, opts := range options {
			t.Run(tt.name+"/"+oname, func(t *testing.T) {
				net := routingNetwork(t)
				// n00001 also serves 100.64.7.7/32, which no node holds yet.
				apply(t, net, tag(t, net, "n00001", []string{membership.TagRouter}, pfx("10.1.0.0/16", "10.9.0.0/24", "100.64.7.7/32")))
				pre := net.Chain.State()
				op := tt.op(t, net)
				signers := []string{"alice", "bob"}
				if op.Type == membership.OpSetThreshold {
					signers = []string{"alice", "bob", "carol"}
				}
				net.MustApply(t, net.Sign(t, net.Propose(t, op), signers...))
				post := net.Chain.State()

				got, full := Changes(pre, post, &op, opts)
				if full != tt.wantFull {
					t.Fatalf("full = %v, want %v", full, tt.wantFull)
				}
				if full {
					return
				}
				want := fullDelta(pre, post, opts)
				if diff := cmp.Diff(want, got, cmpNetip, cmpopts.EquateEmpty(), cmpopts.SortSlices(func(a, b netip.Prefix) bool { return a.Compare(b) < 0 })); diff != "" {
					t.Errorf("Changes differs from Desired+Diff (-full +incremental):\n%s", diff)
				}
			})
		}
	}
}

// TestChangesOnARouterNetwork checks the route changes of the router and
// exit cases themselves, not only that the two paths agree.
func TestChangesOnARouterNetwork(t *testing.T) {
	self := membershiptest.NodeID(0)
	opts := Options{Self: self, SelfKey: membershiptest.NodeKey(self), AcceptRoutes: true, ExitNode: "n00002"}
	net := routingNetwork(t)
	pre := net.Chain.State()
	op := membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00002"}
	apply(t, net, op)
	got, _ := Changes(pre, net.Chain.State(), &op, opts)
	n2, _ := pre.Node("n00002")
	want := hostapi.RouteChanges{Remove: append(pfx("0.0.0.0/0", "10.2.0.0/16"), append(n2.Addresses, pfx("::/0")...)...)}
	if diff := cmp.Diff(want, got.Routes, cmpNetip, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("routes revoking the exit (-want +got):\n%s", diff)
	}
	if len(got.Peers.Remove) != 1 || got.Peers.Remove[0] != hostapi.Key(n2.PublicKey) || len(got.Peers.Upsert) != 0 {
		t.Errorf("peers revoking the exit = %+v, want n00002 removed", got.Peers)
	}
}
