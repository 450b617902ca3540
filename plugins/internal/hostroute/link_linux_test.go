package hostroute

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/netnstest"
)

// testIface is an interface in a namespace of its own: one end of a veth
// pair whose other end is in the same namespace, up, with an address.
type testIface struct {
	ns    *netnstest.Namespace
	name  string
	index int
	mark  uint32

	mu    sync.Mutex
	marks []uint32 // every mark SetMark was given
	fail  error    // what SetMark returns
}

func newTestIface(t *testing.T) *testIface {
	t.Helper()
	ns := netnstest.New(t)
	ti := &testIface{ns: ns, name: "hr0"}
	ns.Run(t, "ip", "link", "add", ti.name, "type", "veth", "peer", "name", "hr1")
	ns.Run(t, "ip", "link", "set", "hr1", "up")
	ns.Run(t, "ip", "link", "set", ti.name, "up")
	ns.Run(t, "ip", "addr", "add", "100.64.0.1/24", "dev", ti.name)
	link, err := ns.Netlink(t).LinkByName(ti.name)
	if err != nil {
		t.Fatal(err)
	}
	ti.index = link.Attrs().Index
	if ti.mark, err = MarkOf(ti.index); err != nil {
		t.Fatal(err)
	}
	return ti
}

// setMark records the mark; it stands in for the backend's socket option.
func (ti *testIface) setMark(m uint32) error {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	if ti.fail != nil {
		return ti.fail
	}
	ti.marks = append(ti.marks, m)
	return nil
}

// lastMark is the mark last set, 0 if none was.
func (ti *testIface) lastMark() uint32 {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	if len(ti.marks) == 0 {
		return 0
	}
	return ti.marks[len(ti.marks)-1]
}

// open opens a Link on the interface from a thread inside its namespace;
// the test then calls it from its own goroutine, outside. The Link is
// closed when the test ends (Close is idempotent).
func (ti *testIface) open(t *testing.T) *Link {
	t.Helper()
	var l *Link
	err := ti.ns.Do(func() (err error) {
		l, err = Open(Config{Index: ti.index, Name: ti.name, SetMark: ti.setMark})
		return err
	})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// ownRoutes lists, as `ip route` would show them, the routes with our
// protocol through the interface, in any table: "PREFIX table N metric M".
func (ti *testIface) ownRoutes(t *testing.T) []string {
	t.Helper()
	list, err := ti.ns.Netlink(t).RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{LinkIndex: ti.index, Protocol: Protocol},
		netlink.RT_FILTER_OIF|netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range list {
		out = append(out, r.Dst.String()+" table "+tableName(r.Table)+" metric "+itoa(r.Priority))
	}
	slices.Sort(out)
	return out
}

// routesVia lists every main-table route through the interface: "PREFIX
// proto P".
func (ti *testIface) routesVia(t *testing.T) []string {
	t.Helper()
	list, err := ti.ns.Netlink(t).RouteListFiltered(netlink.FAMILY_ALL, &netlink.Route{LinkIndex: ti.index}, netlink.RT_FILTER_OIF)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range list {
		if p, ok := prefixOf(r.Dst); ok && !(p.Addr().Is6() && p.Addr().IsLinkLocalUnicast()) && r.Type == unix.RTN_UNICAST {
			out = append(out, r.Dst.String()+" proto "+r.Protocol.String())
		}
	}
	slices.Sort(out)
	return out
}

// ownRules lists the policy rules with our protocol, as `ip rule` shows
// them: "FAMILY PRIORITY: not fwmark M lookup T [suppress_prefixlength 0]".
func (ti *testIface) ownRules(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		rules, err := ti.ns.Netlink(t).RuleList(fam)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rules {
			if r.Protocol != Protocol {
				continue
			}
			s := map[int]string{unix.AF_INET: "v4", unix.AF_INET6: "v6"}[fam] + " " + itoa(r.Priority) + ": "
			if r.Invert {
				s += "not "
			}
			s += "fwmark " + hex(r.Mark) + " lookup " + tableName(r.Table)
			if r.SuppressPrefixlen >= 0 {
				s += " suppress_prefixlength " + itoa(r.SuppressPrefixlen)
			}
			out = append(out, s)
		}
	}
	return out
}

