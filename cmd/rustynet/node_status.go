package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/rustynet/rustynet/core/controlapi"
)

func nodeStatusCommand() *command {
	return &command{
		name:    "status",
		args:    "[--socket PATH | --config FILE] [--check] [--peers all|summary|none]",
		summary: "show the running node: membership, backend (and why), peers",
		help: "Without --socket or --config it finds the local daemon as the daemon\n" +
			"finds its own socket: the default configuration of this user, else the\n" +
			"system's (/etc/rustynet/rustynet.toml on Linux), else the default sockets.\n\n" +
			"--check prints one line, the node's health and why, and exits\n" +
			"0 healthy, 1 degraded (a plugin restarting or broken, a stalled feed),\n" +
			"2 restricted-safe mode, 3 daemon unreachable — for monitoring and\n" +
			"service managers (the same verdict as /healthz beside the metrics).\n\n" +
			"--peers summary prints one line summing the peers up (how many, how\n" +
			"many have had a handshake, the latest, bytes in and out) instead of\n" +
			"one line per peer, and --peers none neither: for very large meshes,\n" +
			"whose full status is megabytes. Both count the host routes (a /32 or\n" +
			"/128, most often a peer's mesh address) instead of listing them, and\n" +
			"the backend sums its peers up itself: a fraction of the full status's\n" +
			"cost.",
		run: runNodeStatus,
	}
}

func runNodeStatus(ctx context.Context, e *env, args []string) error {
	fs := e.flagSet()
	socket := fs.String("socket", "", "the daemon's control socket")
	cfgPath := fs.String("config", "", "the daemon's configuration (to find its socket)")
	check := fs.Bool("check", false, "print the health verdict in one line; exit 0 healthy, 1 degraded, 2 restricted, 3 unreachable")
	peers := fs.String("peers", "all", "the `detail` of the peers shown: all, summary (one line) or none")
	if _, err := e.parse(fs, args, 0); err != nil {
		return err
	}
	detail, err := controlapi.ParsePeerDetail(*peers)
	if err != nil {
		return usageErrorf("--peers %q: want all, summary or none", *peers)
	}
	if *check {
		detail = controlapi.PeersSummary // the verdict counts the peers, it does not list them
	}
	c, err := controlClient(*socket, *cfgPath)
	if err != nil {
		return err
	}
	defer c.Close()
	if e.json && !*check {
		// The daemon's document, checked and indented as printJSON
		// indents: decoding megabytes of peers only to encode them again
		// costs more than the rest.
		if err := c.WriteStatusDocument(ctx, e.stdout, detail, "  "); err != nil {
			var werr *controlapi.WriteError
			if errors.As(err, &werr) {
				return internalErrorf("writing JSON output: %v", werr.Err)
			}
			return daemonError("asking the daemon for its status", err)
		}
		if _, err := io.WriteString(e.stdout, "\n"); err != nil {
			return internalErrorf("writing JSON output: %v", err)
		}
		return nil
	}
	st, err := c.StatusPeers(ctx, detail)
	if *check {
		return e.printCheck(st, err)
	}
	if err != nil {
		return daemonError("asking the daemon for its status", err)
	}
	printStatusPeers(e, st, detail)
	return nil
}

// printCheck prints the health verdict of st (or, with err, that the
// daemon is unreachable) as one line, or JSON, and exits with its level.
func (e *env) printCheck(st controlapi.Status, err error) error {
	res := st.Check()
	if err != nil {
		res = controlapi.CheckResult{Level: controlapi.CheckUnreachable, State: controlapi.CheckUnreachable.String(),
			Reason: asCLIError(daemonError("asking the daemon for its status", err)).msg}
	}
	if e.json {
		if err := e.printJSON(res); err != nil {
			return err
		}
	} else {
		fmt.Fprintln(e.stdout, res.Line())
	}
	return exitStatus(res.Level)
}

// printStatus prints st with its peers.
func printStatus(e *env, st controlapi.Status) { printStatusPeers(e, st, controlapi.PeersAll) }

