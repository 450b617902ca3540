package conformance

import (
	"context"
	"fmt"
	"net/netip"
	"slices"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
)

// Routes: ApplyRoutes changes by difference which prefixes lead into the
// interface; State.Routes reports them. The state cases run on every
// backend with BackendCapRoutes; the OS cases only where the backend has
// an OS interface in an isolated node, which they read with the node's own
// routing table; the traffic cases wherever two instances carry traffic.

func backendRouteCases() []Case {
	routes := Capability{Backend: hostapi.BackendCapRoutes}
	cases := []Case{
		{
			ID: "backend.routes", Level: Must,
			Rule: "without BackendCapRoutes ApplyRoutes fails with UNSUPPORTED and changes nothing; with it, a route added is reported in State.Routes and a route removed no longer is",
			Run:  backendRoutes,
		},
		{
			ID: "backend.routes.diff", Level: Must, Needs: routes,
			Rule: "ApplyRoutes applies a difference, removals first: State.Routes reports exactly the IPv4 and IPv6 routes in effect, sorted; adding a present route or removing an absent one is not an error and changes nothing else",
			Run:  backendRoutesDiff,
		},
		{
			ID: "backend.routes.implied", Level: Must, Needs: routes,
			Rule: "a prefix the interface's addresses already route (a subnet address's) is accepted by ApplyRoutes but neither installed nor reported in State.Routes, and removing it leaves the interface's own route to it",
			Run:  backendRoutesImplied,
		},
	}
	for _, ic := range invalidRouteChanges {
		cases = append(cases, Case{
			ID: "backend.routes.invalid." + ic.name, Level: Must, Needs: routes,
			Rule: "ApplyRoutes with " + ic.rule + " fails with INVALID_ARGUMENT and changes nothing, the valid part of the change included",
			Run:  func(ctx context.Context, env *Env) error { return backendRoutesInvalid(ctx, env, ic.change) },
		})
	}
	return append(cases,
		Case{
			ID: "backend.routes.os-table", Level: Must, Needs: routes,
			Rule: "with an OS interface, the routing table of the backend's network agrees with State.Routes: an address in each route leads into the interface, an address in a removed route no longer does",
			Run:  backendRoutesOSTable,
		},
		Case{
			ID: "backend.routes.foreign", Level: Must, Needs: routes,
			Rule: "with an OS interface, a route to the same prefix that the backend did not install (another protocol and metric, on its interface) is not reported in State.Routes and survives the backend's adding and removing of that prefix",
			Run:  backendRoutesForeign,
		},
		Case{
			ID: "backend.routes.traffic", Level: Must, Needs: routes,
			Rule: "an address in a peer's allowed IPs outside every route is unreachable; once its prefix is routed, traffic to it reaches that peer (from this node's mesh address); once the route is removed, it is unreachable again",
			Run:  backendRoutesTraffic,
		},
		Case{
			ID: "backend.routes.default", Level: Must, Needs: routes,
			Rule: "a default route (0.0.0.0/0 and ::/0) is refused with UNSUPPORTED, changing nothing, or installed: reported in State.Routes, carrying traffic to an exit peer while the tunnel's own packets keep their path (the peer is reached through the host's previous default route) and the host's more specific routes keep precedence; removing it leaves the host's own default route",
			Run:  backendRoutesDefault,
		},
	)
}

// wantRoutes checks that State.Routes of b is exactly want, sorted as
// netip.Prefix.Compare orders prefixes.
func wantRoutes(ctx context.Context, b hostapi.Backend, want ...netip.Prefix) error {
	st, err := b.State(ctx)
	if err != nil {
		return fmt.Errorf("State: %w", err)
	}
	if !slices.IsSortedFunc(st.Routes, netip.Prefix.Compare) {
		return fmt.Errorf("State: routes are not sorted: %v", st.Routes)
	}
	w := slices.SortedFunc(slices.Values(want), netip.Prefix.Compare)
	got := append([]netip.Prefix{}, st.Routes...)
	if diff := gocmp.Diff(append([]netip.Prefix{}, w...), got, netipComparers); diff != "" {
		return fmt.Errorf("State.Routes (-want +got):\n%s", diff)
	}
	return nil
}

