package policy_test

import (
	"math/rand/v2"
	"net/netip"
	"slices"
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

// TestAggregateLargeMixedSets checks aggregate on long lists that mix the
// families (IPv4, IPv6 and IPv4-mapped IPv6, which is IPv6): as compile
// aggregates the addresses of thousands of members. The result must hold
// exactly the addresses the list does, in the one form, IPv4 first.
func TestAggregateLargeMixedSets(t *testing.T) {
	bases := []netip.Prefix{
		netip.MustParsePrefix("10.9.8.0/24"),
		netip.MustParsePrefix("fd00::100/120"),
		netip.MustParsePrefix("::ffff:10.9.8.0/120"),
	}
	var addrs []netip.Addr
	for _, base := range bases {
		for a := base.Addr(); base.Contains(a); a = a.Next() {
			addrs = append(addrs, a)
		}
	}
	r := rand.New(rand.NewPCG(3, 4))
	for round := range 300 {
		var list []netip.Prefix
		for range r.IntN(600) {
			base := bases[r.IntN(len(bases))]
			host := base.Addr().BitLen()
			// Mostly host prefixes, as members' addresses are; some shorter.
			bits := host
			if r.IntN(8) == 0 {
				bits = base.Bits() + r.IntN(host-base.Bits()+1)
			}
			a := addrs[r.IntN(len(addrs))]
			if !base.Contains(a) {
				continue
			}
			p := netip.PrefixFrom(a, bits) // unmasked on purpose: aggregate masks
			list = append(list, p)
		}
		if round%3 == 0 {
			list = append(list, netip.Prefix{}) // an invalid prefix is dropped
		}
		got := policy.Aggregate(list)
		for _, a := range addrs {
			want := false
			for _, p := range list {
				if p.IsValid() && p.Masked().Contains(a) {
					want = true
					break
				}
			}
			in := false
			for _, p := range got {
				if p.Contains(a) {
					in = true
					break
				}
			}
			if in != want {
				t.Fatalf("round %d: %s: in the aggregate %v, in the list %v", round, a, in, want)
			}
		}
		for i, p := range got {
			if p != p.Masked() {
				t.Fatalf("round %d: %s is not masked", round, p)
			}
			if i == 0 {
				continue
			}
			x := got[i-1]
			if x.Addr().Compare(p.Addr()) >= 0 || x.Overlaps(p) {
				t.Fatalf("round %d: %s before %s: not sorted and disjoint", round, x, p)
			}
			if x.Bits() == p.Bits() && x.Addr().Is4() == p.Addr().Is4() {
				px, _ := x.Addr().Prefix(x.Bits() - 1)
				py, _ := p.Addr().Prefix(p.Bits() - 1)
				if px == py {
					t.Fatalf("round %d: %s and %s are the halves of %s", round, x, p, px)
				}
			}
		}
	}
}

// BenchmarkAggregate aggregates the mesh addresses of 10,000 members (one
// IPv4 and one IPv6 host address each), in address order and shuffled: what
// a compile does for a rule over every member.
func BenchmarkAggregate(b *testing.B) {
	var ps []netip.Prefix
	for i := range 10000 {
		ps = append(ps, netip.PrefixFrom(netip.AddrFrom4([4]byte{100, 64 + byte(i>>16), byte(i >> 8), byte(i)}), 32))
		ps = append(ps, netip.PrefixFrom(netip.AddrFrom16([16]byte{0: 0xfd, 1: 0x7a, 14: byte(i >> 8), 15: byte(i)}), 128))
	}
	shuffled := slices.Clone(ps)
	rand.New(rand.NewPCG(5, 6)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	for _, c := range []struct {
		name string
		ps   []netip.Prefix
	}{{"ordered", ps}, {"shuffled", shuffled}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				policy.Aggregate(c.ps)
			}
		})
	}
}
