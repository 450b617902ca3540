package hostroute

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"slices"

	"github.com/google/nftables"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/plugins/internal/netlinkdump"
)

// Config names the interface a Link routes into.
type Config struct {
	// Index is the interface's index; Name its name, which also names its
	// nftables table and selects its packets there.
	Index int
	Name  string
	// SetMark sets the firewall mark the tunnel's own UDP packets carry
	// (SO_MARK for wireguard-go, FirewallMark for kernel WireGuard); 0
	// clears it. Its errors should carry a hostapi code.
	SetMark func(mark uint32) error
	// Logger receives warnings; nil discards them.
	Logger *slog.Logger
}

// Link is the host's routing for one interface: the routes into it, the
// policy routing of default routes, and the forwarding of packets from it
// (see the package documentation).
//
// A method that returns an error has changed nothing, unless it says
// otherwise. Routes may be called concurrently with the other methods,
// which the caller serialises.
type Link struct {
	log     *slog.Logger
	index   int
	name    string
	mark    uint32 // firewall mark and routing table of default routes
	setMark func(uint32) error
	ns      netns.NsHandle // the namespace every handle acts in
	nl      *netlink.Handle

	// Guarded by the caller's serialisation.
	want     map[netip.Prefix]bool  // routes asked for (implied ones too)
	addrs    []netip.Prefix         // the interface's addresses
	defaults map[int]bool           // address families with a default route installed
	gateway  *hostapi.GatewayConfig // as last set; nil: forward nothing
	filter   *packetFilter          // as last set; nil: no packet filter yet
	tabled   bool                   // the nftables table is in place
	warned   bool                   // the missing nftables has been logged
	closed   bool

	forward4, forward6, validMark *sysctl
}

// Open starts routing for the interface cfg names, in the network namespace
// of the calling thread, where every later call acts. Routes an earlier Link
// of the same interface installed (found by Protocol) become this Link's:
// they are what it reports and changes, and the policy rules and mark of
// default routes among them are put back in place if missing. A packet
// filter an earlier Link set stays in force as one that admits nothing new
// (see adoptFilter). Open installs no firewall table; SetGateway does.
func Open(cfg Config) (_ *Link, err error) {
	mark, err := MarkOf(cfg.Index)
	if err != nil {
		return nil, err
	}
	ns, err := netns.Get()
	if err != nil {
		return nil, hostapi.Errorf(hostapi.CodeUnavailable, "hostroute: the thread's network namespace: %v", err)
	}
	nl, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		ns.Close()
		return nil, sysError("open rtnetlink", err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	l := &Link{
		log:       logger,
		index:     cfg.Index,
		name:      cfg.Name,
		mark:      mark,
		setMark:   cfg.SetMark,
		ns:        ns,
		nl:        nl,
		want:      map[netip.Prefix]bool{},
		defaults:  map[int]bool{},
		forward4:  openSysctl(ipv4Forward),
		forward6:  openSysctl(ipv6Forward),
		validMark: openSysctl(srcValidMark),
	}
	defer func() {
		if err != nil {
			l.release()
		}
	}()
	routes, err := l.routes()
	if err != nil {
		return nil, err
	}
	for p := range routes {
		l.want[p] = true
		if hostapi.IsDefaultRoute(p) {
			l.defaults[family(p)] = true
		}
	}
	if err := l.adoptPolicy(); err != nil {
		return nil, err
	}
	l.adoptFilter()
	return l, nil
}

// adoptFilter keeps the interface filtered if an earlier Link had set a
// packet filter (its table has an input chain): until the next SetFilter
// the table admits nothing new from the interface, only replies, rather
// than nothing at all being filtered while a restarted backend waits for
// its filter. The rules themselves are not read back.
func (l *Link) adoptFilter() {
	_ = l.nftables(func(c *nftables.Conn) error {
		chains, err := c.ListChainsOfTableFamily(nftables.TableFamilyINet)
		if err != nil {
			return err
		}
		for _, ch := range chains {
			if ch.Table.Name == TableName(l.name) && ch.Name == "input" {
				l.filter = &packetFilter{}
				l.log.Warn("hostroute: the interface had a packet filter; it admits nothing new until the filter is set again", "interface", l.name)
			}
		}
		return nil
	})
}

// adoptPolicy brings the policy rules and the mark in line with the default
// routes found in place.
func (l *Link) adoptPolicy() error {
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		for _, r := range l.rules(fam) {
			var err error
			if l.defaults[fam] {
				err = ignore(l.nl.RuleAdd(r), unix.EEXIST)
			} else {
				err = ignore(l.nl.RuleDel(r), unix.ENOENT, unix.EAFNOSUPPORT) // none, or no IPv6 here
			}
			if err != nil {
				return sysError("policy rule", err)
			}
		}
	}
	if l.defaults[unix.AF_INET] {
		if _, err := l.validMark.ensure("1"); err != nil {
			return err
		}
	}
	var mark uint32
	if l.marked() {
		mark = l.mark
	}
	return l.setMark(mark)
}