// osInterface returns the name of b's OS interface, or a Skip error when
// b has none that test traffic uses.
func osInterface(ctx context.Context, b *BackendInstance) (string, error) {
	if !osRouted(b) {
		return "", Skipf("%s has no OS interface: it routes inside its own stack", b.info.Name)
	}
	st, err := b.State(ctx)
	if err != nil {
		return "", fmt.Errorf("State: %w", err)
	}
	if !interfaceExists(b.Node, st.Name) {
		return "", Skipf("%s reports interface %q, which node %s does not have: it has no OS interface", b.info.Name, st.Name, b.Node.Name)
	}
	return st.Name, nil
}

// inside returns an address inside p, the 77th (or p's last) after its
// first: not an interface address such as .1, nor the subnet's own.
func inside(p netip.Prefix) netip.Addr {
	a := p.Addr()
	for range 77 {
		if !p.Contains(a.Next()) {
			break
		}
		a = a.Next()
	}
	return a
}

// osRoutes checks that node routes an address inside each prefix of in
// into iface, and one inside each prefix of out elsewhere or nowhere.
func osRoutes(node *Node, iface string, in, out []netip.Prefix) error {
	var fails []error
	for _, p := range in {
		dev, err := routeDevice(node, inside(p))
		if err != nil {
			return err
		}
		if dev != iface {
			fails = append(fails, fmt.Errorf("node %s routes %s (in route %s) through %q, want the interface %s", node.Name, inside(p), p, dev, iface))
		}
	}
	for _, p := range out {
		dev, err := routeDevice(node, inside(p))
		if err != nil {
			return err
		}
		if dev == iface {
			fails = append(fails, fmt.Errorf("node %s still routes %s (in removed route %s) into the interface %s", node.Name, inside(p), p, iface))
		}
	}
	return errs(fails...)
}

func backendRoutes(ctx context.Context, env *Env) error {
	b, _, err := configured(ctx, env, nil, 1)
	if err != nil {
		return err
	}
	routes := []netip.Prefix{netip.MustParsePrefix("10.205.0.0/16")}
	if !b.info.Capabilities.Has(hostapi.BackendCapRoutes) {
		before, err := snapshotState(ctx, b)
		if err != nil {
			return err
		}
		return errs(
			wantCode("ApplyRoutes without BackendCapRoutes", b.ApplyRoutes(ctx, hostapi.RouteChanges{Add: routes}), hostapi.CodeUnsupported),
			unchanged(ctx, b, before, "the refused ApplyRoutes"),
		)
	}
	if err := b.ApplyRoutes(ctx, hostapi.RouteChanges{Add: routes}); err != nil {
		return fmt.Errorf("ApplyRoutes adding: %w", err)
	}
	if err := wantRoutes(ctx, b, routes...); err != nil {
		return fmt.Errorf("after adding: %w", err)
	}
	if err := b.ApplyRoutes(ctx, hostapi.RouteChanges{Remove: routes}); err != nil {
		return fmt.Errorf("ApplyRoutes removing: %w", err)
	}
	if err := wantRoutes(ctx, b); err != nil {
		return fmt.Errorf("after removing: %w", err)
	}
	return nil
}

