package policy_test

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/policy"
	"github.com/rustynet/rustynet/hostapi"
)

// TestMeshServicePortIsAlwaysAdmitted: the agent's own service port is
// open to every active member (and only to them) whatever the policy —
// none at all, deny-all, or rules about other ports — and nothing else
// opens with it.
func TestMeshServicePortIsAlwaysAdmitted(t *testing.T) {
	nodes := []nodeSpec{{id: "a", addr: "100.64.0.1"}, {id: "b", addr: "100.64.0.2"}, {id: "c", addr: "100.64.0.3"}}
	for _, tc := range []struct{ name, policy string }{
		{"no policy", "-"},
		{"deny all", ""},
		{"web only", "[rules.web]\ncontext = \"mesh\"\nsrc = [\"members\"]\ndst = [\"members\"]\nports = [\"tcp/443\"]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := newTestNet(t, tc.policy, nodes...)
			n.do(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "c"})
			st := n.Chain.State()
			f := policy.Compile(st.Policy(), st, "a", policy.Options{MeshServicePort: 7946})
			without := policy.Compile(st.Policy(), st, "a", policy.Options{})
			b, a, c := netip.MustParseAddr("100.64.0.2"), netip.MustParseAddr("100.64.0.1"), netip.MustParseAddr("100.64.0.3")
			if !admits(f, b, a, 7946) {
				t.Errorf("an active member cannot reach the service port: %+v", f.Rules)
			}
			if admits(f, c, a, 7946) {
				t.Errorf("a revoked member reaches the service port: %+v", f.Rules)
			}
			for _, port := range []uint16{22, 443, 7945, 7947} { // nothing else changes
				if admits(f, b, a, port) != admits(without, b, a, port) {
					t.Errorf("port %d: the service changed the policy's verdict", port)
				}
			}
			if g := policy.Compile(st.Policy(), st, "c", policy.Options{MeshServicePort: 7946}); len(g.Rules) != 0 {
				t.Errorf("a revoked node's filter admits %+v", g.Rules)
			}
		})
	}
}

// admits reports whether f lets a TCP connection from src reach dst:port.
func admits(f hostapi.Filter, src, dst netip.Addr, port uint16) bool {
	in := func(ps []netip.Prefix, a netip.Addr) bool {
		return slices.ContainsFunc(ps, func(p netip.Prefix) bool { return p.Contains(a) })
	}
	for _, r := range f.Rules {
		if (r.Proto != hostapi.ProtoTCP && r.Proto != hostapi.ProtoAny) || !in(r.Src, src) || !in(r.Dst, dst) {
			continue
		}
		if len(r.Ports) == 0 || slices.ContainsFunc(r.Ports, func(p hostapi.PortRange) bool { return p.First <= port && port <= p.Last }) {
			return true
		}
	}
	return false
}
