package conformance

import (
	"context"
	"fmt"
	"net/netip"

	"github.com/rustynet/rustynet/hostapi"
)

// Gateways: InterfaceConfig.Gateway makes a node forward its peers'
// traffic to the prefixes it serves (a subnet router, or an exit with the
// default prefixes), needing BackendCapGateway.

func backendGatewayCases() []Case {
	gateway := Capability{Backend: hostapi.BackendCapGateway}
	cases := []Case{{
		ID: "backend.gateway", Level: Must,
		Rule: "without BackendCapGateway, Configure with a Gateway fails with UNSUPPORTED and changes nothing; with it, Configure accepts a subnet router's gateway and an exit's, and a later Configure without a gateway keeps every peer",
		Run:  backendGateway,
	}}
	for _, ig := range invalidGateways {
		cases = append(cases, Case{
			ID: "backend.gateway.invalid." + ig.name, Level: Must, Needs: gateway,
			Rule: "Configure with a gateway prefix that " + ig.rule + " fails with INVALID_ARGUMENT and changes nothing",
			Run:  func(ctx context.Context, env *Env) error { return backendGatewayInvalid(ctx, env, ig.gateway) },
		})
	}
	return append(cases, Case{
		ID: "backend.gateway.traffic", Level: Must, Needs: Capability{Backend: hostapi.BackendCapGateway | hostapi.BackendCapRoutes},
		Rule: "a gateway forwards a peer's traffic to a prefix it serves to the host behind it, from its own address there with Masquerade (without, from the peer's mesh address on an OS interface), drops traffic to a destination it does not serve, and forwards nothing once Configure drops the gateway",
		Run:  backendGatewayTraffic,
	})
}

// gatewayConfig is cfg with one more address and gateway g: a Configure
// that, if refused, must leave the addresses as they were.
func gatewayConfig(id *identity, g *hostapi.GatewayConfig) hostapi.InterfaceConfig {
	cfg := id.config()
	cfg.Addresses = append(cfg.Addresses, netip.PrefixFrom(meshAddr(204), 32))
	cfg.Gateway = g
	return cfg
}

func backendGateway(ctx context.Context, env *Env) error {
	b, id, err := configured(ctx, env, nil, 1)
	if err != nil {
		return err
	}
	peers := testPeers()
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: peers}); err != nil {
		return fmt.Errorf("ApplyPeers: %w", err)
	}
	router := &hostapi.GatewayConfig{Prefixes: []netip.Prefix{netip.MustParsePrefix("10.212.0.0/24"), netip.MustParsePrefix("fd00:212::/64")}, Masquerade: true}
	if !b.info.Capabilities.Has(hostapi.BackendCapGateway) {
		before, err := snapshotState(ctx, b)
		if err != nil {
			return err
		}
		return errs(
			wantCode("Configure with a Gateway without BackendCapGateway", b.Configure(ctx, gatewayConfig(id, router)), hostapi.CodeUnsupported),
			unchanged(ctx, b, before, "the refused Configure"),
		)
	}
	exit := &hostapi.GatewayConfig{Prefixes: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0")}}
	for _, step := range []struct {
		what string
		g    *hostapi.GatewayConfig
	}{{"a subnet router's gateway", router}, {"an exit's gateway", exit}, {"no gateway", nil}} {
		if err := b.Configure(ctx, gatewayConfig(id, step.g)); err != nil {
			return fmt.Errorf("Configure with %s: %w", step.what, err)
		}
		if err := wantPeers(ctx, b, peers...); err != nil {
			return fmt.Errorf("after Configure with %s: %w", step.what, err)
		}
	}
	return nil
}