func backendRoutesDiff(ctx context.Context, env *Env) error {
	b, _, err := configured(ctx, env, nil, 1)
	if err != nil {
		return err
	}
	var (
		r1 = netip.MustParsePrefix("10.205.0.0/16")
		r2 = netip.MustParsePrefix("10.204.7.0/24")
		r3 = netip.MustParsePrefix("fd00:205::/64")
		r4 = netip.MustParsePrefix("10.206.0.0/24")
	)
	steps := []struct {
		what   string
		change hostapi.RouteChanges
		want   []netip.Prefix
	}{
		{"adding three, out of order", hostapi.RouteChanges{Add: []netip.Prefix{r1, r3, r2}}, []netip.Prefix{r1, r2, r3}},
		{"adding a present one and a new one", hostapi.RouteChanges{Add: []netip.Prefix{r1, r4}}, []netip.Prefix{r1, r2, r3, r4}},
		{"removing one and an absent one, adding a present one", hostapi.RouteChanges{Remove: []netip.Prefix{r2, netip.MustParsePrefix("10.209.9.0/24")}, Add: []netip.Prefix{r3}}, []netip.Prefix{r1, r3, r4}},
		{"removing and adding the same one", hostapi.RouteChanges{Remove: []netip.Prefix{r4}, Add: []netip.Prefix{r4}}, []netip.Prefix{r1, r3, r4}},
		{"nothing", hostapi.RouteChanges{}, []netip.Prefix{r1, r3, r4}},
		{"removing the rest", hostapi.RouteChanges{Remove: []netip.Prefix{r4, r3, r1}}, nil},
	}
	for _, s := range steps {
		if err := b.ApplyRoutes(ctx, s.change); err != nil {
			return fmt.Errorf("ApplyRoutes %s (%+v): %w", s.what, s.change, err)
		}
		if err := wantRoutes(ctx, b, s.want...); err != nil {
			return fmt.Errorf("after %s (%+v): %w", s.what, s.change, err)
		}
	}
	return nil
}

func backendRoutesImplied(ctx context.Context, env *Env) error {
	id := newIdentity(meshAddr(1))
	cfg := id.config()
	cfg.Addresses = []netip.Prefix{netip.MustParsePrefix("100.64.0.1/24"), netip.MustParsePrefix("fd00:64::1/64")}
	b, err := configuredWith(ctx, env, nil, cfg)
	if err != nil {
		return err
	}
	own := netip.MustParsePrefix("10.208.0.0/24")
	implied := []netip.Prefix{netip.MustParsePrefix("100.64.0.0/24"), netip.MustParsePrefix("fd00:64::/64")}
	if err := b.ApplyRoutes(ctx, hostapi.RouteChanges{Add: append(slices.Clone(implied), own)}); err != nil {
		return fmt.Errorf("ApplyRoutes adding %v and %s: %w", implied, own, err)
	}
	if err := wantRoutes(ctx, b, own); err != nil {
		return fmt.Errorf("after adding the interface's own subnets: %w", err)
	}
	if err := b.ApplyRoutes(ctx, hostapi.RouteChanges{Remove: implied}); err != nil {
		return fmt.Errorf("ApplyRoutes removing %v: %w", implied, err)
	}
	if err := wantRoutes(ctx, b, own); err != nil {
		return fmt.Errorf("after removing the interface's own subnets: %w", err)
	}
	iface, err := osInterface(ctx, b)
	if IsSkip(err) {
		return nil
	} else if err != nil {
		return err
	}
	if err := osRoutes(b.Node, iface, append(implied, own), nil); err != nil {
		return fmt.Errorf("after removing the interface's own subnets: %w", err)
	}
	return nil
}

// invalidRouteChanges are route changes with a prefix that CheckRoute
// refuses, beside a valid part, built against one route already present.
// (An invalid netip.Prefix cannot cross the plugin boundary at all.)
var invalidRouteChanges = []struct {
	name, rule string
	change     func(present netip.Prefix) hostapi.RouteChanges
}{
	{
		name: "host-bits", rule: "a prefix to add with host bits set (beside a valid removal)",
		change: func(present netip.Prefix) hostapi.RouteChanges {
			return hostapi.RouteChanges{Remove: []netip.Prefix{present}, Add: []netip.Prefix{netip.MustParsePrefix("10.210.0.1/24")}}
		},
	},
	{
		name: "ipv4-mapped", rule: "an IPv4-mapped prefix to remove (beside a valid addition)",
		change: func(netip.Prefix) hostapi.RouteChanges {
			return hostapi.RouteChanges{Remove: []netip.Prefix{netip.MustParsePrefix("::ffff:10.209.0.0/120")}, Add: []netip.Prefix{netip.MustParsePrefix("10.210.0.0/24")}}
		},
	},
}

