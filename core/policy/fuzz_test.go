package policy_test

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"testing"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/policy"
	"github.com/rustynet/rustynet/hostapi"
)

// Fuzz targets. Their seed corpora are in testdata/fuzz/<target>/. Run
// one with e.g.
//
//	go test -run XXX -fuzz FuzzCompile -fuzztime 30s ./core/policy

// FuzzParseFile: whatever the policy file parser accepts is a valid
// policy in canonical form, and Format writes it back as a file that reads
// as the same policy; whatever it refuses, it refuses with a *FileError.
func FuzzParseFile(f *testing.F) {
	f.Add([]byte(officePolicy))
	f.Add([]byte(m5Policy))
	f.Fuzz(func(t *testing.T, data []byte) {
		pf, err := policy.ParseFile("f.toml", data, nil)
		if err != nil {
			var fe *policy.FileError
			if !errors.As(err, &fe) || fe.Line < 0 {
				t.Fatalf("refusal is not a *FileError with a line: %v", err)
			}
			return
		}
		enc := membership.EncodePolicy(pf.Policy)
		p, err := membership.ParsePolicy(enc, nil)
		if err != nil {
			t.Fatalf("accepted file gives a policy the engine refuses: %v\n%s", err, enc)
		}
		if again := membership.EncodePolicy(p); !bytes.Equal(again, enc) {
			t.Fatalf("canonical policy does not re-encode to itself:\n got %s\nwant %s", again, enc)
		}
		back, err := policy.ParseFile("g.toml", policy.Format(pf.Policy, ""), nil)
		if err != nil {
			t.Fatalf("Format of an accepted policy does not parse: %v", err)
		}
		if got := membership.EncodePolicy(back.Policy); !bytes.Equal(got, enc) {
			t.Fatalf("Format round trip changed the policy:\n got %s\nwant %s", got, enc)
		}
	})
}

// fuzzNodes is the fixed network FuzzCompile compiles for: routers, exits,
// IPv6, a revoked router-exit, routes that hold mesh addresses.
var fuzzNodes = []nodeSpec{
	{id: "gw", addr: "100.64.0.1", tags: []string{"exit", "router"}, routes: []string{"0.0.0.0/0", "10.20.0.0/16", "100.64.0.0/24"}},
	{id: "lap", addr: "100.64.0.2", tags: []string{"laptop"}},
	{id: "srv", addr: "100.64.0.3", tags: []string{"server"}},
	{id: "r2", addr: "fd00::4", tags: []string{"router"}, routes: []string{"10.30.0.0/16", "fd00:30::/64"}},
	{id: "x", addr: "fd00::5", tags: []string{"exit"}},
	{id: "dead", addr: "100.64.0.6", tags: []string{"exit", "laptop", "router"}, routes: []string{"10.40.0.0/16"}},
}

// fuzzPolicy builds a policy from data: every five bytes one rule, its
// context, selectors and ports chosen from pools that include unknown and
// revoked nodes and prefixes in and out of every space. It may be invalid.
func fuzzPolicy(data []byte) *membership.Policy {
	nodeSels := []string{"members", "tag:laptop", "tag:server", "tag:router", "tag:exit", "tag:none", "node:gw", "node:lap", "node:srv", "node:r2", "node:x", "node:dead", "node:ghost"}
	prefixSels := []string{"10.0.0.0/8", "10.20.1.0/24", "10.30.0.0/16", "10.40.0.0/16", "100.64.0.0/24", "100.64.0.1/32", "0.0.0.0/0", "::/0", "fd00::/16", "1.1.1.0/24", "192.168.0.0/16", "2001:db8::/32"}
	exitSels := append([]string{"internet"}, prefixSels...)
	ports := []string{"any", "icmp", "tcp", "udp", "tcp/22", "tcp/80-90", "tcp/85-100", "udp/53", "udp/1-1000", "tcp/65535"}
	pick := func(pool []string, b byte) []membership.Selector {
		var out []membership.Selector
		for i := range pool {
			if b&(1<<(i%8)) != 0 && (i/8) == int(b>>7) {
				s, _ := membership.ParseSelector(pool[i])
				out = append(out, s)
			}
		}
		if len(out) == 0 {
			s, _ := membership.ParseSelector(pool[int(b)%len(pool)])
			out = append(out, s)
		}
		return out
	}
	p := &membership.Policy{}
	for i := 0; i+5 <= len(data) && len(p.Rules) < 16; i += 5 {
		b := data[i : i+5]
		r := membership.Rule{Name: fmt.Sprintf("r%02d", len(p.Rules)), Context: []membership.Context{membership.ContextMesh, membership.ContextRouter, membership.ContextExit}[int(b[0])%3]}
		r.Src = pick(nodeSels, b[1])
		switch r.Context {
		case membership.ContextMesh:
			r.Dst = pick(nodeSels, b[2])
		case membership.ContextRouter:
			r.Dst = pick(prefixSels, b[2])
		default:
			r.Dst = pick(exitSels, b[2])
		}
		for j := range ports {
			if (uint16(b[3])|uint16(b[4])<<8)&(1<<j) != 0 {
				ps, _ := membership.ParsePortSpec(ports[j])
				r.Ports = append(r.Ports, ps)
			}
		}
		if len(r.Ports) == 0 {
			r.Ports = []membership.PortSpec{membership.AllPorts(membership.ProtoTCP)}
		}
		p.Rules = append(p.Rules, r)
	}
	p.Normalize()
	return p
}