// invalidGateways are gateways that hostapi.CheckGateway refuses.
var invalidGateways = []struct {
	name, rule string
	gateway    hostapi.GatewayConfig
}{
	{"host-bits", "has host bits set", hostapi.GatewayConfig{Prefixes: []netip.Prefix{netip.MustParsePrefix("10.212.0.1/24")}}},
	{"ipv4-mapped", "is IPv4-mapped", hostapi.GatewayConfig{Prefixes: []netip.Prefix{netip.MustParsePrefix("::ffff:10.212.0.0/120")}}},
	{"repeated", "is listed twice", hostapi.GatewayConfig{Prefixes: []netip.Prefix{netip.MustParsePrefix("10.212.0.0/24"), netip.MustParsePrefix("10.212.0.0/24")}}},
}

func backendGatewayInvalid(ctx context.Context, env *Env, g hostapi.GatewayConfig) error {
	b, id, err := configured(ctx, env, nil, 1)
	if err != nil {
		return err
	}
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: testPeers()}); err != nil {
		return fmt.Errorf("ApplyPeers: %w", err)
	}
	before, err := snapshotState(ctx, b)
	if err != nil {
		return err
	}
	return errs(
		wantCode(fmt.Sprintf("Configure with gateway %+v", g), b.Configure(ctx, gatewayConfig(id, &g)), hostapi.CodeInvalidArgument),
		unchanged(ctx, b, before, "the refused Configure"),
	)
}

func backendGatewayTraffic(ctx context.Context, env *Env) error {
	var lan *lanNet
	p, err := newPairWith(ctx, env, false, func(a, b *tnode) error {
		var err error
		if lan, err = lanBehind(ctx, env, b.b.Node); err != nil {
			return err
		}
		b.gateway = &hostapi.GatewayConfig{Prefixes: []netip.Prefix{lan.served}, Masquerade: true}
		b.allowed = []netip.Prefix{lan.served}
		a.routes = []netip.Prefix{lan.served}
		a.dests = []netip.AddrPort{lan.target}
		if lan.unserved.IsValid() {
			b.allowed = append(b.allowed, lan.unservedPrefix)
			a.routes = append(a.routes, lan.unservedPrefix)
			a.dests = append(a.dests, lan.unserved)
		}
		return nil
	})
	if err != nil {
		return err
	}
	a, b := p.a, p.b
	if _, err := a.exchangeWith(ctx, env, lan.target, "masqueraded"); err != nil {
		return fmt.Errorf("through the gateway (Masquerade) to %s: %w", lan.target, err)
	}
	if err := cameFrom(lan.seen, lan.target, lan.gw); err != nil {
		return fmt.Errorf("with Masquerade: %w", err)
	}
	if lan.unserved.IsValid() {
		if err := a.unreachable(ctx, env, lan.unserved); err != nil {
			return fmt.Errorf("through the gateway to %s, which it does not serve: %w", lan.unserved, err)
		}
	} else {
		env.Logf("no second address to stand for a destination the gateway does not serve: not checked")
	}

	b.gateway = &hostapi.GatewayConfig{Prefixes: []netip.Prefix{lan.served}}
	if err := b.b.Configure(ctx, b.config()); err != nil {
		return fmt.Errorf("Configure without Masquerade: %w", err)
	}
	if _, err := a.exchangeWith(ctx, env, lan.target, "not-masqueraded"); err != nil {
		return fmt.Errorf("through the gateway (no Masquerade) to %s: %w", lan.target, err)
	}
	// A backend without an OS interface dials from the host whatever
	// Masquerade says.
	src := lan.gw
	if osRouted(b.b) {
		src = a.id.addr
	}
	if err := cameFrom(lan.seen, lan.target, src); err != nil {
		return fmt.Errorf("without Masquerade: %w", err)
	}

	b.gateway = nil
	if err := b.b.Configure(ctx, b.config()); err != nil {
		return fmt.Errorf("Configure without a gateway: %w", err)
	}
	if err := a.unreachable(ctx, env, lan.target); err != nil {
		return fmt.Errorf("once the gateway is dropped, to %s: %w", lan.target, err)
	}
	if _, err := a.exchange(ctx, env, "mesh-after-gateway"); err != nil {
		return fmt.Errorf("to the peer itself once its gateway is dropped: %w", err)
	}
	return nil
}