func backendRoutesInvalid(ctx context.Context, env *Env, change func(netip.Prefix) hostapi.RouteChanges) error {
	b, _, err := configured(ctx, env, nil, 1)
	if err != nil {
		return err
	}
	present := netip.MustParsePrefix("10.209.0.0/24")
	if err := b.ApplyRoutes(ctx, hostapi.RouteChanges{Add: []netip.Prefix{present}}); err != nil {
		return fmt.Errorf("ApplyRoutes of a valid route: %w", err)
	}
	before, err := snapshotState(ctx, b)
	if err != nil {
		return err
	}
	c := change(present)
	fails := []error{
		wantCode(fmt.Sprintf("ApplyRoutes(%+v)", c), b.ApplyRoutes(ctx, c), hostapi.CodeInvalidArgument),
		unchanged(ctx, b, before, "the rejected change"),
	}
	switch iface, err := osInterface(ctx, b); {
	case err == nil:
		fails = append(fails, osRoutes(b.Node, iface, []netip.Prefix{present}, []netip.Prefix{netip.MustParsePrefix("10.210.0.0/24")}))
	case !IsSkip(err):
		fails = append(fails, err)
	}
	return errs(fails...)
}

func backendRoutesOSTable(ctx context.Context, env *Env) error {
	b, _, err := configured(ctx, env, nil, 1)
	if err != nil {
		return err
	}
	iface, err := osInterface(ctx, b)
	if err != nil {
		return err
	}
	var (
		r4 = netip.MustParsePrefix("10.205.0.0/16")
		r6 = netip.MustParsePrefix("fd00:205::/64")
	)
	if err := b.ApplyRoutes(ctx, hostapi.RouteChanges{Add: []netip.Prefix{r4, r6}}); err != nil {
		return fmt.Errorf("ApplyRoutes adding: %w", err)
	}
	if err := errs(wantRoutes(ctx, b, r4, r6), osRoutes(b.Node, iface, []netip.Prefix{r4, r6}, nil)); err != nil {
		return fmt.Errorf("after adding %s and %s: %w", r4, r6, err)
	}
	if err := b.ApplyRoutes(ctx, hostapi.RouteChanges{Remove: []netip.Prefix{r4}}); err != nil {
		return fmt.Errorf("ApplyRoutes removing: %w", err)
	}
	if err := errs(wantRoutes(ctx, b, r6), osRoutes(b.Node, iface, []netip.Prefix{r6}, []netip.Prefix{r4})); err != nil {
		return fmt.Errorf("after removing %s: %w", r4, err)
	}
	if err := b.ApplyRoutes(ctx, hostapi.RouteChanges{Remove: []netip.Prefix{r6}}); err != nil {
		return fmt.Errorf("ApplyRoutes removing: %w", err)
	}
	if err := errs(wantRoutes(ctx, b), osRoutes(b.Node, iface, nil, []netip.Prefix{r4, r6})); err != nil {
		return fmt.Errorf("after removing %s: %w", r6, err)
	}
	return nil
}

