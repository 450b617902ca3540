package wgkernel

import (
	"context"
	"net/netip"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/rustynet/rustynet/hostapi"
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

func testRoutes(t *testing.T) {
	ctx := context.Background()
	ns := newNetNS(t)
	b := newBackendIn(t, ns, hostapi.InterfaceConfig{
		Name:       "wgroute0",
		PrivateKey: newKeyPair(t).priv,
		Addresses:  prefixList("100.64.0.1/24"),
	})
	// An operator's route through the same interface, which SetRoutes must
	// leave alone.
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	link, err := h.LinkByName("wgroute0")
	if err != nil {
		t.Fatal(err)
	}
	operator := &netlink.Route{LinkIndex: link.Attrs().Index, Dst: prefixIPNet(netip.MustParsePrefix("10.30.0.0/16")), Scope: netlink.SCOPE_LINK}
	if err := h.RouteAdd(operator); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		name   string
		routes []netip.Prefix
		want   []string
	}{
		{"add", prefixList("10.10.0.0/16", "10.20.0.5/24", "fd00:10::/64", "0.0.0.0/0"), []string{
			"0.0.0.0/0 proto 77", "10.10.0.0/16 proto 77", "10.20.0.0/24 proto 77", "10.30.0.0/16 proto boot",
			"100.64.0.0/24 proto kernel", "fd00:10::/64 proto 77",
		}},
		{"replace", prefixList("10.10.0.0/16", "10.40.0.0/16"), []string{
			"10.10.0.0/16 proto 77", "10.30.0.0/16 proto boot", "10.40.0.0/16 proto 77", "100.64.0.0/24 proto kernel",
		}},
		{"clear", nil, []string{"10.30.0.0/16 proto boot", "100.64.0.0/24 proto kernel"}},
	}
	for _, s := range steps {
		if err := b.SetRoutes(ctx, s.routes); err != nil {
			t.Fatalf("%s: SetRoutes: %v", s.name, err)
		}
		if diff := cmp.Diff(s.want, routesVia(t, ns, "wgroute0")); diff != "" {
			t.Errorf("%s: routes (-want +got):\n%s", s.name, diff)
		}
	}

	if err := b.SetRoutes(ctx, prefixList("10.10.0.0/16")); err != nil {
		t.Fatal(err)
	}
	before := routesVia(t, ns, "wgroute0")
	wantCode(t, "SetRoutes with an invalid prefix", b.SetRoutes(ctx, []netip.Prefix{netip.MustParsePrefix("10.50.0.0/16"), {}}), hostapi.CodeInvalidArgument)
	if diff := cmp.Diff(before, routesVia(t, ns, "wgroute0")); diff != "" {
		t.Errorf("routes changed by an invalid SetRoutes (-before +after):\n%s", diff)
	}
}