// SetAddresses records the interface's addresses, which Apply needs: a
// route the addresses imply (hostapi.ImpliedRoutes) is not installed, and
// one they stop implying is. Routes are changed at once to match.
func (l *Link) SetAddresses(addrs []netip.Prefix) error {
	want := make([]netip.Prefix, 0, len(l.want))
	for p := range l.want {
		want = append(want, p)
	}
	if err := l.change(want, addrs); err != nil {
		return err
	}
	l.addrs = slices.Clone(addrs)
	return nil
}

// ApplyRoutes changes the routes into the interface by difference, as
// hostapi.Backend.ApplyRoutes: removals first, then additions; prefixes must
// pass hostapi.CheckRoute (else ErrInvalidArgument); a prefix the addresses
// imply is neither installed nor reported. A default route takes the
// policy routing described in the package documentation. On error the
// routes are as before. Errors: ErrInvalidArgument, ErrPermission,
// ErrUnsupported (e.g. IPv6 disabled), ErrConflict (another route with the
// same prefix and metric Metric), ErrUnavailable.
//
// It takes time in proportion to c, not to the routes installed: a mesh
// routes a prefix per peer, and a change is usually one peer's. It reads
// nothing back; a prefix asked for again is re-added if someone deleted
// it (an existing route is not an error then), so that a caller repairing
// from State can.
func (l *Link) ApplyRoutes(c hostapi.RouteChanges) error {
	if err := hostapi.CheckRouteChanges(c); err != nil {
		return err
	}
	if l.closed {
		return hostapi.ErrClosed
	}
	implied := hostapi.ImpliedRoutes(l.addrs)
	adding := make(map[netip.Prefix]bool, len(c.Add))
	for _, p := range c.Add {
		if !slices.Contains(implied, p) {
			adding[p] = true
		}
	}
	removing := make(map[netip.Prefix]bool, len(c.Remove))
	var remove, add, again []netip.Prefix
	for _, p := range c.Remove {
		if l.want[p] && !removing[p] && !adding[p] && !slices.Contains(implied, p) {
			remove = append(remove, p)
		}
		removing[p] = true
	}
	for p := range adding {
		switch {
		case !l.want[p]:
			add = append(add, p)
		case !removing[p]:
			again = append(again, p) // asked for again: repair it if it is gone
		}
	}
	slices.SortFunc(add, netip.Prefix.Compare)
	for _, p := range again {
		if err := (changer{l, nil}).AddRoute(p); err != nil && !errors.Is(err, hostapi.ErrConflict) {
			return err
		}
	}
	if err := Apply(changer{l, nil}, remove, add, l.log); err != nil {
		return err
	}
	for _, p := range c.Remove {
		delete(l.want, p)
	}
	for _, p := range c.Add {
		l.want[p] = true
	}
	return nil
}

// change installs want less what addrs imply, by difference with what is
// installed.
func (l *Link) change(want, addrs []netip.Prefix) error {
	if l.closed {
		return hostapi.ErrClosed
	}
	routes, err := l.routes()
	if err != nil {
		return err
	}
	have := make([]netip.Prefix, 0, len(routes))
	for p := range routes {
		have = append(have, p)
	}
	remove, add := Plan(have, want, addrs)
	return Apply(changer{l, routes}, remove, add, l.log)
}

