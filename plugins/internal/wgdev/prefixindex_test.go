package wgdev

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

// randomPrefix draws from a small space so that overlaps are common: IPv4
// under 10.0.0.0/20 and IPv6 under fd00::/116, at every length.
func randomPrefix(r *rand.Rand) netip.Prefix {
	if r.IntN(4) == 0 {
		a := netip.MustParseAddr("fd00::").As16()
		a[14], a[15] = byte(r.IntN(16)), byte(r.IntN(256))
		return netip.PrefixFrom(netip.AddrFrom16(a), 112+r.IntN(17)).Masked()
	}
	return netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 0, byte(r.IntN(16)), byte(r.IntN(256))}), 16+r.IntN(17)).Masked()
}

func TestPrefixIndexMatchesBruteForce(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	owners := make([]hostapi.Key, 8)
	for i := range owners {
		owners[i][0] = byte(i + 1)
	}
	for round := 0; round < 200; round++ {
		x := newPrefixIndex()
		var all []prefixEntry
		for i := 0; i < r.IntN(40); i++ {
			e := prefixEntry{randomPrefix(r), owners[r.IntN(len(owners))]}
			x.insert(e.owner, []netip.Prefix{e.p})
			all = append(all, e)
		}
		// Remove some again, as commits do.
		for i := 0; i < len(all)/4; i++ {
			j := r.IntN(len(all))
			x.remove(all[j].owner, []netip.Prefix{all[j].p})
			all = append(all[:j], all[j+1:]...)
		}
		for q := 0; q < 50; q++ {
			p := randomPrefix(r)
			self := owners[r.IntN(len(owners))]
			skip := func(k hostapi.Key) bool { return k == self }
			want := false
			for _, e := range all {
				if e.owner != self && e.p.Overlaps(p) {
					want = true
				}
			}
			e, got := x.overlap(p, skip)
			if got != want {
				t.Fatalf("round %d: overlap(%v) skipping %v: got %v, want %v", round, p, self[0], got, want)
			}
			if got && (e.owner == self || !e.p.Overlaps(p)) {
				t.Fatalf("round %d: overlap(%v) returned %v of %v, which does not overlap or is skipped", round, p, e.p, e.owner[0])
			}
		}
	}
}

func TestLastAddr(t *testing.T) {
	for _, tt := range []struct{ p, want string }{
		{"10.0.0.0/8", "10.255.255.255"},
		{"10.1.2.3/32", "10.1.2.3"},
		{"0.0.0.0/0", "255.255.255.255"},
		{"10.0.0.0/13", "10.7.255.255"},
		{"fd00::/64", "fd00::ffff:ffff:ffff:ffff"},
		{"::/0", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
	} {
		if got := lastAddr(netip.MustParsePrefix(tt.p)); got != netip.MustParseAddr(tt.want) {
			t.Errorf("lastAddr(%s): got %v, want %s", tt.p, got, tt.want)
		}
	}
}
