package wgkernel

import (
	"context"
	"net/netip"
	"slices"
	"strconv"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/hostroute"
)

// routesVia returns the prefixes of all main-table routes through the
// interface name in ns, with their protocol, sorted.
func routesVia(t *testing.T, ns netns.NsHandle, name string) []string {
	t.Helper()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	link, err := h.LinkByName(name)
	if err != nil {
		t.Fatal(err)
	}
	list, err := h.RouteListFiltered(netlink.FAMILY_ALL,
		&netlink.Route{LinkIndex: link.Attrs().Index, Table: unix.RT_TABLE_MAIN},
		netlink.RT_FILTER_OIF|netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range list {
		p, ok := ipNetPrefix(r.Dst)
		if !ok || p.Addr().Is6() && p.Addr().IsLinkLocalUnicast() || r.Type != unix.RTN_UNICAST {
			continue
		}
		out = append(out, p.String()+" proto "+r.Protocol.String())
	}
	slices.Sort(out)
	return out
}

// ownRules lists ns's policy rules that carry hostroute.Protocol:
// "FAMILY PRIORITY TABLE".
func ownRules(t *testing.T, ns netns.NsHandle) []string {
	t.Helper()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	var out []string
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		rules, err := h.RuleList(fam)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			if r.Protocol == hostroute.Protocol {
				out = append(out, map[int]string{unix.AF_INET: "v4", unix.AF_INET6: "v6"}[fam]+" "+itoa(r.Priority)+" "+itoa(r.Table))
			}
		}
	}
	return out
}

// testRoutes changes routes by difference, beside an operator's routes
// through the same interface (one with a prefix the backend is asked for
// too), which must stay as they are.
func testRoutes(t *testing.T) {
	ctx := context.Background()
	ns := newNetNS(t)
	b := newBackendIn(t, ns, hostapi.InterfaceConfig{
		Name:       "wgroute0",
		PrivateKey: newKeyPair(t).priv,
		Addresses:  prefixList("100.64.0.1/24"),
	})
	runIn(t, ns, "ip", "route", "add", "10.30.0.0/16", "dev", "wgroute0")

	steps := []struct {
		name      string
		change    hostapi.RouteChanges
		wantState []netip.Prefix
		want      []string
	}{
		{"add", hostapi.RouteChanges{Add: prefixList("10.10.0.0/16", "10.20.0.0/24", "fd00:10::/64", "10.30.0.0/16", "100.64.0.0/24")},
			prefixList("10.10.0.0/16", "10.20.0.0/24", "10.30.0.0/16", "fd00:10::/64"),
			[]string{"10.10.0.0/16 proto 77", "10.20.0.0/24 proto 77", "10.30.0.0/16 proto 77", "10.30.0.0/16 proto boot",
				"100.64.0.0/24 proto kernel", "fd00:10::/64 proto 77"}},
		{"by difference", hostapi.RouteChanges{Remove: prefixList("10.20.0.0/24", "10.30.0.0/16", "fd00:10::/64", "10.99.0.0/16"), Add: prefixList("10.40.0.0/16", "10.10.0.0/16")},
			prefixList("10.10.0.0/16", "10.40.0.0/16"),
			[]string{"10.10.0.0/16 proto 77", "10.30.0.0/16 proto boot", "10.40.0.0/16 proto 77", "100.64.0.0/24 proto kernel"}},
	}
	for _, s := range steps {
		if err := b.ApplyRoutes(ctx, s.change); err != nil {
			t.Fatalf("%s: ApplyRoutes: %v", s.name, err)
		}
		if diff := cmp.Diff(s.want, routesVia(t, ns, "wgroute0")); diff != "" {
			t.Errorf("%s: routes (-want +got):\n%s", s.name, diff)
		}
		if diff := cmp.Diff(s.wantState, mustState(t, b).Routes, netipComparers); diff != "" {
			t.Errorf("%s: State routes (-want +got):\n%s", s.name, diff)
		}
	}

	before := routesVia(t, ns, "wgroute0")
	wantCode(t, "ApplyRoutes with host bits", b.ApplyRoutes(ctx, hostapi.RouteChanges{Remove: prefixList("10.10.0.0/16"), Add: prefixList("10.50.0.1/16")}), hostapi.CodeInvalidArgument)
	if diff := cmp.Diff(before, routesVia(t, ns, "wgroute0")); diff != "" {
		t.Errorf("routes changed by an invalid ApplyRoutes (-before +after):\n%s", diff)
	}
}

// testDefaultRoute installs default routes of both families and checks
// what keeps the kernel's own WireGuard packets out of them: the device's
// firewall mark and the policy rules; a restarted backend adopting the
// interface reports and removes them.
func testDefaultRoute(t *testing.T) {
	ctx := context.Background()
	ns := newNetNS(t)
	cfg := hostapi.InterfaceConfig{Name: "wgdef0", PrivateKey: newKeyPair(t).priv, Addresses: prefixList("100.64.0.1/24")}
	first := newBackendIn(t, ns, cfg)
	if err := first.ApplyRoutes(ctx, hostapi.RouteChanges{Add: prefixList("0.0.0.0/0", "::/0", "10.10.0.0/16")}); err != nil {
		t.Fatal(err)
	}
	link, err := linkIn(t, ns, "wgdef0")
	if err != nil {
		t.Fatal(err)
	}
	mark, err := hostroute.MarkOf(link.Attrs().Index)
	if err != nil {
		t.Fatal(err)
	}
	table := itoa(int(mark))
	wantRules := []string{"v4 32764 254", "v4 32765 " + table, "v6 32764 254", "v6 32765 " + table}
	wantRoutes := prefixList("0.0.0.0/0", "10.10.0.0/16", "::/0")
	check := func(when string, b *Backend) {
		t.Helper()
		if got := firewallMark(t, b); got != int(mark) {
			t.Errorf("%s: the device's firewall mark: got %#x, want %#x", when, got, mark)
		}
		if diff := cmp.Diff(wantRules, ownRules(t, ns)); diff != "" {
			t.Errorf("%s: policy rules (-want +got):\n%s", when, diff)
		}
		if diff := cmp.Diff(wantRoutes, mustState(t, b).Routes, netipComparers); diff != "" {
			t.Errorf("%s: State routes (-want +got):\n%s", when, diff)
		}
	}
	check("after ApplyRoutes", first)

	// A restarted plugin adopts the interface: it finds the routes, rules
	// and mark, and owns them.
	second := newBackendIn(t, ns, cfg)
	check("after adoption", second)
	if err := second.ApplyRoutes(ctx, hostapi.RouteChanges{Remove: prefixList("0.0.0.0/0", "::/0")}); err != nil {
		t.Fatal(err)
	}
	if got := firewallMark(t, second); got != 0 {
		t.Errorf("the device's firewall mark after the default routes went: got %#x, want 0", got)
	}
	if got := ownRules(t, ns); len(got) != 0 {
		t.Errorf("policy rules after the default routes went: %v", got)
	}
	if diff := cmp.Diff(prefixList("10.10.0.0/16"), mustState(t, second).Routes, netipComparers); diff != "" {
		t.Errorf("State routes after the default routes went (-want +got):\n%s", diff)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }
