package reconcile

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/hostapi"
)

var cmpNetip = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}, netip.AddrPort{})

func pfx(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, 0, len(ss))
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}

// tag returns the update_node operation that gives node id of net these
// tags and routes, keeping its addresses and endpoints.
func tag(t *testing.T, net *membershiptest.Network, id string, tags []string, routes []netip.Prefix) membership.Operation {
	t.Helper()
	n, ok := net.Chain.State().Node(id)
	if !ok {
		t.Fatalf("no node %s", id)
	}
	slices.Sort(tags)
	slices.SortFunc(routes, netip.Prefix.Compare)
	return membership.Operation{Type: membership.OpUpdateNode, NodeID: id, Addresses: n.Addresses, Endpoints: n.Endpoints,
		Tags: append([]string{}, tags...), Routes: append([]netip.Prefix{}, routes...)}
}

func apply(t *testing.T, net *membershiptest.Network, ops ...membership.Operation) {
	t.Helper()
	for _, op := range ops {
		net.MustApply(t, net.Sign(t, net.Propose(t, op), "alice", "bob"))
	}
}

// routingNetwork is n00000 (self) … n00005 with:
//
//	n00001 router for 10.1.0.0/16, 10.9.0.0/24, 0.0.0.0/0 and n00004's address
//	n00002 router for 10.9.0.0/24 and 10.2.0.0/16, and an exit
//	n00003 exit, revoked
//	n00004 plain
//	n00005 has routes but no router tag
func routingNetwork(t *testing.T) *membershiptest.Network {
	t.Helper()
	net := membershiptest.New(t, 6)
	n4, _ := net.Chain.State().Node("n00004")
	apply(t, net,
		tag(t, net, "n00001", []string{membership.TagRouter}, append(pfx("10.1.0.0/16", "10.9.0.0/24", "0.0.0.0/0"), n4.Addresses...)),
		tag(t, net, "n00002", []string{membership.TagRouter, membership.TagExit, "web"}, pfx("10.9.0.0/24", "10.2.0.0/16")),
		tag(t, net, "n00003", []string{membership.TagExit}, nil),
		membership.Operation{Type: membership.OpRevokeNode, NodeID: "n00003"},
		tag(t, net, "n00005", []string{"web"}, pfx("10.5.0.0/16")),
	)
	return net
}