func backendRoutesForeign(ctx context.Context, env *Env) error {
	b, _, err := configured(ctx, env, nil, 1)
	if err != nil {
		return err
	}
	iface, err := osInterface(ctx, b)
	if err != nil {
		return err
	}
	prefixes := []netip.Prefix{netip.MustParsePrefix("10.206.0.0/24"), netip.MustParsePrefix("fd00:206::/64")}
	for _, p := range prefixes {
		if err := addForeignRoute(b.Node, iface, p); err != nil {
			return err
		}
	}
	survived := func(when string) error {
		var fails []error
		for _, p := range prefixes {
			ok, err := hasForeignRoute(b.Node, iface, p)
			if err != nil {
				return err
			}
			if !ok {
				fails = append(fails, fmt.Errorf("%s, the route %s dev %s proto boot metric %d that the backend did not install is gone", when, p, iface, foreignMetric))
			}
		}
		return errs(fails...)
	}
	if err := wantRoutes(ctx, b); err != nil {
		return fmt.Errorf("with only routes the backend did not install: %w", err)
	}
	if err := b.ApplyRoutes(ctx, hostapi.RouteChanges{Add: prefixes}); err != nil {
		return fmt.Errorf("ApplyRoutes adding prefixes another route already has: %w", err)
	}
	if err := errs(wantRoutes(ctx, b, prefixes...), survived("after the backend added the same prefixes")); err != nil {
		return err
	}
	if err := b.ApplyRoutes(ctx, hostapi.RouteChanges{Remove: prefixes}); err != nil {
		return fmt.Errorf("ApplyRoutes removing: %w", err)
	}
	return errs(wantRoutes(ctx, b), survived("after the backend removed its routes to the same prefixes"))
}

func backendRoutesTraffic(ctx context.Context, env *Env) error {
	subnet := netip.MustParsePrefix("10.207.0.0/24")
	host := netip.MustParseAddr("10.207.0.5")
	dst := netip.AddrPortFrom(host, echoPort)
	p, err := newPairWith(ctx, env, false, func(a, b *tnode) error {
		b.extra = []netip.Prefix{netip.PrefixFrom(host, 32)}
		b.allowed = []netip.Prefix{subnet}
		a.dests = []netip.AddrPort{dst}
		return nil
	})
	if err != nil {
		return err
	}
	if err := p.a.unreachable(ctx, env, dst); err != nil {
		return fmt.Errorf("before %s is routed: %w", subnet, err)
	}
	if err := p.a.b.ApplyRoutes(ctx, hostapi.RouteChanges{Add: []netip.Prefix{subnet}}); err != nil {
		return fmt.Errorf("ApplyRoutes adding %s: %w", subnet, err)
	}
	if _, err := p.a.exchangeWith(ctx, env, dst, "routed"); err != nil {
		return fmt.Errorf("once %s is routed: %w", subnet, err)
	}
	if err := cameFrom(p.b.seen, dst, p.a.id.addr); err != nil {
		return err
	}
	if err := p.a.b.ApplyRoutes(ctx, hostapi.RouteChanges{Remove: []netip.Prefix{subnet}}); err != nil {
		return fmt.Errorf("ApplyRoutes removing %s: %w", subnet, err)
	}
	if err := p.a.unreachable(ctx, env, dst); err != nil {
		return fmt.Errorf("once the route to %s is removed: %w", subnet, err)
	}
	return nil
}

// foreignMetric is the metric of the routes "someone else" installs for
// the foreign-route case: one no backend is expected to use, so that the
// backend's own route to the same prefix can live beside them.
const foreignMetric = 4242

// exitHost is an address of the exit peer that no route but the default
// one leads to, and underlayExit an address of its node that the other
// node reaches only through its own default route.
var (
	exitHost     = netip.MustParseAddr("10.216.0.5")
	underlayExit = netip.MustParseAddr("10.98.0.2")
)

