package netnstest

import (
	"context"
	"net/netip"
	"testing"

	"github.com/rustynet/rustynet/internal/netnamespace"
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
	tb.Cleanup(func() {
		// Deleting one end deletes the pair; an error means the namespace
		// is already gone, which removed the pair too, or there is none.
		_, _ = a.Output(context.Background(), "ip", "link", "del", v.NameA)
	})
	err := netnamespace.Join(netnamespace.End{NS: a.handle, Name: v.NameA, Addr: addrA}, netnamespace.End{NS: b.handle, Name: v.NameB, Addr: addrB})
	if err != nil {
		tb.Fatalf("joining %s and %s: %v", a.Name, b.Name, err)
	}
	return v
}
