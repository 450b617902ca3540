package daemon

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/pluginhost"
	"github.com/rustynet/rustynet/core/reconcile"
	"github.com/rustynet/rustynet/hostapi"
)

// Status gathers what `rustynet status` shows. Peers come from the
// backend's read-back; if it cannot be read, Peers is empty and the
// backend plugin's status says why.
//
// Concurrent calls share one gathering that began after each of them was
// called (readgroup.Group): at 10,000 peers a status costs the daemon and
// the backend plugin milliseconds of CPU each, which five clients reading
// status back to back would otherwise take five times over from the
// applies. The result's slices may be shared with other callers and must
// not be modified. Status takes d.mu only to copy a few fields, never
// across the backend read.
func (d *Daemon) Status(ctx context.Context) (controlapi.Status, error) {
	return d.statusReads.DoContext(ctx, d.status)
}

// StatusSummary is Status for a status without every peer (see
// controlapi.SummaryHandler): the backend plugin sums its state up itself
// (hostapi.StateSummary), so neither every peer nor every host route is
// read across, converted or sent. Concurrent calls share one gathering as
// Status's do; d says what the result carries of the peers.
func (d *Daemon) StatusSummary(ctx context.Context, detail controlapi.PeerDetail) (controlapi.Status, error) {
	if detail == controlapi.PeersAll || detail == "" {
		return d.Status(ctx)
	}
	s, err := d.summaryReads.DoContext(ctx, d.statusSummary)
	if detail == controlapi.PeersNone {
		s.PeerSummary = nil // s is a copy; the gathering keeps its summary
	}
	return s, err
}

// statusSummary gathers the status for StatusSummary, with a peer summary.
func (d *Daemon) statusSummary(ctx context.Context) (controlapi.Status, error) {
	s, state := d.statusHead(ctx)
	sum, err := hostapi.StateSummary(ctx, d.backend)
	if err != nil {
		return s, nil // the plugin status explains; the rest of the status stands
	}
	var ids map[hostapi.Key]string // of the peers the listed routes lead to
	if len(sum.Routes) > 0 && state != nil {
		ids = make(map[hostapi.Key]string, len(sum.Routes))
		for _, r := range sum.Routes {
			ids[r.Peer] = ""
		}
		for n := range state.SharedNodes() {
			if _, ok := ids[hostapi.Key(n.PublicKey)]; ok {
				ids[hostapi.Key(n.PublicKey)] = n.ID
			}
		}
	}
	is := &controlapi.InterfaceStatus{Name: sum.Name, ListenPort: sum.ListenPort, Addresses: prefixStrings(sum.Addresses),
		Routes: []controlapi.RouteStatus{}, HostRoutes: sum.HostRoutes}
	for _, r := range sum.Routes {
		// Not a host route, so no node's mesh address.
		rs := controlapi.RouteStatus{Prefix: r.Prefix.String(), Via: ids[r.Peer], Kind: controlapi.RouteSubnet}
		if hostapi.IsDefaultRoute(r.Prefix) {
			rs.Kind = controlapi.RouteExit
		}
		is.Routes = append(is.Routes, rs)
	}
	d.interfaceExtras(is, state)
	s.Interface = is
	s.PeerSummary = &controlapi.PeerSummary{Peers: sum.Peers.Count, Handshaken: sum.Peers.Handshaken,
		LatestHandshake: sum.Peers.LatestHandshake, RxBytes: sum.Peers.RxBytes, TxBytes: sum.Peers.TxBytes}
	return s, nil
}

// status gathers the status for Status.
func (d *Daemon) status(ctx context.Context) (controlapi.Status, error) {
	s, state := d.statusHead(ctx)
	cur, err := d.backend.State(ctx)
	if err != nil {
		return s, nil // the plugin status explains; the rest of the status stands
	}
	s.Interface = &controlapi.InterfaceStatus{Name: cur.Name, ListenPort: cur.ListenPort, Addresses: prefixStrings(cur.Addresses)}
	s.Peers, s.Interface.Routes = d.statusPeers.convert(cur, state)
	d.interfaceExtras(s.Interface, state)
	return s, nil
}