func TestDesiredRouting(t *testing.T) {
	net := routingNetwork(t)
	s := net.Chain.State()
	addr := func(id string) netip.Prefix { n, _ := s.Node(id); return n.Addresses[0] }
	self := membershiptest.NodeID(0)
	base := Options{Self: self, SelfKey: membershiptest.NodeKey(self)}
	with := func(f func(*Options)) Options { o := base; f(&o); return o }
	tests := []struct {
		name      string
		opts      Options
		wantIPs   map[string][]netip.Prefix // by peer id
		wantExtra string                    // ExitProblem
	}{
		{"routes not accepted: addresses only", base, map[string][]netip.Prefix{
			"n00001": {addr("n00001")}, "n00002": {addr("n00002")}, "n00004": {addr("n00004")}, "n00005": {addr("n00005")},
		}, ""},
		{"routes accepted: the first router by id gets a shared route; no default route, no mesh address from a router",
			with(func(o *Options) { o.AcceptRoutes = true }), map[string][]netip.Prefix{
				"n00001": append([]netip.Prefix{addr("n00001")}, pfx("10.1.0.0/16", "10.9.0.0/24")...),
				"n00002": append([]netip.Prefix{addr("n00002")}, pfx("10.9.0.0/24", "10.2.0.0/16")[1:]...),
				"n00004": {addr("n00004")}, "n00005": {addr("n00005")},
			}, ""},
		{"exit chosen: the exit gets both default routes", with(func(o *Options) { o.ExitNode = "n00002" }), map[string][]netip.Prefix{
			"n00001": {addr("n00001")}, "n00002": append([]netip.Prefix{addr("n00002")}, pfx("0.0.0.0/0", "::/0")...),
			"n00004": {addr("n00004")}, "n00005": {addr("n00005")},
		}, ""},
		{"revoked exit: no default route", with(func(o *Options) { o.ExitNode = "n00003" }), map[string][]netip.Prefix{
			"n00001": {addr("n00001")}, "n00002": {addr("n00002")}, "n00004": {addr("n00004")}, "n00005": {addr("n00005")},
		}, "n00003 is revoked"},
		{"untagged exit: no default route", with(func(o *Options) { o.ExitNode = "n00004" }), map[string][]netip.Prefix{
			"n00001": {addr("n00001")}, "n00002": {addr("n00002")}, "n00004": {addr("n00004")}, "n00005": {addr("n00005")},
		}, `n00004 is not tagged "exit" in the signed membership`},
		{"unknown exit", with(func(o *Options) { o.ExitNode = "ghost" }), map[string][]netip.Prefix{
			"n00001": {addr("n00001")}, "n00002": {addr("n00002")}, "n00004": {addr("n00004")}, "n00005": {addr("n00005")},
		}, "ghost is not a member of network test"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := Desired(s, tt.opts)
			got := map[string][]netip.Prefix{}
			var routes []netip.Prefix
			for _, p := range plan.Peers {
				for n := range s.Nodes() {
					if hostapi.Key(n.PublicKey) == p.PublicKey {
						got[n.ID] = p.AllowedIPs
					}
				}
				routes = append(routes, p.AllowedIPs...)
			}
			if diff := cmp.Diff(tt.wantIPs, got, cmpNetip); diff != "" {
				t.Errorf("allowed IPs (-want +got):\n%s", diff)
			}
			slices.SortFunc(routes, netip.Prefix.Compare)
			if diff := cmp.Diff(routes, plan.Routes, cmpNetip); diff != "" {
				t.Errorf("routes are not the union of the allowed IPs (-union +routes):\n%s", diff)
			}
			if got := ExitProblem(s, tt.opts); got != tt.wantExtra {
				t.Errorf("ExitProblem = %q, want %q", got, tt.wantExtra)
			}
			if plan.Gateway != nil {
				t.Errorf("gateway %+v for a node with no router or exit tag", plan.Gateway)
			}
			// The plan is a valid peer set for every backend.
			if _, err := hostapi.NewPeerSet().Plan(hostapi.PeerChanges{Upsert: plan.Peers}, hostapi.PeerLimits{Self: hostapi.Key(tt.opts.SelfKey)}); err != nil {
				t.Errorf("the plan's peers are not a valid set: %v", err)
			}
		})
	}
}

func TestGateway(t *testing.T) {
	net := routingNetwork(t)
	s := net.Chain.State()
	opts := func(self string, serve bool) Options {
		return Options{Self: self, SelfKey: membershiptest.NodeKey(self), Serve: serve, Masquerade: true, AcceptRoutes: true}
	}
	tests := []struct {
		name string
		opts Options
		want *hostapi.GatewayConfig
	}{
		{"router serves its routes but never a default route nor a mesh address", opts("n00001", true),
			&hostapi.GatewayConfig{Prefixes: pfx("10.1.0.0/16", "10.9.0.0/24"), Masquerade: true}},
		{"router and exit", opts("n00002", true), &hostapi.GatewayConfig{Prefixes: pfx("10.2.0.0/16", "10.9.0.0/24", "0.0.0.0/0", "::/0"), Masquerade: true}},
		{"opted out", opts("n00002", false), nil},
		{"routes without the router tag serve nothing", opts("n00005", true), nil},
		{"revoked exit serves nothing", opts("n00003", true), nil},
		{"plain node", opts("n00004", true), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			plan := Desired(s, tt.opts)
			if diff := cmp.Diff(tt.want, plan.Gateway, cmpNetip); diff != "" {
				t.Errorf("Desired gateway (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.want, Gateway(s, tt.opts), cmpNetip); diff != "" {
				t.Errorf("Gateway (-want +got):\n%s", diff)
			}
			// A router does not route what it serves into its own tunnel.
			if tt.want != nil {
				for _, r := range plan.Routes {
					if slices.Contains(tt.want.Prefixes, r) {
						t.Errorf("route %s into the tunnel, though this node serves it", r)
					}
				}
			}
		})
	}
}
