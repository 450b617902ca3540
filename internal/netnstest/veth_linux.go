package netnstest

import (
	"context"
	"net/netip"
	"testing"
)

// Veth is a veth pair joining two namespaces.
type Veth struct {
	A, B         *Namespace   // the namespaces of the two ends
	NameA, NameB string       // interface names, in A and in B
	AddrA, AddrB netip.Prefix // addresses assigned to the two ends
}

// Connect joins a and b with a veth pair, assigns addrA to a's end and addrB
// to b's end, and brings both ends up. Addresses are chosen by the test,
// from 10.99.0.0/16 or the benchmarking range 198.18.0.0/15. The pair is
// deleted in tb.Cleanup (before the namespaces are).
func Connect(tb testing.TB, a *Namespace, addrA netip.Prefix, b *Namespace, addrB netip.Prefix) *Veth {
	tb.Helper()
	v := &Veth{A: a, B: b, NameA: UniqueName("va"), NameB: UniqueName("vb"), AddrA: addrA, AddrB: addrB}
	a.Run(tb, "ip", "link", "add", v.NameA, "type", "veth", "peer", "name", v.NameB, "netns", b.Name)
	tb.Cleanup(func() {
		// Deleting one end deletes the pair; an error means the namespace
		// is already gone, which removed the pair too.
		_, _ = a.Output(context.Background(), "ip", "link", "del", v.NameA)
	})
	a.Run(tb, "ip", "addr", "add", addrA.String(), "dev", v.NameA)
	b.Run(tb, "ip", "addr", "add", addrB.String(), "dev", v.NameB)
	a.Run(tb, "ip", "link", "set", v.NameA, "up")
	b.Run(tb, "ip", "link", "set", v.NameB, "up")
	return v
}