// Routes reads from the kernel the routes this Link's interface has from
// ApplyRoutes, sorted; nil if none.
func (l *Link) Routes() ([]netip.Prefix, error) {
	routes, err := l.routes()
	if err != nil {
		return nil, err
	}
	var out []netip.Prefix
	for p := range routes {
		out = append(out, p)
	}
	slices.SortFunc(out, netip.Prefix.Compare)
	return out, nil
}

// routes lists the interface's routes that carry Protocol: in the main
// table, and the default routes in the Link's own table.
func (l *Link) routes() (map[netip.Prefix]netlink.Route, error) {
	filter := &netlink.Route{LinkIndex: l.index, Protocol: Protocol} // Table 0: every table
	list, err := netlinkdump.Retry(func() ([]netlink.Route, error) {
		return l.nl.RouteListFiltered(netlink.FAMILY_ALL, filter, netlink.RT_FILTER_OIF|netlink.RT_FILTER_PROTOCOL|netlink.RT_FILTER_TABLE)
	})
	if err != nil {
		return nil, sysError("list routes", err)
	}
	out := make(map[netip.Prefix]netlink.Route, len(list))
	for _, r := range list {
		p, ok := prefixOf(r.Dst)
		if ok && (r.Table == unix.RT_TABLE_MAIN || r.Table == int(l.mark) && p.Bits() == 0) {
			out[p.Masked()] = r
		}
	}
	return out, nil
}

// route is the route Link installs for p.
func (l *Link) route(p netip.Prefix) *netlink.Route {
	r := &netlink.Route{
		LinkIndex: l.index,
		Dst:       ipNet(p),
		Protocol:  Protocol,
		Priority:  Metric,
		Table:     unix.RT_TABLE_MAIN,
		Scope:     netlink.SCOPE_LINK,
	}
	if p.Addr().Is6() {
		r.Scope = netlink.SCOPE_UNIVERSE
	}
	if hostapi.IsDefaultRoute(p) {
		r.Table = int(l.mark)
	}
	return r
}

// changer changes single routes for Apply; routes is what was installed
// when the change began, so that a removal deletes the very route found
// (nil: the route Link would have installed).
type changer struct {
	l      *Link
	routes map[netip.Prefix]netlink.Route
}

func (c changer) AddRoute(p netip.Prefix) error {
	if hostapi.IsDefaultRoute(p) {
		return c.l.addDefault(p)
	}
	if err := c.l.nl.RouteAdd(c.l.route(p)); err != nil {
		return sysError("add route "+p.String(), err)
	}
	return nil
}

func (c changer) RemoveRoute(p netip.Prefix) error {
	r, ok := c.routes[p]
	if !ok {
		r = *c.l.route(p) // one this change added, being undone
	}
	if hostapi.IsDefaultRoute(p) {
		return c.l.removeDefault(p, &r)
	}
	if err := ignore(c.l.nl.RouteDel(&r), unix.ESRCH); err != nil {
		return sysError("remove route "+p.String(), err)
	}
	return nil
}

// steps records how to reverse the steps of a change made so far.
type steps []func() error

func (s *steps) push(f func() error) { *s = append(*s, f) }

// fail reverses the steps, newest first, and returns err, with the errors
// of steps that could not be reversed joined to it and logged.
func (s steps) fail(l *Link, err error) error {
	var errs []error
	for i := len(s) - 1; i >= 0; i-- {
		if uerr := s[i](); uerr != nil {
			errs = append(errs, uerr)
		}
	}
	if len(errs) > 0 {
		uerr := errors.Join(errs...)
		l.log.Error("hostroute: undoing a failed change failed", "interface", l.name, "err", uerr)
		return errors.Join(err, uerr)
	}
	return err
}

// addDefault installs the default route p: the mark on the tunnel's packets
// (with the first default route), src_valid_mark (IPv4), the route in the
// Link's table, then the two policy rules of p's family.
func (l *Link) addDefault(p netip.Prefix) error {
	var undo steps
	fam := family(p)
	first := !l.marked()
	if first {
		if err := l.setMark(l.mark); err != nil {
			return err
		}
		undo.push(func() error { return l.setMark(0) })
	}
	if fam == unix.AF_INET {
		changed, err := l.validMark.ensure("1")
		if err != nil {
			return undo.fail(l, err)
		}
		if changed {
			undo.push(l.validMark.restore)
		}
	}
	r := l.route(p)
	if err := l.nl.RouteAdd(r); err != nil {
		return undo.fail(l, sysError("add route "+p.String(), err))
	}
	undo.push(func() error { return ignore(l.nl.RouteDel(r), unix.ESRCH) })
	for _, rule := range l.rules(fam) {
		if err := ignore(l.nl.RuleAdd(rule), unix.EEXIST); err != nil {
			return undo.fail(l, sysError("add policy rule", err))
		}
		undo.push(func() error { return ignore(l.nl.RuleDel(rule), unix.ENOENT) })
	}
	if first {
		if err := l.syncFirewall(l.gateway, l.mark, l.filter); err != nil {
			return undo.fail(l, err)
		}
	}
	l.defaults[fam] = true
	return nil
}