// statusHead gathers every part of a status but the backend's: the node,
// trust, plugins, feed, sync and health, and the state they were read
// under (nil before genesis).
func (d *Daemon) statusHead(ctx context.Context) (controlapi.Status, *membership.State) {
	ls := d.ledger.Status()
	s := controlapi.Status{
		Node: controlapi.NodeStatus{ID: d.opts.NodeID, NetworkID: ls.NetworkID, PublicKey: d.selfKey.String()},
		Trust: controlapi.TrustStatus{Epoch: ls.Epoch, StateRoot: ls.Root.String(), GenesisRoot: d.opts.GenesisRoot.String(),
			Restricted: ls.Restricted, Reason: ls.Reason, HighWaterError: ls.HighWaterError, FilterRules: -1},
		Backend: controlapi.BackendStatus{Name: d.chosen, Plugin: pluginStatus(d.backSup.Status()),
			Skipped: append([]controlapi.SkippedBackend(nil), d.skipped...)},
		Store: pluginStatus(d.store.Status()),
		Peers: []controlapi.PeerStatus{},
	}
	d.mu.Lock()
	s.Backend.Isolated = d.isolated
	if d.filter != nil {
		s.Trust.FilterRules = len(d.filter.Rules)
	}
	if d.rejected != nil {
		r := *d.rejected
		s.Trust.LastRejected = &r
	}
	d.mu.Unlock()
	if d.opts.Feed != nil {
		f := d.feedStatus()
		s.Feed = &f
	}
	s.Trust.Forked = d.forkStatus()
	s.Sync = d.sync.status()
	d.freshness(&s.Trust)
	s.Health = health(s)
	d.auditHealth(&s.Health)
	d.fillVersions(ctx, &s)
	state := d.effectiveState()
	if state != nil {
		if h, ok := state.PolicyDigest(); ok {
			s.Trust.PolicyDigest = h.String()
		}
	}
	return s, state
}

func pluginStatus(s pluginhost.Status) controlapi.PluginStatus {
	return controlapi.PluginStatus{Name: s.Name, State: string(s.State), Restarts: s.Restarts, LastError: s.LastError,
		NextAttempt: s.NextAttempt, MissedPings: s.MissedPings}
}

// health says whether the node can do all its work, and if not why: it is
// in restricted-safe mode, forked, stale, a plugin is broken or restarting, or its feed
// has stalled.
func health(s controlapi.Status) controlapi.HealthStatus {
	var why []string
	if s.Trust.Restricted {
		why = append(why, "restricted-safe mode: "+s.Trust.Reason)
	}
	if f := s.Trust.Forked; f != nil {
		why = append(why, "forked: "+f.Summary+"; accepting no update until the fork is resolved (docs/forks.md)")
	}
	if s.Trust.Stale {
		why = append(why, staleReason(s.Trust))
	}
	if y := s.Sync; y != nil && y.Behind && y.Newest != nil {
		why = append(why, fmt.Sprintf("behind its peers: %s is at epoch %d, this node at %d; last error: %s", y.Newest.Peer, y.Newest.Epoch, s.Trust.Epoch, y.LastError))
	}
	if s.Trust.HighWaterError != "" {
		why = append(why, "the high-water mark lags the log (retrying): "+s.Trust.HighWaterError)
	}
	for _, p := range []struct {
		kind string
		st   controlapi.PluginStatus
	}{{"store", s.Store}, {"backend", s.Backend.Plugin}} {
		switch pluginhost.State(p.st.State) {
		case pluginhost.StateBroken:
			why = append(why, fmt.Sprintf("the %s plugin %s is broken (it crash-looped); next attempt at %s; last failure: %s",
				p.kind, p.st.Name, p.st.NextAttempt.Format(time.RFC3339), p.st.LastError))
		case pluginhost.StateRestarting:
			why = append(why, fmt.Sprintf("the %s plugin %s is restarting; last failure: %s", p.kind, p.st.Name, p.st.LastError))
		}
	}
	if f := s.Feed; f != nil && f.State == controlapi.FeedStalled {
		msg := "the feed " + f.Source + " has stalled"
		if !f.FetchingSince.IsZero() {
			msg += "; a fetch has been running since " + f.FetchingSince.Format(time.RFC3339)
		}
		if f.LastError != "" {
			msg += "; last error: " + f.LastError
		}
		why = append(why, msg)
	}
	if len(why) == 0 {
		return controlapi.HealthStatus{State: controlapi.HealthOK}
	}
	return controlapi.HealthStatus{State: controlapi.HealthDegraded, Reasons: why}
}

