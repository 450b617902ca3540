package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/rustynet/rustynet/hostapi"
)

// The packet filter (hostapi.Backend.SetFilter). Every backend must have
// one: SPEC §7 puts the policy's enforcement in the data plane of every
// backend, and a state without a policy denies everything, so a backend
// that cannot filter can only leave a node open to what its policy denies
// or carry nothing at all. The filter cases are therefore MUST without a
// capability gate, not MUST-with-capability: a backend that does not
// advertise BackendCapPacketFilter, or answers UNSUPPORTED, fails them.
// (The flag stays on the wire, so that a host can tell such a plugin —
// an old one — and refuse it before it carries traffic.)
//
// The traffic cases run a pair whose node b filters what node a sends it,
// and check each clause of the contract with real traffic: a new
// connection no rule admits is dropped, one a rule admits passes with its
// replies, connections b opens get their replies without a rule, and a
// filter change keeps what it still admits and cuts the rest.

// otherPort is a second port of b's echo services, which the filters of
// these cases admit or not.
const otherPort = 8

// filterSilence is how long traffic the filter drops is waited for.
const filterSilence = silence

func backendFilterCases() []Case {
	return []Case{
		{
			ID: "backend.filter", Level: Must,
			Rule: "the backend advertises BackendCapPacketFilter (every backend enforces policy in its data plane) and SetFilter accepts a valid filter, and an empty one",
			Run:  backendFilter,
		},
		{
			ID: "backend.filter.invalid", Level: Must,
			Rule: "SetFilter with a prefix that has host bits or is IPv4-mapped, or an empty port range, fails with INVALID_ARGUMENT and changes nothing",
			Run:  backendFilterInvalid,
		},
		{
			ID: "backend.filter.tcp", Level: Must,
			Rule: "once a filter is set, a TCP connection from a peer to a port no rule admits is dropped, one to an admitted port passes and its replies flow, and a connection the node opens gets its replies without a rule",
			Run:  backendFilterTCP,
		},
		{
			ID: "backend.filter.udp", Level: Must,
			Rule: "once a filter is set, UDP from a peer to a port no rule admits is dropped, to an admitted port passes and is answered, and datagrams the node sends are answered without a rule",
			Run:  backendFilterUDP,
		},
		{
			ID: "backend.filter.icmp", Level: Must,
			Rule: "once a filter is set, ICMP and ICMPv6 echo requests from a peer pass only if an ICMP rule admits them, and the node's own echo requests get their replies without one",
			Run:  backendFilterICMP,
		},
		{
			ID: "backend.filter.ipv6", Level: Must,
			Rule: "the filter holds over IPv6 as over IPv4: a connection to an admitted port passes, to another port it is dropped",
			Run:  backendFilterIPv6,
		},
		{
			ID: "backend.filter.change", Level: Must,
			Rule: "a new filter keeps an open connection it still admits, opens a port it newly admits, and cuts at once an open connection it no longer admits",
			Run:  backendFilterChange,
		},
	}
}

func backendFilter(ctx context.Context, env *Env) error {
	b, id, err := configured(ctx, env, nil, 1)
	if err != nil {
		return err
	}
	var fails []error
	if !b.info.Capabilities.Has(hostapi.BackendCapPacketFilter) {
		fails = append(fails, errors.New("the backend does not advertise BackendCapPacketFilter: every backend must filter (SPEC §7)"))
	}
	f := hostapi.Filter{Rules: []hostapi.FilterRule{{
		Src:   []netip.Prefix{netip.MustParsePrefix("100.64.0.0/16"), netip.MustParsePrefix("fd7a::/48")},
		Dst:   []netip.Prefix{id.prefix()},
		Proto: hostapi.ProtoTCP,
		Ports: []hostapi.PortRange{{First: 22, Last: 22}, {First: 8000, Last: 8080}},
	}, {
		Src: []netip.Prefix{netip.MustParsePrefix("100.64.0.0/16")}, Dst: []netip.Prefix{id.prefix()}, Proto: hostapi.ProtoICMP,
	}}}
	if err := b.SetFilter(ctx, f); err != nil {
		fails = append(fails, fmt.Errorf("SetFilter of a valid filter: %w", err))
	}
	if err := b.SetFilter(ctx, hostapi.Filter{}); err != nil {
		fails = append(fails, fmt.Errorf("SetFilter of an empty filter (admitting nothing new): %w", err))
	}
	return errs(fails...)
}