// printStatusPeers prints st; with detail PeersNone it leaves the peers
// out, with PeersSummary st carries their sum, which it prints. It writes
// through a buffer: a status of 10,000 peers is as many lines, and a
// write each cost as much as the rest of the command.
func printStatusPeers(e *env, st controlapi.Status, detail controlapi.PeerDetail) {
	bw := bufio.NewWriterSize(e.stdout, 64<<10)
	defer bw.Flush()
	w := bw
	fmt.Fprintf(w, "node       %s (%s) in network %s\n", st.Node.ID, st.Node.PublicKey, st.Node.NetworkID)
	if b := st.Build; b.Version != "" {
		fmt.Fprintf(w, "daemon     %s\n", buildLine(b))
	}
	if st.Health.State == controlapi.HealthDegraded {
		fmt.Fprintln(w, "health     DEGRADED")
		for _, r := range st.Health.Reasons {
			fmt.Fprintf(w, "  - %s\n", r)
		}
	} else if st.Health.State != "" {
		fmt.Fprintf(w, "health     %s\n", st.Health.State)
	}
	trust := "trusted"
	switch {
	case st.Trust.Restricted:
		trust = "RESTRICTED-SAFE MODE: " + st.Trust.Reason
	case st.Trust.Forked != nil:
		trust = "FORKED: accepting no update; the data plane follows only what both sides agree on"
	}
	fmt.Fprintf(w, "membership epoch %d, root %s (%s)\n", st.Trust.Epoch, st.Trust.StateRoot, trust)
	if f := st.Trust.Forked; f != nil {
		fmt.Fprintf(w, "fork       %s\n", f.Summary)
		fmt.Fprintf(w, "  floor    %d members; evidence %s (check it: rustynet membership verify-evidence --genesis-root ROOT FILE)\n", f.FloorMembers, orDash(f.Evidence))
	}
	if !st.Trust.LastUpdateAt.IsZero() {
		fresh := ""
		switch {
		case st.Trust.Stale:
			fresh = fmt.Sprintf(" — STALE (max_update_age %s)", formatAge(time.Duration(st.Trust.MaxUpdateAgeSeconds)*time.Second))
		case st.Trust.MaxUpdateAgeSeconds > 0:
			fresh = fmt.Sprintf(" (max_update_age %s)", formatAge(time.Duration(st.Trust.MaxUpdateAgeSeconds)*time.Second))
		}
		fmt.Fprintf(w, "newest update created %s%s\n", e.ago(st.Trust.LastUpdateAt), fresh)
	}
	switch {
	case st.Trust.PolicyDigest == "":
		fmt.Fprintf(w, "policy     NONE: the membership has no access policy, so every connection from peers is denied\n")
	case st.Trust.FilterRules < 0:
		fmt.Fprintf(w, "policy     %s (no packet filter in place yet)\n", st.Trust.PolicyDigest)
	default:
		fmt.Fprintf(w, "policy     %s (%d filter rules here)\n", st.Trust.PolicyDigest, st.Trust.FilterRules)
	}
	if r := st.Trust.LastRejected; r != nil {
		fmt.Fprintf(w, "rejected   %s: %s (%s)\n", r.Code, r.Message, r.At.Format(time.RFC3339))
	}
	fmt.Fprintf(w, "backend    %s (plugin %s)\n", st.Backend.Name, pluginLine(e, st.Backend.Plugin))
	for _, s := range st.Backend.Skipped {
		fmt.Fprintf(w, "  skipped  %s: %s\n", s.Name, s.Reason)
	}
	if st.Backend.Isolated != "" {
		fmt.Fprintf(w, "isolated   %s\n", st.Backend.Isolated)
	}
	fmt.Fprintf(w, "store      %s (%s)\n", st.Store.Name, pluginLine(e, st.Store))
	if f := st.Feed; f != nil {
		fmt.Fprintf(w, "feed       %s, applied through epoch %d (%s)\n", f.Source, f.AppliedThrough, feedLine(e, f))
	}
	if y := st.Sync; y != nil {
		fmt.Fprintf(w, "sync       tcp/%d over the %s: %s\n", y.Port, y.Transport, syncLine(e, y))
	}
	printInterface(w, st.Interface)
	if detail != controlapi.PeersNone {
		printPeers(e, w, st)
	}
}