// sysctl reads a sysctl inside the namespace with sysctl(8), a process of
// its own there.
func (ti *testIface) sysctl(t *testing.T, name string) string {
	t.Helper()
	return strings.TrimSpace(ti.ns.Run(t, "sysctl", "-n", name))
}

// chains lists the chains of the interface's nftables table and how many
// rules each has: "NAME RULES"; nil if there is no table.
func (ti *testIface) chains(t *testing.T) []string {
	t.Helper()
	var out []string
	err := ti.ns.Do(func() error {
		c, err := nftables.New()
		if err != nil {
			return err
		}
		table := &nftables.Table{Name: TableName(ti.name), Family: nftables.TableFamilyINet}
		chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
		if err != nil {
			return err
		}
		for _, ch := range chains {
			if ch.Table.Name != table.Name {
				continue
			}
			rules, err := c.GetRules(table, ch)
			if err != nil {
				return err
			}
			out = append(out, ch.Name+" "+itoa(len(rules)))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

func tableName(n int) string {
	switch n {
	case unix.RT_TABLE_MAIN:
		return "main"
	default:
		return hex(uint32(n))
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func hex(n uint32) string { return fmt.Sprintf("%#x", n) }

func TestLinkRoutes(t *testing.T) {
	ti := newTestIface(t)
	// Routes of the operator's through the same interface, one with a
	// prefix the Link is asked for too.
	ti.ns.Run(t, "ip", "route", "add", "10.30.0.0/16", "dev", ti.name)
	ti.ns.Run(t, "ip", "-6", "route", "add", "fd00:30::/64", "dev", ti.name)
	l := ti.open(t)
	if err := l.SetAddresses(pfx("100.64.0.1/24")); err != nil {
		t.Fatal(err)
	}
	operator := []string{"10.30.0.0/16 proto boot", "100.64.0.0/24 proto kernel", "fd00:30::/64 proto boot"}

	steps := []struct {
		name      string
		change    hostapi.RouteChanges
		wantState []netip.Prefix
		wantOwn   []string
	}{
		{
			name:      "add, with a prefix the address implies and one the operator has",
			change:    hostapi.RouteChanges{Add: pfx("10.10.0.0/16", "100.64.0.0/24", "10.30.0.0/16", "fd00:30::/64", "100.64.1.9/32")},
			wantState: pfx("10.10.0.0/16", "10.30.0.0/16", "100.64.1.9/32", "fd00:30::/64"),
			wantOwn:   []string{"10.10.0.0/16 table main metric 1077", "10.30.0.0/16 table main metric 1077", "100.64.1.9/32 table main metric 1077", "fd00:30::/64 table main metric 1077"},
		},
		{
			name:      "adding what is there and removing what is not",
			change:    hostapi.RouteChanges{Remove: pfx("10.99.0.0/16"), Add: pfx("10.10.0.0/16")},
			wantState: pfx("10.10.0.0/16", "10.30.0.0/16", "100.64.1.9/32", "fd00:30::/64"),
			wantOwn:   []string{"10.10.0.0/16 table main metric 1077", "10.30.0.0/16 table main metric 1077", "100.64.1.9/32 table main metric 1077", "fd00:30::/64 table main metric 1077"},
		},
		{
			name:      "remove the shared prefixes: the operator's stay",
			change:    hostapi.RouteChanges{Remove: pfx("10.30.0.0/16", "fd00:30::/64")},
			wantState: pfx("10.10.0.0/16", "100.64.1.9/32"),
			wantOwn:   []string{"10.10.0.0/16 table main metric 1077", "100.64.1.9/32 table main metric 1077"},
		},
	}
	for _, s := range steps {
		if err := l.ApplyRoutes(s.change); err != nil {
			t.Fatalf("%s: ApplyRoutes: %v", s.name, err)
		}
		got, err := l.Routes()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(s.wantState, got, prefixCmp); diff != "" {
			t.Errorf("%s: Routes (-want +got):\n%s", s.name, diff)
		}
		if diff := cmp.Diff(s.wantOwn, ti.ownRoutes(t)); diff != "" {
			t.Errorf("%s: the kernel's routes with protocol %d (-want +got):\n%s", s.name, Protocol, diff)
		}
		for _, r := range operator {
			if !slices.Contains(ti.routesVia(t), r) {
				t.Errorf("%s: the operator's route %q is gone", s.name, r)
			}
		}
	}

	t.Run("a route deleted by hand comes back when asked for again", func(t *testing.T) {
		ti.ns.Run(t, "ip", "route", "del", "100.64.1.9/32", "dev", ti.name, "proto", strconv.Itoa(int(Protocol)), "metric", strconv.Itoa(Metric))
		if err := l.ApplyRoutes(hostapi.RouteChanges{Add: pfx("100.64.1.9/32", "10.10.0.0/16")}); err != nil {
			t.Fatalf("ApplyRoutes of routes asked for before: %v", err)
		}
		want := []string{"10.10.0.0/16 table main metric 1077", "100.64.1.9/32 table main metric 1077"}
		if diff := cmp.Diff(want, ti.ownRoutes(t)); diff != "" {
			t.Errorf("the kernel's routes with protocol %d (-want +got):\n%s", Protocol, diff)
		}
	})

	t.Run("invalid changes nothing", func(t *testing.T) {
		before := ti.ownRoutes(t)
		err := l.ApplyRoutes(hostapi.RouteChanges{Remove: pfx("10.10.0.0/16"), Add: pfx("10.40.1.2/16")})
		if !errors.Is(err, hostapi.ErrInvalidArgument) {
			t.Errorf("ApplyRoutes with host bits: got %v, want ErrInvalidArgument", err)
		}
		if diff := cmp.Diff(before, ti.ownRoutes(t)); diff != "" {
			t.Errorf("routes changed (-before +after):\n%s", diff)
		}
	})

	t.Run("a failure part-way is rolled back", func(t *testing.T) {
		// Someone else's route with our prefix and our metric: adding ours
		// fails after the removal and the first addition were made.
		ti.ns.Run(t, "ip", "route", "add", "10.50.0.0/16", "dev", ti.name, "metric", "1077")
		before := ti.ownRoutes(t)
		err := l.ApplyRoutes(hostapi.RouteChanges{Remove: pfx("10.10.0.0/16"), Add: pfx("10.40.0.0/16", "10.50.0.0/16")})
		if !errors.Is(err, hostapi.ErrConflict) {
			t.Errorf("ApplyRoutes over a route in the way: got %v, want ErrConflict", err)
		}
		if diff := cmp.Diff(before, ti.ownRoutes(t)); diff != "" {
			t.Errorf("routes changed (-before +after):\n%s", diff)
		}
		if got, _ := l.Routes(); !slices.Contains(got, netip.MustParsePrefix("10.10.0.0/16")) {
			t.Errorf("Routes after the failure: got %v, want 10.10.0.0/16 still there", got)
		}
	})

	t.Run("addresses", func(t *testing.T) {
		// An address that implies a routed prefix takes its place; taking
		// it away brings the route back.
		ti.ns.Run(t, "ip", "addr", "add", "10.10.0.1/16", "dev", ti.name)
		if err := l.SetAddresses(pfx("100.64.0.1/24", "10.10.0.1/16")); err != nil {
			t.Fatal(err)
		}
		if got, _ := l.Routes(); slices.Contains(got, netip.MustParsePrefix("10.10.0.0/16")) {
			t.Errorf("Routes with an address implying 10.10.0.0/16: got %v, want it left out", got)
		}
		ti.ns.Run(t, "ip", "addr", "del", "10.10.0.1/16", "dev", ti.name)
		if err := l.SetAddresses(pfx("100.64.0.1/24")); err != nil {
			t.Fatal(err)
		}
		if got, _ := l.Routes(); !slices.Contains(got, netip.MustParsePrefix("10.10.0.0/16")) {
			t.Errorf("Routes after the address went: got %v, want 10.10.0.0/16 back", got)
		}
	})

	t.Run("a new Link finds the routes", func(t *testing.T) {
		want, err := l.Routes()
		if err != nil {
			t.Fatal(err)
		}
		again := ti.open(t)
		got, err := again.Routes()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got, prefixCmp); diff != "" {
			t.Errorf("Routes of a second Link (-want +got):\n%s", diff)
		}
		// It owns them: removing one works.
		if err := again.ApplyRoutes(hostapi.RouteChanges{Remove: pfx("100.64.1.9/32")}); err != nil {
			t.Fatal(err)
		}
		if slices.Contains(ti.ownRoutes(t), "100.64.1.9/32 table main metric 1077") {
			t.Error("a route removed by the second Link is still there")
		}
	})

	t.Run("close", func(t *testing.T) {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if got := ti.ownRoutes(t); len(got) != 0 {
			t.Errorf("routes with protocol %d after Close: %v", Protocol, got)
		}
		for _, r := range operator {
			if !slices.Contains(ti.routesVia(t), r) {
				t.Errorf("the operator's route %q is gone after Close", r)
			}
		}
		if err := l.ApplyRoutes(hostapi.RouteChanges{}); !errors.Is(err, hostapi.ErrClosed) {
			t.Errorf("ApplyRoutes after Close: got %v, want ErrClosed", err)
		}
		if err := l.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	})
}

func TestLinkDefaultRoute(t *testing.T) {
	ti := newTestIface(t)
	ti.ns.Run(t, "sysctl", "-qw", "net.ipv4.conf.all.src_valid_mark=0")
	l := ti.open(t)
	if err := l.SetGateway(nil); err != nil {
		t.Fatal(err)
	}
	m := hex(ti.mark)
	rules4 := []string{"v4 32764: not fwmark " + m + " lookup main suppress_prefixlength 0", "v4 32765: not fwmark " + m + " lookup " + m}
	rules6 := []string{"v6 32764: not fwmark " + m + " lookup main suppress_prefixlength 0", "v6 32765: not fwmark " + m + " lookup " + m}

	steps := []struct {
		name       string
		change     hostapi.RouteChanges
		wantOwn    []string
		wantRules  []string
		wantMark   uint32
		wantChains []string
	}{
		{
			name:       "both families",
			change:     hostapi.RouteChanges{Add: pfx("0.0.0.0/0", "::/0", "10.10.0.0/16")},
			wantOwn:    []string{"0.0.0.0/0 table " + m + " metric 1077", "10.10.0.0/16 table main metric 1077", "::/0 table " + m + " metric 1077"},
			wantRules:  append(slices.Clone(rules4), rules6...),
			wantMark:   ti.mark,
			wantChains: []string{"forward 2", "postmangle 1", "premangle 1"},
		},
		{
			name:       "IPv6 withdrawn",
			change:     hostapi.RouteChanges{Remove: pfx("::/0")},
			wantOwn:    []string{"0.0.0.0/0 table " + m + " metric 1077", "10.10.0.0/16 table main metric 1077"},
			wantRules:  rules4,
			wantMark:   ti.mark,
			wantChains: []string{"forward 2", "postmangle 1", "premangle 1"},
		},
		{
			name:       "the last withdrawn",
			change:     hostapi.RouteChanges{Remove: pfx("0.0.0.0/0")},
			wantOwn:    []string{"10.10.0.0/16 table main metric 1077"},
			wantChains: []string{"forward 2"},
		},
	}
	for _, s := range steps {
		if err := l.ApplyRoutes(s.change); err != nil {
			t.Fatalf("%s: ApplyRoutes: %v", s.name, err)
		}
		if diff := cmp.Diff(s.wantOwn, ti.ownRoutes(t)); diff != "" {
			t.Errorf("%s: routes (-want +got):\n%s", s.name, diff)
		}
		if diff := cmp.Diff(s.wantRules, ti.ownRules(t)); diff != "" {
			t.Errorf("%s: policy rules (-want +got):\n%s", s.name, diff)
		}
		if got := ti.lastMark(); got != s.wantMark {
			t.Errorf("%s: the tunnel's mark: got %#x, want %#x", s.name, got, s.wantMark)
		}
		if diff := cmp.Diff(s.wantChains, ti.chains(t)); diff != "" {
			t.Errorf("%s: nftables chains (-want +got):\n%s", s.name, diff)
		}
	}
	if got := ti.sysctl(t, "net.ipv4.conf.all.src_valid_mark"); got != "1" {
		t.Errorf("src_valid_mark: got %s, want 1 (as wg-quick sets it)", got)
	}

	t.Run("a mark refused changes nothing", func(t *testing.T) {
		ti.mu.Lock()
		ti.fail = hostapi.Errorf(hostapi.CodePermission, "injected: no CAP_NET_ADMIN")
		ti.mu.Unlock()
		defer func() {
			ti.mu.Lock()
			ti.fail = nil
			ti.mu.Unlock()
		}()
		before := ti.ownRoutes(t)
		err := l.ApplyRoutes(hostapi.RouteChanges{Remove: pfx("10.10.0.0/16"), Add: pfx("0.0.0.0/0")})
		if !errors.Is(err, hostapi.ErrPermission) {
			t.Errorf("ApplyRoutes: got %v, want ErrPermission", err)
		}
		if diff := cmp.Diff(before, ti.ownRoutes(t)); diff != "" {
			t.Errorf("routes changed (-before +after):\n%s", diff)
		}
		if got := ti.ownRules(t); len(got) != 0 {
			t.Errorf("policy rules after the failure: %v", got)
		}
	})

	t.Run("a new Link repairs the policy", func(t *testing.T) {
		if err := l.ApplyRoutes(hostapi.RouteChanges{Add: pfx("0.0.0.0/0")}); err != nil {
			t.Fatal(err)
		}
		// As if the plugin died between the route and its rules.
		ti.ns.Run(t, "ip", "rule", "del", "priority", "32765", "not", "fwmark", m, "table", m)
		ti.mu.Lock()
		ti.marks = nil
		ti.mu.Unlock()
		again := ti.open(t)
		if diff := cmp.Diff(rules4, ti.ownRules(t)); diff != "" {
			t.Errorf("policy rules after a new Link (-want +got):\n%s", diff)
		}
		if got := ti.lastMark(); got != ti.mark {
			t.Errorf("the tunnel's mark after a new Link: got %#x, want %#x", got, ti.mark)
		}
		got, err := again.Routes()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(pfx("0.0.0.0/0", "10.10.0.0/16"), got, prefixCmp); diff != "" {
			t.Errorf("Routes of the new Link (-want +got):\n%s", diff)
		}
	})

	t.Run("close", func(t *testing.T) {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if got := ti.ownRules(t); len(got) != 0 {
			t.Errorf("policy rules after Close: %v", got)
		}
		if got := ti.ownRoutes(t); len(got) != 0 {
			t.Errorf("routes after Close: %v", got)
		}
		if got := ti.chains(t); len(got) != 0 {
			t.Errorf("nftables chains after Close: %v", got)
		}
	})
}

func TestLinkGateway(t *testing.T) {
	ti := newTestIface(t)
	ti.ns.Run(t, "sysctl", "-qw", "net.ipv4.ip_forward=0", "net.ipv6.conf.all.forwarding=0")
	l := ti.open(t)
	forwarding := func() [2]string {
		return [2]string{ti.sysctl(t, "net.ipv4.ip_forward"), ti.sysctl(t, "net.ipv6.conf.all.forwarding")}
	}
	steps := []struct {
		name       string
		gw         *hostapi.GatewayConfig
		before     func()
		wantChains []string
		wantFwd    [2]string
	}{
		{name: "none: the guard", wantChains: []string{"forward 2"}, wantFwd: [2]string{"0", "0"}},
		{name: "router", gw: &hostapi.GatewayConfig{Prefixes: pfx("10.20.0.0/24"), Masquerade: true},
			wantChains: []string{"forward 7", "postrouting 1"}, wantFwd: [2]string{"1", "0"}},
		{name: "exit", gw: &hostapi.GatewayConfig{Prefixes: pfx("0.0.0.0/0", "::/0")},
			wantChains: []string{"forward 12"}, wantFwd: [2]string{"1", "1"}},
		{name: "IPv6 only: IPv4 forwarding goes back", gw: &hostapi.GatewayConfig{Prefixes: pfx("fd00:20::/64")},
			wantChains: []string{"forward 7"}, wantFwd: [2]string{"0", "1"}},
		{name: "none again: all back", wantChains: []string{"forward 2"}, wantFwd: [2]string{"0", "0"}},
		{name: "forwarding someone else turned on", gw: &hostapi.GatewayConfig{Prefixes: pfx("10.20.0.0/24")},
			before:     func() { ti.ns.Run(t, "sysctl", "-qw", "net.ipv4.ip_forward=1") },
			wantChains: []string{"forward 7"}, wantFwd: [2]string{"1", "0"}},
		{name: "stays on when the gateway goes", wantChains: []string{"forward 2"}, wantFwd: [2]string{"1", "0"}},
	}
	for _, s := range steps {
		if s.before != nil {
			s.before()
		}
		if err := l.SetGateway(s.gw); err != nil {
			t.Fatalf("%s: SetGateway: %v", s.name, err)
		}
		if diff := cmp.Diff(s.wantChains, ti.chains(t)); diff != "" {
			t.Errorf("%s: nftables chains (-want +got):\n%s", s.name, diff)
		}
		if got := forwarding(); got != s.wantFwd {
			t.Errorf("%s: ip_forward, ipv6 forwarding: got %v, want %v", s.name, got, s.wantFwd)
		}
	}

	t.Run("invalid changes nothing", func(t *testing.T) {
		before := ti.chains(t)
		err := l.SetGateway(&hostapi.GatewayConfig{Prefixes: pfx("10.20.0.1/24")})
		if !errors.Is(err, hostapi.ErrInvalidArgument) {
			t.Errorf("SetGateway with host bits: got %v, want ErrInvalidArgument", err)
		}
		if diff := cmp.Diff(before, ti.chains(t)); diff != "" {
			t.Errorf("chains changed (-before +after):\n%s", diff)
		}
	})

	t.Run("close restores and removes", func(t *testing.T) {
		ti.ns.Run(t, "sysctl", "-qw", "net.ipv4.ip_forward=0")
		if err := l.SetGateway(&hostapi.GatewayConfig{Prefixes: pfx("10.20.0.0/24", "fd00:20::/64")}); err != nil {
			t.Fatal(err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		if got := forwarding(); got != [2]string{"0", "0"} {
			t.Errorf("forwarding after Close: got %v, want both back to 0", got)
		}
		if got := ti.chains(t); len(got) != 0 {
			t.Errorf("nftables chains after Close: %v", got)
		}
	})
}