// invalidFilters are filters whose rules FilterRule's validity rules
// refuse.
var invalidFilters = []struct {
	what string
	rule hostapi.FilterRule
}{
	{"a source with host bits", hostapi.FilterRule{Src: []netip.Prefix{netip.MustParsePrefix("100.64.0.1/16")}, Dst: []netip.Prefix{netip.MustParsePrefix("100.64.0.1/32")}}},
	{"an IPv4-mapped destination", hostapi.FilterRule{Src: []netip.Prefix{netip.MustParsePrefix("100.64.0.0/16")}, Dst: []netip.Prefix{netip.MustParsePrefix("::ffff:100.64.0.1/128")}}},
	{"an empty port range", hostapi.FilterRule{Src: []netip.Prefix{netip.MustParsePrefix("100.64.0.0/16")}, Dst: []netip.Prefix{netip.MustParsePrefix("100.64.0.1/32")},
		Proto: hostapi.ProtoTCP, Ports: []hostapi.PortRange{{First: 23, Last: 22}}}},
}

func backendFilterInvalid(ctx context.Context, env *Env) error {
	b, _, err := configured(ctx, env, nil, 1)
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
	var fails []error
	for _, f := range invalidFilters {
		fails = append(fails, wantCode("SetFilter with "+f.what, b.SetFilter(ctx, hostapi.Filter{Rules: []hostapi.FilterRule{f.rule}}), hostapi.CodeInvalidArgument))
	}
	fails = append(fails, unchanged(ctx, b, before, "a refused SetFilter"))
	return errs(fails...)
}

// filterPair is a pair whose node b runs TCP echo services on echoPort and
// otherPort, UDP echo services on both, and node a one UDP echo service on
// echoPort; a reaches all of b's, and b a's. With dual, both nodes also
// have an IPv6 mesh address, which a dials too.
func newFilterPair(ctx context.Context, env *Env, dual bool) (*pair, error) {
	return newPairWith(ctx, env, false, func(a, b *tnode) error {
		b.ports, b.udpPorts = []uint16{otherPort}, []uint16{echoPort, otherPort}
		a.udpPorts = []uint16{echoPort}
		a.dests = []netip.AddrPort{netip.AddrPortFrom(b.id.addr, otherPort)}
		a.udpDests = []netip.AddrPort{netip.AddrPortFrom(b.id.addr, echoPort), netip.AddrPortFrom(b.id.addr, otherPort)}
		b.udpDests = []netip.AddrPort{netip.AddrPortFrom(a.id.addr, echoPort)}
		if !dual {
			return nil
		}
		for _, n := range []*tnode{a, b} {
			if osRouted(n.b) && !n.b.info.Capabilities.Has(hostapi.BackendCapRoutes) {
				return Skipf("%s has neither proxies nor BackendCapRoutes: it cannot route its peer's IPv6 address", n.b.info.Name)
			}
		}
		a6, b6 := mesh6(1), mesh6(2)
		a.extra, a.allowed, a.routes = []netip.Prefix{a6}, []netip.Prefix{a6}, []netip.Prefix{b6}
		b.extra, b.allowed, b.routes = []netip.Prefix{b6}, []netip.Prefix{b6}, []netip.Prefix{a6}
		a.dests = append(a.dests, netip.AddrPortFrom(b6.Addr(), echoPort), netip.AddrPortFrom(b6.Addr(), otherPort))
		return nil
	})
}

// mesh6 is the n-th IPv6 mesh address, as a host prefix.
func mesh6(n int) netip.Prefix {
	return netip.PrefixFrom(netip.AddrFrom16([16]byte{0xfd, 0x7a, 0x11, 0x5c, 0xa1, 0xe0, 14: byte(n >> 8), 15: byte(n)}), 128)
}