func backendRoutesDefault(ctx context.Context, env *Env) error {
	defaults := []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}
	dst := netip.AddrPortFrom(exitHost, echoPort)
	p, err := newPairWith(ctx, env, false, func(a, b *tnode) error {
		b.extra = []netip.Prefix{netip.PrefixFrom(exitHost, 32)}
		b.allowed = defaults
		a.dests = []netip.AddrPort{dst}
		return nil
	})
	if err != nil {
		return err
	}
	a, b := p.a, p.b
	// With an OS interface the tunnel's packets to the exit must not
	// follow a default route into the tunnel. The exit's underlay address
	// on the veth is on-link, a more specific route that a careless
	// default route would not capture: reach it instead at an address
	// that only the host's own default route leads to.
	var underlay string
	if osRouted(a.b) {
		if err := defaultRouteTo(a.b.Node, b.b.Node, underlayExit); err != nil {
			return err
		}
		exit := b.asPeer()
		exit.Endpoint = netip.AddrPortFrom(underlayExit, b.port)
		if err := a.b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{exit}}); err != nil {
			return fmt.Errorf("ApplyPeers moving the exit's endpoint to %s: %w", exit.Endpoint, err)
		}
		if underlay, err = linkName(a.b.Node, a.b.Node.Underlay); err != nil {
			return err
		}
	}
	before, err := snapshotState(ctx, a.b)
	if err != nil {
		return err
	}
	err = a.b.ApplyRoutes(ctx, hostapi.RouteChanges{Add: defaults})
	if hostapi.CodeOf(err) == hostapi.CodeUnsupported {
		env.Logf("%s refuses a default route: %v", a.b.info.Name, err)
		if err := unchanged(ctx, a.b, before, "the refused default route"); err != nil {
			return err
		}
		_, err := a.exchange(ctx, env, "after-refusal")
		return err
	}
	if err != nil {
		return fmt.Errorf("ApplyRoutes adding %v: got %w, want nil or UNSUPPORTED", defaults, err)
	}
	if err := wantRoutes(ctx, a.b, append([]netip.Prefix{b.id.prefix()}, defaults...)...); err != nil {
		return fmt.Errorf("with the default route: %w", err)
	}
	// The first packets: the handshake goes out while the default route
	// is in place.
	if _, err := a.exchange(ctx, env, "to-exit-mesh"); err != nil {
		return fmt.Errorf("with the default route (a routing loop would swallow the tunnel's own packets): %w", err)
	}
	if _, err := a.exchangeWith(ctx, env, dst, "through-exit"); err != nil {
		return fmt.Errorf("with the default route, to %s behind it: %w", exitHost, err)
	}
	if _, err := b.exchange(ctx, env, "from-exit"); err != nil {
		return fmt.Errorf("from the exit with the default route: %w", err)
	}
	var fails []error
	if osRouted(a.b) {
		fails = append(fails, cameFrom(b.seen, dst, a.id.addr))
		// The veth's on-link subnet is more specific than the default
		// route: the exit's underlay address stays outside the tunnel.
		dev, err := routeDevice(a.b.Node, b.b.Node.Underlay)
		if err != nil {
			return err
		}
		if dev != underlay {
			fails = append(fails, fmt.Errorf("with the default route, node %s routes %s (its on-link subnet) through %q, want %s", a.b.Node.Name, b.b.Node.Underlay, dev, underlay))
		}
	}
	if err := errs(fails...); err != nil {
		return err
	}
	if err := a.b.ApplyRoutes(ctx, hostapi.RouteChanges{Remove: defaults}); err != nil {
		return fmt.Errorf("ApplyRoutes removing %v: %w", defaults, err)
	}
	if err := wantRoutes(ctx, a.b, b.id.prefix()); err != nil {
		return fmt.Errorf("after removing the default route: %w", err)
	}
	if !osRouted(a.b) {
		return a.unreachable(ctx, env, dst)
	}
	dev, err := routeDevice(a.b.Node, underlayExit)
	if err != nil {
		return err
	}
	if dev != underlay {
		return fmt.Errorf("after the backend removed its default route, node %s routes %s through %q, want %s (the host's own default route)", a.b.Node.Name, underlayExit, dev, underlay)
	}
	return nil
}