// removeDefault removes the default route p, installed as r, and its
// family's policy rules; with the last default route, the mark too.
func (l *Link) removeDefault(p netip.Prefix, r *netlink.Route) error {
	var undo steps
	fam := family(p)
	rules := l.rules(fam)
	for i := len(rules) - 1; i >= 0; i-- {
		rule := rules[i]
		if err := ignore(l.nl.RuleDel(rule), unix.ENOENT); err != nil {
			return undo.fail(l, sysError("remove policy rule", err))
		}
		undo.push(func() error { return ignore(l.nl.RuleAdd(rule), unix.EEXIST) })
	}
	if err := ignore(l.nl.RouteDel(r), unix.ESRCH); err != nil {
		return undo.fail(l, sysError("remove route "+p.String(), err))
	}
	undo.push(func() error { return ignore(l.nl.RouteAdd(l.route(p)), unix.EEXIST) })
	last := len(l.defaults) == 1 && l.defaults[fam]
	if last {
		if err := l.syncFirewall(l.gateway, 0, l.filter); err != nil {
			return undo.fail(l, err)
		}
		undo.push(func() error { return l.syncFirewall(l.gateway, l.mark, l.filter) })
		if err := l.setMark(0); err != nil {
			return undo.fail(l, err)
		}
	}
	delete(l.defaults, fam)
	return nil
}

// marked reports whether the tunnel's packets carry the mark: whether a
// default route is installed.
func (l *Link) marked() bool { return len(l.defaults) > 0 }

// currentMark is the mark the firewall table must know: the Link's mark
// while a default route is installed, else 0.
func (l *Link) currentMark() uint32 {
	if l.marked() {
		return l.mark
	}
	return 0
}

// rules are the policy rules of a default route of family fam, in the
// order they are added.
func (l *Link) rules(fam int) []*netlink.Rule {
	suppress := netlink.NewRule()
	suppress.Family = fam
	suppress.Priority = RulePrioritySuppress
	suppress.Table = unix.RT_TABLE_MAIN
	suppress.SuppressPrefixlen = 0
	suppress.Mark = l.mark
	suppress.Invert = true
	suppress.Protocol = Protocol

	lookup := netlink.NewRule()
	lookup.Family = fam
	lookup.Priority = RulePriorityLookup
	lookup.Table = int(l.mark)
	lookup.Mark = l.mark
	lookup.Invert = true
	lookup.Protocol = Protocol
	return []*netlink.Rule{suppress, lookup}
}

// SetGateway makes the interface forward for peers as gw says (nil: forward
// nothing): it replaces the nftables table, then turns on the forwarding
// sysctls gw's prefixes need, then puts back those it had turned on and gw
// no longer needs. gw must pass hostapi.CheckGateway (else
// ErrInvalidArgument). With gw set, a host where nftables or a forwarding
// sysctl is missing or refused fails with ErrUnsupported or ErrPermission
// and nothing changes; with gw nil, a missing nftables is logged as a
// warning and SetGateway succeeds.
func (l *Link) SetGateway(gw *hostapi.GatewayConfig) error {
	if l.closed {
		return hostapi.ErrClosed
	}
	if gw != nil {
		if err := hostapi.CheckGateway(*gw); err != nil {
			return err
		}
		gw = CloneGateway(gw)
	}
	if err := l.syncFirewall(gw, l.currentMark(), l.filter); err != nil {
		return err
	}
	var undo steps
	undo.push(func() error { return l.syncFirewall(l.gateway, l.currentMark(), l.filter) })
	need4, need6 := forwards(gw)
	for _, f := range []struct {
		s    *sysctl
		need bool
	}{{l.forward4, need4}, {l.forward6, need6}} {
		if !f.need {
			continue
		}
		changed, err := f.s.ensure("1")
		if err != nil {
			return undo.fail(l, err)
		}
		if changed {
			undo.push(f.s.restore)
		}
	}
	for _, f := range []struct {
		s    *sysctl
		need bool
	}{{l.forward4, need4}, {l.forward6, need6}} {
		if !f.need {
			if err := f.s.restore(); err != nil {
				l.log.Error("hostroute: putting back a forwarding setting", "interface", l.name, "err", err)
			}
		}
	}
	l.gateway = gw
	return nil
}