// printPeers prints the peers of st to w: their sum if the status carries
// one (--peers summary), else one line each.
func printPeers(e *env, w io.Writer, st controlapi.Status) {
	if sum := st.PeerSummary; sum != nil {
		latest := "never"
		if !sum.LatestHandshake.IsZero() {
			latest = e.ago(sum.LatestHandshake)
		}
		fmt.Fprintf(w, "\npeers      %d, %d with a handshake (latest %s); rx %s, tx %s\n",
			sum.Peers, sum.Handshaken, latest, formatBytes(sum.RxBytes), formatBytes(sum.TxBytes))
		return
	}
	rows := make([][]string, 0, 1+len(st.Peers))
	rows = append(rows, []string{"PEER", "ENDPOINT", "ALLOWED IPS", "LAST HANDSHAKE", "RX", "TX"})
	cells := make([]string, 6*len(st.Peers)) // one allocation for every row's cells
	for i, p := range st.Peers {
		hs := "never"
		if !p.LastHandshake.IsZero() {
			hs = e.ago(p.LastHandshake)
		}
		id := p.NodeID
		if id == "" {
			id = p.PublicKey
		}
		row := cells[6*i : 6*i+6 : 6*i+6]
		row[0], row[1], row[2], row[3], row[4], row[5] = id, orDash(p.Endpoint), strings.Join(p.AllowedIPs, " "), hs, formatBytes(p.RxBytes), formatBytes(p.TxBytes)
		rows = append(rows, row)
	}
	fmt.Fprintln(w)
	writeColumns(w, rows)
}

// syncLine sums up the exchange of heads with peers.
func syncLine(e *env, y *controlapi.SyncStatus) string {
	if y.Rounds == 0 {
		return "no round yet"
	}
	line := fmt.Sprintf("%d rounds, last %s", y.Rounds, e.ago(y.LastRound))
	if n := y.Newest; n != nil {
		line += fmt.Sprintf("; newest head heard: epoch %d from %s, %s", n.Epoch, n.Peer, e.ago(n.At))
	} else {
		line += "; no peer heard yet"
	}
	if y.Applied > 0 {
		line += fmt.Sprintf("; %d updates from peers", y.Applied)
	}
	if y.Behind {
		line += "; BEHIND its peers: " + y.LastError
	}
	return line
}

// ago says how long ago t was, for people (formatAge).
func (e *env) ago(t time.Time) string {
	return formatAge(e.now().Sub(t)) + " ago"
}

// pluginLine describes a supervised plugin: its state, restarts and, when
// it is not running, why and when it is tried again.
func pluginLine(e *env, p controlapi.PluginStatus) string {
	s := fmt.Sprintf("%s, %d restarts", p.State, p.Restarts)
	switch p.State {
	case "broken":
		s = fmt.Sprintf("BROKEN: it crash-looped, %d restarts; next attempt in %s", p.Restarts,
			formatAge(p.NextAttempt.Sub(e.now())))
	case "restarting":
		s = fmt.Sprintf("RESTARTING, %d restarts", p.Restarts)
	}
	if p.MissedPings > 0 {
		s += fmt.Sprintf(", %d health checks missed", p.MissedPings)
	}
	if p.State != "running" && p.LastError != "" {
		s += "; last failure: " + p.LastError
	}
	if p.Version != "" {
		s += "; version " + p.Version
	}
	return s
}

// feedLine describes the feed's state.
func feedLine(e *env, f *controlapi.FeedStatus) string {
	var s string
	switch f.State {
	case controlapi.FeedStalled:
		s = "STALLED"
		if !f.FetchingSince.IsZero() {
			s += ": a fetch has been running for " + formatAge(e.now().Sub(f.FetchingSince))
		}
	case controlapi.FeedFailing:
		s = "FAILING"
	case controlapi.FeedRejected:
		s = "REJECTED"
	default:
		s = f.State
	}
	if f.LastSuccess.IsZero() {
		s += "; never fetched successfully"
	} else {
		s += "; last success " + e.ago(f.LastSuccess)
	}
	if f.Stalls > 0 {
		s += fmt.Sprintf("; %d fetches cut for stalling", f.Stalls)
	}
	if f.Head > 0 {
		s += fmt.Sprintf("; the feed's head is epoch %d", f.Head)
		if f.ServedBy != "" && f.ServedBy != f.Source {
			s += " (served by " + f.ServedBy + ")"
		}
	}
	if p := f.CatchingUp; p != nil {
		s += fmt.Sprintf("; CATCHING UP: verified through epoch %d of %d (%s so far)", p.Through, p.Head, formatBytes(uint64(max(p.Bytes, 0))))
	} else if f.LastRequests > 0 {
		s += fmt.Sprintf("; last fetch %d request(s), %s", f.LastRequests, formatBytes(uint64(max(f.LastBytes, 0))))
	}
	for _, sk := range f.Skipped {
		s += "; passed over " + sk.Source + ": " + sk.Error
	}
	if f.LastError != "" {
		s += "; last error: " + f.LastError
	}
	return s
}