// interfaceExtras fills in what an interface status says beside its
// addresses and routes: the exit node, what the node serves, its proxies.
func (d *Daemon) interfaceExtras(is *controlapi.InterfaceStatus, state *membership.State) {
	if exit := d.recOpts.ExitNode; exit != "" {
		is.Exit = &controlapi.ExitStatus{Node: exit, Reason: reconcile.ExitProblem(state, d.recOpts)}
		if d.ledger.Restricted() != nil {
			is.Exit.Reason = "restricted-safe mode"
		}
		is.Exit.Active = is.Exit.Reason == ""
	}
	if plan := d.gatewayPlan(state); plan != nil {
		is.Gateway = &controlapi.GatewayStatus{Prefixes: prefixStrings(plan.Prefixes), Masquerade: plan.Masquerade}
		if !d.caps().Has(hostapi.BackendCapGateway) {
			is.Gateway.Reason = fmt.Sprintf("backend %s cannot forward", d.chosen)
		}
	}
	if p := d.opts.Interface.Proxy; p != nil && d.caps().Has(hostapi.BackendCapProxy) {
		is.Proxies = proxyStatus(*p)
	}
}

// gatewayPlan is what this node is to forward under state, nil for
// nothing (or in restricted-safe mode).
func (d *Daemon) gatewayPlan(state *membership.State) *hostapi.GatewayConfig {
	if d.ledger.Restricted() != nil {
		return nil
	}
	return reconcile.Gateway(state, d.recOpts)
}

// proxyStatus lists the listeners of p. Their addresses are those
// configured, which are those the backend listens on: the configuration
// refuses port 0, and a listener that cannot bind fails Configure.
func proxyStatus(p hostapi.ProxyConfig) []controlapi.ProxyStatus {
	var out []controlapi.ProxyStatus
	if p.SOCKS5.IsValid() {
		out = append(out, controlapi.ProxyStatus{Kind: "socks5", Listen: p.SOCKS5.String(), Auth: p.Auth != nil})
	}
	if p.HTTP.IsValid() {
		out = append(out, controlapi.ProxyStatus{Kind: "http", Listen: p.HTTP.String(), Auth: p.Auth != nil})
	}
	for _, f := range p.Forwards {
		out = append(out, controlapi.ProxyStatus{Kind: "forward/" + protoName(f.Proto), Listen: f.Listen.String(), Target: f.Destination()})
	}
	for _, e := range p.Exposes {
		out = append(out, controlapi.ProxyStatus{Kind: "expose/" + protoName(e.Proto), Listen: strconv.Itoa(int(e.MeshPort)), Target: e.Target.String()})
	}
	return out
}

func protoName(p hostapi.Proto) string {
	if p == hostapi.ProtoUDP {
		return "udp"
	}
	return "tcp"
}

func prefixStrings(ps []netip.Prefix) []string {
	out := make([]string, 0, len(ps))
	for _, p := range ps {
		out = append(out, p.String())
	}
	return out
}