// admit is a rule admitting proto from every address of a to every address
// of b, to ports (none: all).
func admit(a, b *tnode, proto hostapi.Proto, ports ...uint16) hostapi.FilterRule {
	r := hostapi.FilterRule{Src: append([]netip.Prefix{a.id.prefix()}, a.extra...), Dst: append([]netip.Prefix{b.id.prefix()}, b.extra...), Proto: proto}
	for _, p := range ports {
		r.Ports = append(r.Ports, hostapi.PortRange{First: p, Last: p})
	}
	return r
}

// setFilter gives n the filter of rules.
func (n *tnode) setFilter(ctx context.Context, rules ...hostapi.FilterRule) error {
	if err := n.b.SetFilter(ctx, hostapi.Filter{Rules: rules}); err != nil {
		return fmt.Errorf("SetFilter on %s: %w", n.b.info.Name, err)
	}
	return nil
}

// warmUp carries traffic both ways before a filter is set, so that what
// is dropped afterwards is the filter's doing, not a handshake's.
func warmUp(ctx context.Context, env *Env, p *pair) error {
	if _, err := p.a.exchange(ctx, env, "before-the-filter"); err != nil {
		return fmt.Errorf("before any filter: %w", err)
	}
	return nil
}

func backendFilterTCP(ctx context.Context, env *Env) error {
	p, err := newFilterPair(ctx, env, false)
	if err != nil {
		return err
	}
	a, b := p.a, p.b
	if err := warmUp(ctx, env, p); err != nil {
		return err
	}
	if err := b.setFilter(ctx, admit(a, b, hostapi.ProtoTCP, echoPort)); err != nil {
		return err
	}
	var fails []error
	if _, err := a.exchange(ctx, env, "admitted"); err != nil {
		fails = append(fails, fmt.Errorf("to the port a rule admits: %w", err))
	}
	if err := a.unreachable(ctx, env, netip.AddrPortFrom(b.id.addr, otherPort)); err != nil {
		fails = append(fails, fmt.Errorf("to port %d, which no rule admits: %w", otherPort, err))
	}
	if _, err := b.exchange(ctx, env, "opened-by-the-filtering-node"); err != nil {
		fails = append(fails, fmt.Errorf("a connection the filtering node opened (its replies need no rule): %w", err))
	}
	return errs(fails...)
}

func backendFilterUDP(ctx context.Context, env *Env) error {
	p, err := newFilterPair(ctx, env, false)
	if err != nil {
		return err
	}
	a, b := p.a, p.b
	if err := warmUp(ctx, env, p); err != nil {
		return err
	}
	if err := b.setFilter(ctx, admit(a, b, hostapi.ProtoUDP, echoPort)); err != nil {
		return err
	}
	var fails []error
	if ok, err := a.udpEchoes(ctx, netip.AddrPortFrom(b.id.addr, echoPort), ioTimeout); err != nil || !ok {
		fails = append(fails, fmt.Errorf("UDP to the port a rule admits: no echo within %s (%v)", ioTimeout, err))
	}
	if ok, err := a.udpEchoes(ctx, netip.AddrPortFrom(b.id.addr, otherPort), filterSilence); err != nil || ok {
		fails = append(fails, fmt.Errorf("UDP to port %d, which no rule admits: got an echo (%v)", otherPort, err))
	}
	if ok, err := b.udpEchoes(ctx, netip.AddrPortFrom(a.id.addr, echoPort), ioTimeout); err != nil || !ok {
		fails = append(fails, fmt.Errorf("UDP the filtering node sent: no echo within %s (%v)", ioTimeout, err))
	}
	return errs(fails...)
}