// printInterface prints the interface lines of status: name, port and
// addresses; the exit node and what the node serves; the proxies; the
// routes, grouped by where they lead.
func printInterface(w io.Writer, is *controlapi.InterfaceStatus) {
	if is == nil {
		return
	}
	fmt.Fprintf(w, "interface  %s, UDP port %d, addresses %s\n", is.Name, is.ListenPort, orDash(strings.Join(is.Addresses, " ")))
	if x := is.Exit; x != nil {
		state := "in use"
		if !x.Active {
			state = "NOT IN USE: " + x.Reason
		}
		fmt.Fprintf(w, "exit node  %s (%s)\n", x.Node, state)
	}
	if g := is.Gateway; g != nil {
		nat := ""
		if g.Masquerade {
			nat = ", masquerading"
		}
		if g.Reason != "" {
			nat += " — NOT SERVING: " + g.Reason
		}
		fmt.Fprintf(w, "serving    %s%s\n", strings.Join(g.Prefixes, " "), nat)
	}
	for _, p := range is.Proxies {
		target := ""
		if p.Target != "" {
			target = " → " + p.Target
		}
		switch {
		case p.Auth:
			target += " (username and password required)"
		case p.Kind == "socks5" || p.Kind == "http":
			target += " (no authentication)"
		}
		fmt.Fprintf(w, "proxy      %s %s%s\n", p.Kind, p.Listen, target)
	}
	mesh := 0
	for _, r := range is.Routes {
		if r.Kind == controlapi.RouteMesh {
			mesh++
		}
	}
	if is.HostRoutes > 0 { // a summary: host routes counted, not listed
		fmt.Fprintf(w, "routes     %d host routes (most often to mesh addresses)\n", is.HostRoutes)
	} else {
		fmt.Fprintf(w, "routes     %d to mesh addresses\n", mesh)
	}
	for _, k := range []string{controlapi.RouteSubnet, controlapi.RouteExit} {
		for _, r := range is.Routes {
			if r.Kind == k {
				fmt.Fprintf(w, "  %-8s %s via %s\n", k, r.Prefix, orDash(r.Via))
			}
		}
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// applyToDaemon submits an update file to the running daemon, which
// verifies it itself; its verdict is printed like any other.
func (e *env) applyToDaemon(ctx context.Context, socket, cfgPath, file string, dryRun bool) error {
	data, err := readInput(file)
	if err != nil {
		return err
	}
	c, err := controlClient(socket, cfgPath)
	if err != nil {
		return err
	}
	defer c.Close()
	res, err := c.ApplyUpdate(ctx, data, dryRun)
	if err != nil {
		return withNextStep(daemonError("applying through the daemon", err))
	}
	if e.json {
		return e.printJSON(res)
	}
	if res.AlreadyApplied {
		fmt.Fprintf(e.stdout, "already applied: the node holds this update at epoch %d (from a peer, the feed or an earlier apply); nothing changed\n", res.Epoch)
		return nil
	}
	verb := "applied"
	if res.DryRun {
		verb = "would apply (dry run)"
	}
	fmt.Fprintf(e.stdout, "%s: epoch %d, root %s\n", verb, res.Epoch, res.StateRoot)
	for _, c := range res.Changes {
		fmt.Fprintf(e.stdout, "  %s\n", c)
	}
	if !res.DryRun {
		fmt.Fprintf(e.stdout, "verified, durable and in the data plane in %s\n", time.Duration(res.LatencyMicros)*time.Microsecond)
	}
	if res.DataPlaneError != "" {
		e.notef("the update is committed but the backend refused the change (the daemon keeps retrying): %s", res.DataPlaneError)
	}
	return nil
}
