package policy_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/policy"
	"github.com/rustynet/rustynet/hostapi"
)

// contextNet is the network of the router and exit tests: gw routes
// 10.20.0.0/16 and 100.64.0.0/24 (which holds the mesh addresses) and is an
// exit; r2 routes 10.30.0.0/16; lap is a laptop; srv a server. gw's
// default route is not served by it as a router (only as an exit).
func contextNet(t *testing.T) *testNet {
	return newTestNet(t, `
[rules.lan]
context = "router"
src = ["tag:laptop"]
dst = ["10.0.0.0/8"]
ports = ["tcp/443"]

[rules.meshy]
context = "router"
src = ["members"]
dst = ["100.64.0.0/24"]
ports = ["icmp"]

[rules.out]
context = "exit"
src = ["tag:laptop"]
dst = ["internet"]
ports = ["tcp/443"]

[rules.lab]
context = "exit"
src = ["srv"]
dst = ["192.168.1.0/24", "10.30.5.0/24"]
ports = ["udp"]
`,
		nodeSpec{id: "gw", addr: "100.64.0.1", tags: []string{"exit", "router"}, routes: []string{"0.0.0.0/0", "10.20.0.0/16", "100.64.0.0/24"}},
		nodeSpec{id: "lap", addr: "100.64.0.2", tags: []string{"laptop"}},
		nodeSpec{id: "srv", addr: "100.64.0.3"},
		nodeSpec{id: "r2", addr: "100.64.0.4", tags: []string{"router"}, routes: []string{"10.30.0.0/16"}},
	)
}