func backendFilterICMP(ctx context.Context, env *Env) error {
	if env.BackendInfo.Capabilities.Has(hostapi.BackendCapProxy) {
		return Skipf("%s reaches the mesh through proxies, which cannot send ICMP: ICMP echo is checked on backends with an OS interface", env.BackendInfo.Name)
	}
	p, err := newFilterPair(ctx, env, true)
	if err != nil {
		return err
	}
	a, b := p.a, p.b
	if err := warmUp(ctx, env, p); err != nil {
		return err
	}
	if err := b.setFilter(ctx, admit(a, b, hostapi.ProtoTCP, echoPort)); err != nil {
		return err
	}
	var fails []error
	for _, dst := range []netip.Addr{b.id.addr, b.extra[0].Addr()} {
		if ok, err := a.pings(ctx, dst, filterSilence); err != nil || ok {
			fails = append(fails, fmt.Errorf("an echo request to %s, which no rule admits, got a reply (%v)", dst, err))
		}
	}
	for _, dst := range []netip.Addr{a.id.addr, a.extra[0].Addr()} {
		if ok, err := b.pings(ctx, dst, ioTimeout); err != nil || !ok {
			fails = append(fails, fmt.Errorf("the filtering node's echo request to %s got no reply within %s (%v)", dst, ioTimeout, err))
		}
	}
	if err := b.setFilter(ctx, admit(a, b, hostapi.ProtoICMP)); err != nil {
		return err
	}
	for _, dst := range []netip.Addr{b.id.addr, b.extra[0].Addr()} {
		if ok, err := a.pings(ctx, dst, ioTimeout); err != nil || !ok {
			fails = append(fails, fmt.Errorf("an echo request to %s, which an ICMP rule admits, got no reply within %s (%v)", dst, ioTimeout, err))
		}
	}
	return errs(fails...)
}

func backendFilterIPv6(ctx context.Context, env *Env) error {
	p, err := newFilterPair(ctx, env, true)
	if err != nil {
		return err
	}
	a, b := p.a, p.b
	if err := warmUp(ctx, env, p); err != nil {
		return err
	}
	if err := b.setFilter(ctx, admit(a, b, hostapi.ProtoTCP, echoPort)); err != nil {
		return err
	}
	b6 := b.extra[0].Addr()
	var fails []error
	if _, err := a.exchangeWith(ctx, env, netip.AddrPortFrom(b6, echoPort), "admitted-over-ipv6"); err != nil {
		fails = append(fails, fmt.Errorf("over IPv6 to the port a rule admits: %w", err))
	}
	if err := a.unreachable(ctx, env, netip.AddrPortFrom(b6, otherPort)); err != nil {
		fails = append(fails, fmt.Errorf("over IPv6 to port %d, which no rule admits: %w", otherPort, err))
	}
	return errs(fails...)
}

func backendFilterChange(ctx context.Context, env *Env) error {
	p, err := newFilterPair(ctx, env, false)
	if err != nil {
		return err
	}
	a, b := p.a, p.b
	if err := b.setFilter(ctx, admit(a, b, hostapi.ProtoTCP, echoPort)); err != nil {
		return err
	}
	c, err := a.exchange(ctx, env, "before-the-change")
	if err != nil {
		return err
	}
	other := netip.AddrPortFrom(b.id.addr, otherPort)
	if err := b.setFilter(ctx, admit(a, b, hostapi.ProtoTCP, echoPort, otherPort)); err != nil {
		return err
	}
	if err := echo(c, sized("still-admitted", payloadBytes)); err != nil {
		return fmt.Errorf("the open connection after a change that still admits it: %w", err)
	}
	if _, err := a.exchangeWith(ctx, env, other, "newly-admitted"); err != nil {
		return fmt.Errorf("to port %d, which the new filter admits: %w", otherPort, err)
	}
	start := time.Now()
	if err := b.setFilter(ctx, admit(a, b, hostapi.ProtoTCP, otherPort)); err != nil {
		return err
	}
	if err := silent(c, sized("cut", 1<<10)); err != nil {
		return fmt.Errorf("the open connection after a change that no longer admits it (SetFilter took %s): %w", time.Since(start).Round(time.Millisecond), err)
	}
	if _, err := a.exchangeWith(ctx, env, other, "still-newly-admitted"); err != nil {
		return fmt.Errorf("to port %d, which the last filter admits: %w", otherPort, err)
	}
	return nil
}