// forwards reports which families gw forwards.
func forwards(gw *hostapi.GatewayConfig) (ipv4, ipv6 bool) {
	if gw == nil {
		return false, false
	}
	for _, p := range gw.Prefixes {
		ipv4 = ipv4 || p.Addr().Is4()
		ipv6 = ipv6 || p.Addr().Is6()
	}
	return ipv4, ipv6
}

// SetFilter makes the interface's table filter the packets that arrive
// from it, to the host and forwarded beyond it, as
// hostapi.Backend.SetFilter states: nftables rules in the interface's
// table (see firewall.chains), replaced atomically with the rest of it.
// What f admits is held in sets of concatenated ranges (packetfilter.Cells);
// f must pass hostapi.CheckFilter and need at most MaxFilterElements
// elements, else ErrInvalidArgument. Connections are conntrack's, with its
// bounds and timeouts (nf_conntrack_max, nf_conntrack_*_timeout). A host
// without nftables, or whose kernel lacks sets of concatenated ranges
// (before Linux 5.6), fails with ErrUnsupported, and nothing changes.
func (l *Link) SetFilter(f hostapi.Filter) error {
	if l.closed {
		return hostapi.ErrClosed
	}
	sets, err := filterSets(f)
	if err != nil {
		return err
	}
	pf := &packetFilter{sets: sets}
	if err := l.syncFirewall(l.gateway, l.currentMark(), pf); err != nil {
		return err
	}
	l.filter = pf
	return nil
}

// syncFirewall replaces the interface's nftables table by the one for gw,
// mark and pf. If nftables is missing or refuses, that is an error with a
// gateway or a packet filter; without either it is logged, once, and
// ignored.
func (l *Link) syncFirewall(gw *hostapi.GatewayConfig, mark uint32, pf *packetFilter) error {
	var opts []nftables.ConnOption
	if pf != nil {
		opts = bufferFor(pf.sets)
	}
	err := l.nftables(func(c *nftables.Conn) error {
		return firewall{iface: l.name, gateway: gw, mark: mark, filter: pf}.install(c)
	}, opts...)
	if err == nil {
		l.tabled, l.warned = true, false
		return nil
	}
	if gw != nil || mark != 0 || pf != nil {
		// A gateway needs the table; so does a default route, whose
		// replies a strict reverse-path filter drops unless conntrack
		// gives them the tunnel's mark (the table's mark chain): refused,
		// as the contract wants, rather than accepted and looping.
		return firewallError(err)
	}
	if !l.warned {
		l.log.Warn("hostroute: nftables is unavailable, so packets from peers are forwarded as far as the host's own settings allow",
			"interface", l.name, "err", err)
		l.warned = true
	}
	return nil
}

// nftables runs fn with a connection to nftables, made with opts, in the
// Link's network namespace. (nftables.WithNetNSFd is not used:
// mdlayher/socket's namespace switch returns a nil connection, and
// nftables then panics, where the kernel refuses the socket, as one
// without nf_tables does.)
func (l *Link) nftables(fn func(*nftables.Conn) error, opts ...nftables.ConnOption) error {
	return l.inNamespace(func() error {
		c, err := nftables.New(opts...) // its sockets open in the calling thread's namespace
		if err != nil {
			return err
		}
		return fn(c)
	})
}