// TestRouterAndExitContexts compiles the router and exit contexts by hand:
// a router reaches only what it serves, never a mesh address; an exit
// reaches the public space or its prefixes, never a mesh address, a routed
// subnet or a reserved range; neither applies without Serve, at a node
// without the tag, or at a revoked node.
func TestRouterAndExitContexts(t *testing.T) {
	net := contextNet(t)
	s := net.state()
	public := policy.PublicSpace()
	// lan (tcp/443 to gw's 10.20.0.0/16) and out (tcp/443 to the
	// internet) share their source and service: one rule.
	lanAndOut := strings.Replace(prefixList(public), "8.0.0.0/7,", "8.0.0.0/7,10.20.0.0/16,", 1)
	want := map[string]string{
		"gw": "" +
			"100.64.0.2/32 -> " + lanAndOut + " tcp 443\n" +
			"100.64.0.2/31,100.64.0.4/32 -> 100.64.0.0/32,100.64.0.5/32,100.64.0.6/31,100.64.0.8/29,100.64.0.16/28,100.64.0.32/27,100.64.0.64/26,100.64.0.128/25 icmp\n" +
			"100.64.0.3/32 -> 192.168.1.0/24 udp 1-65535\n",
		"r2":  "100.64.0.2/32 -> 10.30.0.0/16 tcp 443\n",
		"lap": "",
		"srv": "",
	}
	for id, w := range want {
		got := filterText(net.compile(id))
		if diff := cmp.Diff(lines(w), lines(got)); diff != "" {
			t.Errorf("Compile(%s) (-want +got):\n%s", id, diff)
		}
	}
	if f := policy.Compile(s.Policy(), s, "gw", policy.Options{}); len(f.Rules) != 0 {
		t.Errorf("Compile(gw) without Serve: got\n%s\nwant nothing (router and exit rules need Serve)", filterText(f))
	}
	for _, p := range public {
		for _, r := range mustPrefixes("10.0.0.0/8", "100.64.0.0/10", "192.168.0.0/16", "127.0.0.0/8", "2001:db8::/32", "fc00::/7") {
			if p.Overlaps(r) {
				t.Errorf("the public space %s overlaps reserved %s", p, r)
			}
		}
	}

	decisions := []struct {
		src, dst string
		proto    hostapi.Proto
		port     uint16
		want     policy.Decision
	}{
		{"lap", "10.20.1.1", hostapi.ProtoTCP, 443, policy.Decision{Allow: true, Rule: "lan", Context: membership.ContextRouter, Via: "gw"}},
		{"lap", "10.30.1.1", hostapi.ProtoTCP, 443, policy.Decision{Allow: true, Rule: "lan", Context: membership.ContextRouter, Via: "r2"}},
		{"lap", "10.20.1.1", hostapi.ProtoTCP, 80, policy.Decision{Context: membership.ContextRouter, Via: "gw"}},
		{"srv", "10.20.1.1", hostapi.ProtoTCP, 443, policy.Decision{Context: membership.ContextRouter, Via: "gw"}},
		{"lap", "10.40.0.1", hostapi.ProtoTCP, 443, policy.Decision{Context: membership.ContextExit, Via: "gw"}},
		{"lap", "1.1.1.1", hostapi.ProtoTCP, 443, policy.Decision{Allow: true, Rule: "out", Context: membership.ContextExit, Via: "gw"}},
		{"lap", "2606:4700::1111", hostapi.ProtoTCP, 443, policy.Decision{Allow: true, Rule: "out", Context: membership.ContextExit, Via: "gw"}},
		{"lap", "1.1.1.1", hostapi.ProtoUDP, 443, policy.Decision{Context: membership.ContextExit, Via: "gw"}},
		{"srv", "192.168.1.7", hostapi.ProtoUDP, 5000, policy.Decision{Allow: true, Rule: "lab", Context: membership.ContextExit, Via: "gw"}},
		{"srv", "10.30.5.1", hostapi.ProtoUDP, 5000, policy.Decision{Context: membership.ContextRouter, Via: "r2"}},
		{"lap", "100.64.0.77", hostapi.ProtoICMP, 0, policy.Decision{Allow: true, Rule: "meshy", Context: membership.ContextRouter, Via: "gw"}},
		{"lap", "100.64.0.3", hostapi.ProtoICMP, 0, policy.Decision{Context: membership.ContextMesh, Via: "srv"}},
		{"gw", "10.20.1.1", hostapi.ProtoTCP, 443, policy.Decision{Context: membership.ContextRouter, Via: "gw"}},
		{"gw", "1.1.1.1", hostapi.ProtoTCP, 443, policy.Decision{Context: membership.ContextExit}},
	}
	for _, d := range decisions {
		got := policy.Decide(s.Policy(), s, d.src, d.dst, d.proto, d.port)
		got.Reason = ""
		if diff := cmp.Diff(d.want, got); diff != "" {
			t.Errorf("Decide(%s -> %s %s/%d) (-want +got):\n%s", d.src, d.dst, protoName(d.proto), d.port, diff)
		}
	}

	// Revoking the router and exit: nothing is reached through it.
	net.do(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "gw"})
	s = net.state()
	if f := net.compile("gw"); len(f.Rules) != 0 {
		t.Errorf("Compile(revoked gw): got\n%s\nwant nothing", filterText(f))
	}
	for _, dst := range []string{"1.1.1.1", "10.20.1.1", "100.64.0.77"} {
		if d := policy.Decide(s.Policy(), s, "lap", dst, hostapi.ProtoTCP, 443); d.Allow {
			t.Errorf("Decide(lap -> %s) with gw revoked: got allow by %s, want deny", dst, d.Rule)
		}
	}
	// Untagging r2 as a router: its subnet is no longer reached.
	net.do(t, membership.Operation{Type: membership.OpUpdateNode, NodeID: "r2", Addresses: mustPrefixes("100.64.0.4/32"),
		Endpoints: []netip.AddrPort{}, Tags: []string{}, Routes: mustPrefixes("10.30.0.0/16")})
	if f := net.compile("r2"); len(f.Rules) != 0 {
		t.Errorf("Compile(r2 without the router tag): got\n%s\nwant nothing", filterText(f))
	}
}

func lines(s string) []string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if s == "" {
		return nil
	}
	return lines
}

func mustPrefixes(ss ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParsePrefix(s)
	}
	return out
}
