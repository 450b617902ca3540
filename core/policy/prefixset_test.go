package policy_test

import (
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/rustynet/rustynet/core/policy"
)

// TestPrefixSets checks aggregate, subtract and intersect against sets of
// addresses enumerated one by one, in a /24 of IPv4 and a /120 of IPv6,
// and that aggregates are in their one form: sorted, none inside another,
// no two halves of one prefix.
func TestPrefixSets(t *testing.T) {
	for _, base := range []netip.Prefix{netip.MustParsePrefix("10.9.8.0/24"), netip.MustParsePrefix("fd00::100/120")} {
		addrs := func() []netip.Addr {
			var out []netip.Addr
			for a := base.Addr(); base.Contains(a); a = a.Next() {
				out = append(out, a)
			}
			return out
		}()
		r := rand.New(rand.NewPCG(1, 2))
		randSet := func() []netip.Prefix {
			var out []netip.Prefix
			for range r.IntN(6) {
				bits := base.Bits() + r.IntN(base.Addr().BitLen()-base.Bits()+1)
				p, _ := addrs[r.IntN(len(addrs))].Prefix(bits)
				out = append(out, p)
			}
			return out
		}
		set := func(ps []netip.Prefix) map[netip.Addr]bool {
			m := map[netip.Addr]bool{}
			for _, a := range addrs {
				for _, p := range ps {
					if p.Contains(a) {
						m[a] = true
					}
				}
			}
			return m
		}
		check := func(what string, got []netip.Prefix, want func(netip.Addr) bool) {
			t.Helper()
			g := set(got)
			for _, a := range addrs {
				if g[a] != want(a) {
					t.Fatalf("%s: %s: got in=%v, want %v (result %v)", what, a, g[a], want(a), got)
				}
			}
			for i := 1; i < len(got); i++ {
				x, y := got[i-1], got[i]
				if x.Addr().Compare(y.Addr()) >= 0 || x.Overlaps(y) {
					t.Fatalf("%s: result %v is not sorted and disjoint", what, got)
				}
				if x.Bits() == y.Bits() {
					px, _ := x.Addr().Prefix(x.Bits() - 1)
					py, _ := y.Addr().Prefix(y.Bits() - 1)
					if px == py {
						t.Fatalf("%s: result %v holds the two halves of %s", what, got, px)
					}
				}
			}
		}
		for range 2000 {
			a, b := randSet(), randSet()
			sa, sb := set(a), set(b)
			check("aggregate", policy.Aggregate(a), func(x netip.Addr) bool { return sa[x] })
			check("subtract", policy.Subtract(a, b), func(x netip.Addr) bool { return sa[x] && !sb[x] })
			check("intersect", policy.Intersect(a, b), func(x netip.Addr) bool { return sa[x] && sb[x] })
		}
	}
	if got := policy.Subtract([]netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}, []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}); len(got) != 0 {
		t.Errorf("everything minus everything: got %v", got)
	}
	whole := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/1"), netip.MustParsePrefix("128.0.0.0/1")}
	if got := policy.Aggregate(whole); len(got) != 1 || got[0] != netip.MustParsePrefix("0.0.0.0/0") {
		t.Errorf("Aggregate of the two halves of the IPv4 space: got %v, want 0.0.0.0/0", got)
	}
	mixed := []netip.Prefix{netip.MustParsePrefix("::/1"), netip.MustParsePrefix("0.0.0.0/1")}
	if got := policy.Aggregate(mixed); len(got) != 2 || !got[0].Addr().Is4() {
		t.Errorf("Aggregate across families: got %v, want IPv4 first and nothing merged", got)
	}
}