// FuzzCompile: for any valid policy, Compile never panics, is
// deterministic, gives at most three rules per policy rule, only
// aggregated prefixes and valid port ranges, never an address of a node
// that is not an active member, and agrees with Decide on the connections
// the input names.
func FuzzCompile(f *testing.F) {
	f.Add([]byte{0, 0xff, 0xff, 0xff, 0xff})
	f.Add([]byte{1, 1, 3, 4, 0, 2, 2, 1, 1, 2})
	net := newTestNet(f, officePolicy, fuzzNodes...)
	net.do(f, membership.Operation{Type: membership.OpRevokeNode, NodeID: "dead"})
	s := net.state()
	dsts := []string{"gw", "lap", "srv", "r2", "x", "dead", "10.20.1.5", "10.30.0.9", "10.40.0.1", "100.64.0.9", "1.1.1.1", "192.168.1.1", "fd00:30::1", "2606:4700::1"}
	probes := []struct {
		proto hostapi.Proto
		port  uint16
	}{{hostapi.ProtoTCP, 22}, {hostapi.ProtoTCP, 88}, {hostapi.ProtoUDP, 53}, {hostapi.ProtoICMP, 0}}
	f.Fuzz(func(t *testing.T, data []byte) {
		p := fuzzPolicy(data)
		if membership.ValidatePolicy(p, nil) != nil {
			return
		}
		filters := map[string]hostapi.Filter{}
		for n := range s.Nodes() {
			for _, serve := range []bool{false, true} {
				a := policy.Compile(p, s, n.ID, policy.Options{Serve: serve})
				if n.ID == "gw" && serve {
					if b := policy.Compile(p, s, n.ID, policy.Options{Serve: serve}); filterText(a) != filterText(b) {
						t.Fatalf("Compile(%s) is not deterministic", n.ID)
					}
				}
				if len(a.Rules) > 3*len(p.Rules) {
					t.Fatalf("Compile(%s): %d rules for %d policy rules", n.ID, len(a.Rules), len(p.Rules))
				}
				for _, r := range a.Rules {
					for _, ps := range [][]netip.Prefix{r.Src, r.Dst} {
						if len(ps) == 0 || !slicesEqual(policy.Aggregate(ps), ps) {
							t.Fatalf("Compile(%s): a prefix list that is empty or not aggregated: %v", n.ID, ps)
						}
						if containsDead(ps) {
							t.Fatalf("Compile(%s): the revoked node's address in\n%s", n.ID, filterText(a))
						}
					}
					for _, pr := range r.Ports {
						if pr.First == 0 || pr.First > pr.Last {
							t.Fatalf("Compile(%s): bad port range %v", n.ID, pr)
						}
					}
				}
				if n.ID == "dead" && len(a.Rules) != 0 {
					t.Fatalf("the revoked node compiles to\n%s", filterText(a))
				}
				if serve {
					filters[n.ID] = a
				}
			}
		}
		for i, src := range []string{"gw", "lap", "srv", "r2", "x"} {
			if i >= len(data) {
				break
			}
			dst := dsts[int(data[i])%len(dsts)]
			pr := probes[int(data[i]>>4)%len(probes)]
			d := policy.Decide(p, s, src, dst, pr.proto, pr.port)
			if d.Via == "" {
				continue
			}
			to, err := netip.ParseAddr(dst)
			if err != nil {
				to = addrOf(t, s, dst)
			}
			if got := allows(filters[d.Via], addrOf(t, s, src), to, pr.proto, pr.port); got != d.Allow {
				t.Fatalf("%s -> %s: Decide %+v, the filter of %s says %v", src, dst, d, d.Via, got)
			}
		}
	})
}

func slicesEqual(a, b []netip.Prefix) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func containsDead(ps []netip.Prefix) bool {
	for _, p := range ps {
		if p.Contains(addr("100.64.0.6")) {
			return true
		}
	}
	return false
}