// inNamespace runs fn on an OS thread that is in the Link's network
// namespace, and waits for it; sockets fn opens stay there. fn runs on a
// goroutine of its own: if its thread cannot go back to its own namespace,
// it stays locked and ends with the goroutine, never to be reused.
func (l *Link) inNamespace(fn func() error) error {
	done := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		cur, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		defer cur.Close()
		if cur.Equal(l.ns) {
			err := fn()
			runtime.UnlockOSThread()
			done <- err
			return
		}
		if err := netns.Set(l.ns); err != nil {
			runtime.UnlockOSThread()
			done <- err
			return
		}
		err = fn()
		if netns.Set(cur) == nil {
			runtime.UnlockOSThread()
		}
		done <- err
	}()
	return <-done
}

// Close removes everything the Link added and that the interface does not
// take with it: forwarding settings go back to what they were (first, so
// nothing is forwarded unguarded), then the nftables table, the policy
// rules and the routes go. It releases the Link's handles and is
// idempotent. It returns the errors of what it could not remove, having
// tried everything.
func (l *Link) Close() error {
	if l.closed {
		return nil
	}
	l.closed = true
	var errs []error
	for _, s := range []*sysctl{l.forward4, l.forward6} {
		if err := s.restore(); err != nil {
			errs = append(errs, err)
		}
	}
	if l.tabled {
		if err := l.nftables(func(c *nftables.Conn) error { return removeTable(c, l.name) }); err != nil {
			errs = append(errs, fmt.Errorf("remove nftables table %s: %w", TableName(l.name), err))
		}
	}
	for _, fam := range []int{unix.AF_INET, unix.AF_INET6} {
		for _, r := range l.rules(fam) {
			if err := ignore(l.nl.RuleDel(r), unix.ENOENT, unix.EAFNOSUPPORT); err != nil {
				errs = append(errs, fmt.Errorf("remove policy rule: %w", err))
			}
		}
	}
	routes, err := l.routes()
	if err != nil {
		errs = append(errs, err)
	}
	for p, r := range routes {
		if err := ignore(l.nl.RouteDel(&r), unix.ESRCH); err != nil {
			errs = append(errs, fmt.Errorf("remove route %s: %w", p, err))
		}
	}
	l.release()
	if len(errs) > 0 {
		return hostapi.Errorf(hostapi.CodeUnavailable, "hostroute: closing %s: %v", l.name, errors.Join(errs...))
	}
	return nil
}

// Release closes the Link's handles and leaves everything it installed in
// place, for a later Link of the same interface to take over (as after a
// Configure that failed on an interface a backend adopted). It is
// idempotent, and so is Close after it.
func (l *Link) Release() {
	if l.closed {
		return
	}
	l.closed = true
	l.release()
}

// release closes the Link's handles and files.
func (l *Link) release() {
	for _, s := range []*sysctl{l.forward4, l.forward6, l.validMark} {
		s.close()
	}
	l.nl.Close()
	l.ns.Close()
}

// family returns p's address family (unix.AF_INET or unix.AF_INET6).
func family(p netip.Prefix) int {
	if p.Addr().Is4() {
		return unix.AF_INET
	}
	return unix.AF_INET6
}

// ignore returns nil if err is one of errnos, else err.
func ignore(err error, errnos ...unix.Errno) error {
	for _, errno := range errnos {
		if errors.Is(err, errno) {
			return nil
		}
	}
	return err
}

// sysError gives a kernel error a stable code: missing privileges, a
// missing kernel feature (e.g. IPv6 disabled), a route in the way, or the
// kernel declining for now.
func sysError(what string, err error) error {
	code := hostapi.CodeUnavailable
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		code = hostapi.CodePermission
	case errors.Is(err, unix.EAFNOSUPPORT), errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EPROTONOSUPPORT):
		code = hostapi.CodeUnsupported
	case errors.Is(err, unix.EEXIST):
		code = hostapi.CodeConflict
	}
	return hostapi.Errorf(code, "hostroute: %s: %v", what, err)
}

// ipNet converts p to the net package's form.
func ipNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

// prefixOf converts n from the net package's form; IPv4 comes back as
// IPv4 whatever the length of n.IP.
func prefixOf(n *net.IPNet) (netip.Prefix, bool) {
	if n == nil {
		return netip.Prefix{}, false
	}
	ones, bits := n.Mask.Size()
	ip := n.IP
	if bits == 32 {
		ip = ip.To4()
	}
	a, ok := netip.AddrFromSlice(ip)
	if !ok || a.BitLen() != bits {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, ones), true
}
