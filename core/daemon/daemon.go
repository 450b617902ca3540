package daemon

import (
	"bufio"
	"context"
	"crypto/ecdh"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustynet/rustynet/core/audit"
	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/feed"
	"github.com/rustynet/rustynet/core/ledger"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/pluginhost"
	"github.com/rustynet/rustynet/core/policy"
	"github.com/rustynet/rustynet/core/reconcile"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/readgroup"
)

// BackendChoice is one backend the daemon may use.
type BackendChoice struct {
	Name   string
	Launch pluginhost.LaunchFunc[hostapi.Backend]
}

// Options configure a Daemon.
type Options struct {
	NodeID     string
	PrivateKey hostapi.PrivateKey
	// Genesis is the network's signed genesis; GenesisRoot pins it.
	Genesis     *membership.SignedUpdate
	GenesisRoot membership.Hash
	// StateDir is the store's directory; HighWaterPath overrides the
	// ledger's default high-water mark location.
	StateDir      string
	HighWaterPath string
	// Store launches the store plugin; StoreName names it in status.
	Store     pluginhost.LaunchFunc[hostapi.Store]
	StoreName string
	// Backends are tried in order (one entry unless the configuration says
	// "auto"); the first whose plugin launches, probes and configures is
	// used, and why each earlier one was skipped is reported.
	Backends []BackendChoice
	// Interface is the interface configuration; PrivateKey is filled in.
	Interface hostapi.InterfaceConfig
	// PersistentKeepalive for every peer.
	PersistentKeepalive time.Duration
	// Routing is the local routing choices: AcceptRoutes, ExitNode, Serve
	// and Masquerade of reconcile.Options (the other fields are filled in).
	Routing reconcile.Options
	// Feed, if set, is polled every FeedInterval (default 5s). Status
	// reports it stalled when a fetch has run for FeedStallAfter, or no
	// fetch has succeeded for that long; 0 means 3 × FeedInterval, at
	// least 30 s. The feed is fetched on its own goroutine, outside every
	// lock: however long a fetch takes, nothing else waits for it.
	Feed           feed.Source
	FeedInterval   time.Duration
	FeedStallAfter time.Duration
	// ExitOnBrokenPlugin makes Failed deliver once a plugin's crash-loop
	// breaker opens, so that a service manager can restart the whole node;
	// otherwise the daemon keeps running degraded and retries the plugin
	// for ever (see pluginhost).
	ExitOnBrokenPlugin bool
	// RepairInterval is how often the data plane is fully re-read and
	// reconciled; 0 means 30s.
	RepairInterval time.Duration
	// Limits; nil means membership.DefaultLimits().
	Limits *membership.Limits
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
	// Observer, if set, receives the events metrics count (see Observer).
	Observer Observer
	// Audit configures the audit trail (on by default, beside StateDir).
	Audit AuditOptions
	// Sync configures the exchange of heads with peers over the mesh
	// (core/gossip); a zero Port turns it off.
	Sync SyncOptions
	// MaxUpdateAge, if positive, is how old the newest trusted update (by
	// its signed created_at) may be before the node reports itself stale:
	// status says so, health is degraded, and the log and the audit trail
	// say it once. Traffic is not cut: a quiet network is not an attack.
	MaxUpdateAge time.Duration
}

// Daemon is a running node agent.
type Daemon struct {
	opts    Options
	log     *slog.Logger
	selfKey membership.NodeKey
	recOpts reconcile.Options

	store   *pluginhost.Supervisor[hostapi.Store]
	ledger  *ledger.Ledger
	backSup *pluginhost.Supervisor[hostapi.Backend]
	backend hostapi.Backend
	chosen  string
	skipped []controlapi.SkippedBackend

	repair   chan struct{} // a full reconcile is wanted
	names    chan struct{} // the proxies' names may have changed (namesLoop)
	backCaps atomic.Uint64 // capabilities of the running backend plugin
	// noGatewayLogged is set once the node has said that its backend
	// cannot forward what the membership lets it serve.
	noGatewayLogged atomic.Bool
	// staleSeen is whether the node was stale at the last freshness check.
	staleSeen atomic.Bool
	cancel    context.CancelFunc
	wg        sync.WaitGroup

	compiler policy.Compiler // filterOf's, reusing its memory; serialized by itself

	// statusPeers converts the backend's peers and routes for statuses,
	// from the last conversion where it can.
	statusPeers statusPeers

	// mu serialises data-plane changes and guards the fields below. It
	// comes before the ledger's lock (see the package doc): hold it across
	// backend calls, never take it from a supervisor's Setup.
	mu       sync.Mutex
	applied  map[hostapi.Key]hostapi.PeerConfig
	filter   *hostapi.Filter // as last set successfully; nil before the first
	isolated string
	rejected *controlapi.Rejection
	// forkSeen is how many pieces of the ledger's evidence of forks the
	// daemon has acted on (recorded, shrunk the data plane to the floor).
	forkSeen int
	// cfgSeq numbers the interface configurations computed for Configure,
	// in the order they were computed (under mu).
	cfgSeq uint64

	// configMu serialises the backend's Configure calls made with a
	// configuration computed under mu, and guards the fields below. It
	// comes after mu: fullReconcile takes it holding mu, the names loop
	// alone, once it has computed its configuration under mu and let mu
	// go (a names table of 10,000 members takes a while to send). A
	// supervisor's Setup never takes it (see the package doc).
	configMu sync.Mutex
	// configured is the cfgSeq of the newest configuration the backend is
	// known to hold: an older one is never sent after it.
	configured uint64
	gateway    *hostapi.GatewayConfig // as last configured successfully
	// hosts is the digest (hostsDigest) of the proxies' names table as
	// last configured successfully: fullReconcile compares one digest,
	// not the table, whatever the size of the network.
	hosts [sha256.Size]byte

	// statusReads coalesces concurrent Status calls (status.go); it is
	// taken before d.mu, which a gathering holds only briefly.
	statusReads readgroup.Group[controlapi.Status]
	// summaryReads does the same for StatusSummary.
	summaryReads readgroup.Group[controlapi.Status]

	// feedMu guards the feed's status; nothing is called under it.
	feedMu sync.Mutex
	feed   controlapi.FeedStatus // State is the last fetch's outcome
	// feedSince is when the feed last succeeded, or when polling began
	// (monotonic clock).
	feedSince time.Time

	failed chan error // receives why the daemon must stop (ExitOnBrokenPlugin)

	aud auditTrail // set before the first supervisor starts; see audit.go

	sync *meshSync // nil when the exchange with peers is off; see sync.go
}

// Interface guard: the daemon is what the control API serves.
var _ controlapi.Handler = (*Daemon)(nil)

// Start brings the node up: store plugin, ledger (re-verified; restricted
// mode on any failure), genesis bootstrap, backend selection, a full
// reconcile, then the repair and feed loops. On error nothing keeps running.
func Start(ctx context.Context, opts Options) (*Daemon, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.RepairInterval == 0 {
		opts.RepairInterval = 30 * time.Second
	}
	if opts.FeedInterval == 0 {
		opts.FeedInterval = 5 * time.Second
	}
	if opts.FeedStallAfter == 0 {
		opts.FeedStallAfter = max(3*opts.FeedInterval, 30*time.Second)
	}
	priv, err := ecdh.X25519().NewPrivateKey(opts.PrivateKey[:])
	if err != nil {
		return nil, fmt.Errorf("daemon: node private key: %w", err)
	}
	d := &Daemon{opts: opts, log: opts.Logger, repair: make(chan struct{}, 1), names: make(chan struct{}, 1), applied: map[hostapi.Key]hostapi.PeerConfig{},
		failed: make(chan error, 1)}
	copy(d.selfKey[:], priv.PublicKey().Bytes())
	d.recOpts = opts.Routing
	d.recOpts.Self, d.recOpts.SelfKey, d.recOpts.PersistentKeepalive = opts.NodeID, d.selfKey, opts.PersistentKeepalive
	if err := d.start(ctx); err != nil {
		d.Close() // stops whatever start got running
		return nil, err
	}
	return d, nil
}

// start does Start's work on d; on error, d.Close cleans up what it began.
func (d *Daemon) start(ctx context.Context) error {
	opts := d.opts
	var err error

	if opts.StoreName == "" {
		opts.StoreName = "store"
	}
	d.openAudit()
	d.store, err = pluginhost.Start(ctx, pluginhost.Config[hostapi.Store]{
		Name:   opts.StoreName,
		Launch: opts.Store,
		Setup: func(ctx context.Context, s hostapi.Store) error {
			return s.Open(ctx, hostapi.StoreConfig{Dir: opts.StateDir})
		},
		OnBroken:   d.onBroken("store"),
		OnFailure:  d.auditPlugin(audit.KindPluginCrashed),
		OnRelaunch: d.auditPlugin(audit.KindPluginRelaunched),
		Logger:     d.log,
	})
	if err != nil {
		return err
	}
	d.ledger, err = ledger.Open(ctx, ledger.Config{
		Store:         pluginhost.Store(d.store),
		StateDir:      opts.StateDir,
		HighWaterPath: opts.HighWaterPath,
		GenesisRoot:   opts.GenesisRoot,
		Limits:        opts.Limits,
		Now:           opts.Now,
		Logger:        d.log,
	})
	if err != nil {
		return err
	}
	empty := d.ledger.Status().Epoch == 0
	if d.ledger.Restricted() == nil && opts.Genesis != nil {
		if err := d.ledger.Bootstrap(ctx, opts.Genesis); err != nil {
			return fmt.Errorf("daemon: genesis: %w", err)
		}
	}
	d.auditStart(empty && d.ledger.Status().Epoch > 0)
	if err := d.prepareSync(); err != nil {
		return err
	}
	if f := d.ledger.Fork(); f != nil {
		d.forkSeen = len(f.Items) // Start is before any other goroutine: no lock needed
		d.recordFork()
	}
	if err := d.chooseBackend(ctx); err != nil {
		return err
	}
	// The backend's setup asked for a full reconcile: the one below is it
	// (a second would read every peer back again at start). A request made
	// after this point (a relaunch meanwhile) stays for the repair loop.
	select {
	case <-d.repair:
	default:
	}
	d.mu.Lock()
	err = d.fullReconcile(ctx)
	d.mu.Unlock()
	if err != nil {
		return err
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	d.startSync(loopCtx) // before the loops: it picks its transport once
	d.wg.Add(2)
	go d.repairLoop(loopCtx)
	go d.namesLoop(loopCtx)
	if opts.Feed != nil {
		d.feed = controlapi.FeedStatus{Source: opts.Feed.String(), State: controlapi.FeedPending}
		d.feedSince = time.Now()
		d.wg.Add(1)
		go d.feedLoop(loopCtx)
	}
	return nil
}

// Failed delivers, at most once, why the daemon must stop: with
// Options.ExitOnBrokenPlugin, that a plugin's crash-loop breaker opened.
// The daemon keeps running until Close; stopping is the caller's choice.
func (d *Daemon) Failed() <-chan error { return d.failed }

// onBroken returns the supervisors' OnBroken for a plugin of kind. It
// runs on a supervisor's goroutine and takes no lock.
func (d *Daemon) onBroken(kind string) func(pluginhost.Status) {
	record := d.auditPlugin(audit.KindPluginBroken)
	return func(st pluginhost.Status) {
		record(st)
		if !d.opts.ExitOnBrokenPlugin {
			return
		}
		err := fmt.Errorf("the %s plugin %s is broken (it crash-looped: %s)", kind, st.Name, st.LastError)
		select {
		case d.failed <- err:
		default: // one reason is enough
		}
	}
}

// chooseBackend starts the first backend that launches, probes and
// configures, recording why each earlier one was skipped.
func (d *Daemon) chooseBackend(ctx context.Context) error {
	for _, c := range d.opts.Backends {
		sup, err := pluginhost.Start(ctx, pluginhost.Config[hostapi.Backend]{
			Name:       c.Name,
			Launch:     c.Launch,
			Setup:      d.setupBackend,
			OnBroken:   d.onBroken("backend"),
			OnFailure:  d.auditPlugin(audit.KindPluginCrashed),
			OnRelaunch: d.auditPlugin(audit.KindPluginRelaunched),
			Logger:     d.log,
		})
		if err != nil {
			d.skipped = append(d.skipped, controlapi.SkippedBackend{Name: c.Name, Reason: err.Error()})
			d.log.Info("backend skipped", "backend", c.Name, "reason", err)
			continue
		}
		d.backSup, d.backend, d.chosen = sup, pluginhost.Backend(sup), c.Name
		d.log.Info("backend chosen", "backend", c.Name)
		return nil
	}
	why := make([]string, len(d.skipped))
	for i, sk := range d.skipped {
		why[i] = sk.Name + ": " + sk.Reason
	}
	return fmt.Errorf("daemon: no backend works here (%s)", strings.Join(why, "; "))
}

// setupBackend prepares a freshly launched backend plugin: it must work
// here (Probe), gets the interface configuration, and receives the whole
// desired peer set and routes from the ledger. It does not take d.mu (see
// the package doc); it asks the repair loop for a full reconcile instead.
func (d *Daemon) setupBackend(ctx context.Context, b hostapi.Backend) error {
	if err := b.Probe(ctx); err != nil {
		return err
	}
	info, err := b.Info(ctx)
	if err != nil {
		return err
	}
	if d.opts.Interface.Proxy != nil && !info.Capabilities.Has(hostapi.BackendCapProxy) {
		d.log.Info("proxy settings unused: the backend has an OS interface instead", "backend", info.Name)
	}
	d.backCaps.Store(uint64(info.Capabilities))
	plan := d.plan()
	if err := b.Configure(ctx, d.interfaceConfig(plan)); err != nil {
		return err
	}
	// The filter goes in before any peer, so no packet from a peer ever
	// meets an unfiltered interface.
	if d.caps().Has(hostapi.BackendCapPacketFilter) {
		if err := b.SetFilter(ctx, d.filterOf(plan.Isolated)); err != nil {
			return err
		}
	}
	if len(plan.Peers) > 0 {
		if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: plan.Peers}); err != nil {
			return err
		}
	}
	if routes := d.routesOf(plan); len(routes) > 0 {
		if err := b.ApplyRoutes(ctx, hostapi.RouteChanges{Add: routes}); err != nil {
			return err
		}
	}
	d.requestRepair()
	return nil
}

// caps returns the capabilities of the running backend plugin.
func (d *Daemon) caps() hostapi.BackendCapabilities {
	return hostapi.BackendCapabilities(d.backCaps.Load())
}

// interfaceConfig is the interface configuration: the configured one
// with the node's key; proxies and the UAPI socket only if the backend has
// them, the proxies with the mesh's names (meshHosts); plan's gateway if
// the backend can forward (else a log line says why the node does not
// serve); and, unless configured explicitly, the node's mesh addresses
// from trusted membership (none while it is not an active member).
func (d *Daemon) interfaceConfig(plan reconcile.Plan) hostapi.InterfaceConfig {
	cfg, names := d.interfaceConfigWithoutNames(plan)
	if cfg.Proxy != nil {
		cfg.Proxy.Hosts, cfg.Proxy.Domain = meshHosts(names)
	}
	return cfg
}

// interfaceConfigWithoutNames is interfaceConfig without its names table:
// the proxies' Hosts and Domain are left empty, and names is the state
// meshHosts builds them from (nil: none). States never change, so the
// table can be built after d.mu is released (at 10,000 members it takes
// milliseconds an apply would otherwise wait for). d.mu must be held.
func (d *Daemon) interfaceConfigWithoutNames(plan reconcile.Plan) (cfg hostapi.InterfaceConfig, names *membership.State) {
	cfg = d.opts.Interface
	cfg.PrivateKey = d.opts.PrivateKey
	caps := d.caps()
	if !caps.Has(hostapi.BackendCapProxy) {
		cfg.Proxy = nil // proxies and forwards are for userspace stacks only
	} else {
		p := hostapi.ProxyConfig{}
		if cfg.Proxy != nil {
			p = *cfg.Proxy
		}
		if d.sync != nil && d.sync.service != nil {
			p.MeshService = d.sync.service
		}
		p.Hosts, p.Domain = nil, ""
		if d.ledger.Restricted() == nil {
			names = d.effectiveState()
		}
		cfg.Proxy = &p
	}
	cfg.UAPI = cfg.UAPI && caps.Has(hostapi.BackendCapUAPI)
	if plan.Gateway != nil {
		if caps.Has(hostapi.BackendCapGateway) {
			cfg.Gateway = plan.Gateway
		} else if !d.noGatewayLogged.Swap(true) {
			d.log.Warn("this node may serve routes or be an exit, but its backend cannot forward", "backend", d.chosen)
		}
	}
	if len(cfg.Addresses) == 0 && d.ledger.Restricted() == nil {
		if st := d.ledger.State(); st != nil {
			if self, ok := st.Node(d.opts.NodeID); ok && self.Status == membership.StatusActive {
				cfg.Addresses = self.Addresses
			}
		}
	}
	return cfg, names
}

// meshHosts are the names the proxies and forwards resolve from trusted
// membership, st (the effective state; nil in restricted-safe mode, where
// there are none): each active member's id, to its mesh addresses, sorted
// by id, and the network id as their domain, so that "n2" and
// "n2.<network id>" both name n2. A name the backend could not take (an
// id that reads as an address) is left out.
func meshHosts(st *membership.State) ([]hostapi.Host, string) {
	if st == nil {
		return nil, ""
	}
	hosts := make([]hostapi.Host, 0, st.NodeCount())
	for n := range st.SharedNodes() { // in id order
		if n.Status != membership.StatusActive || len(n.Addresses) == 0 || hostapi.CheckHostName(n.ID) != nil {
			continue
		}
		addrs := make([]netip.Addr, len(n.Addresses))
		for i, a := range n.Addresses {
			addrs[i] = a.Addr()
		}
		hosts = append(hosts, hostapi.Host{Name: n.ID, Addrs: addrs})
	}
	domain := st.NetworkID()
	if hostapi.CheckHostName(domain) != nil {
		domain = ""
	}
	return hosts, domain
}

// hostsDigest is a digest of p's names table (Hosts and Domain; nil p: an
// empty one), unambiguous for any table.
func hostsDigest(p *hostapi.ProxyConfig) [sha256.Size]byte {
	if p == nil {
		p = &hostapi.ProxyConfig{}
	}
	h := sha256.New()
	w := bufio.NewWriter(h)
	w.WriteString(p.Domain)
	w.WriteByte(0) // names hold no NUL
	for _, host := range p.Hosts {
		w.WriteString(host.Name)
		w.WriteByte(0)
		for _, a := range host.Addrs {
			b := a.AsSlice()
			w.WriteByte(byte(len(b)))
			w.Write(b)
		}
		w.WriteByte(0) // no address has length 0
	}
	w.Flush()
	return [sha256.Size]byte(h.Sum(nil))
}

// routesOf returns the routes of plan the backend is to install: none if
// it has no routes, and never a prefix the interface's addresses already
// route (the backend neither installs nor reports those). Addresses from
// membership are host prefixes, which imply nothing; only addresses
// configured locally can.
func (d *Daemon) routesOf(plan reconcile.Plan) []netip.Prefix {
	if !d.caps().Has(hostapi.BackendCapRoutes) {
		return nil
	}
	return d.withoutImplied(hostapi.RouteChanges{Add: plan.Routes}).Add
}

// withoutImplied drops from c the prefixes the configured interface
// addresses route by themselves.
func (d *Daemon) withoutImplied(c hostapi.RouteChanges) hostapi.RouteChanges {
	implied := hostapi.ImpliedRoutes(d.opts.Interface.Addresses)
	if len(implied) == 0 {
		return c
	}
	drop := func(p netip.Prefix) bool { return slices.Contains(implied, p) }
	return hostapi.RouteChanges{
		Remove: slices.DeleteFunc(slices.Clone(c.Remove), drop),
		Add:    slices.DeleteFunc(slices.Clone(c.Add), drop),
	}
}

// plan is the desired data plane: nothing in restricted-safe mode,
// nothing on a backend that cannot enforce the signed access policy (a
// node that cannot filter admits no peer: fail closed), and while the
// ledger holds evidence of a fork only the fork's floor (effectiveState).
func (d *Daemon) plan() reconcile.Plan {
	if err := d.ledger.Restricted(); err != nil {
		return reconcile.Plan{Isolated: "restricted-safe mode: " + err.Error()}
	}
	if !d.caps().Has(hostapi.BackendCapPacketFilter) {
		return reconcile.Plan{Isolated: fmt.Sprintf("backend %s has no packet filter, so it cannot enforce the network's signed access policy", d.chosen)}
	}
	return reconcile.Desired(d.effectiveState(), d.recOpts)
}

// gatewayOnlyPlan is d.plan() without its peers and routes: the gateway,
// the one part of a plan interfaceConfig reads, computed alone (the names
// loop holds d.mu, and a whole plan of 10,000 peers would stall applies).
func (d *Daemon) gatewayOnlyPlan() reconcile.Plan {
	if !d.caps().Has(hostapi.BackendCapPacketFilter) {
		return reconcile.Plan{} // isolated, as d.plan() says: no gateway
	}
	return reconcile.Plan{Gateway: d.gatewayPlan(d.effectiveState())}
}

// filterOf is the packet filter the node enforces: the signed access
// policy compiled for this node (policy.Compile), or nothing at all (deny
// every connection from peers) while the node is isolated (why is
// non-empty), in restricted-safe mode, or its state has no policy.
func (d *Daemon) filterOf(isolated string) hostapi.Filter {
	if isolated != "" || d.ledger.Restricted() != nil {
		return hostapi.Filter{}
	}
	st := d.effectiveState()
	if st == nil {
		return hostapi.Filter{}
	}
	return d.compiler.Compile(st.Policy(), st, d.opts.NodeID, d.policyOptions())
}

// policyOptions are the options this node compiles its filter with.
func (d *Daemon) policyOptions() policy.Options {
	return policy.Options{Serve: d.recOpts.Serve, MeshServicePort: d.opts.Sync.Port}
}

// fullReconcile reads the backend back and applies the difference to the
// plan, removals first; d.mu must be held.
func (d *Daemon) fullReconcile(ctx context.Context) error {
	plan := d.plan()
	cur, err := d.backend.State(ctx)
	if err != nil {
		return fmt.Errorf("daemon: reading the data plane: %w", err)
	}
	// The node's own addresses, what it serves and the names its proxies
	// resolve follow membership too: a node that joined, or whose record
	// an update changed, gets them here.
	cfg := d.interfaceConfig(plan)
	d.cfgSeq++
	if err := d.configure(ctx, cfg, d.cfgSeq, !samePrefixes(cfg.Addresses, cur.Addresses)); err != nil {
		return fmt.Errorf("daemon: configuring the interface: %w", err)
	}
	c := reconcile.Delta{Peers: reconcile.Diff(plan.Peers, cur.Peers, d.applied)}
	if d.caps().Has(hostapi.BackendCapRoutes) {
		c.Routes = reconcile.DiffRoutes(d.routesOf(plan), cur.Routes)
	}
	f := d.filterOf(plan.Isolated)
	if err := d.push(ctx, c, &f); err != nil {
		return err
	}
	d.applied = make(map[hostapi.Key]hostapi.PeerConfig, len(plan.Peers))
	for _, p := range plan.Peers {
		d.applied[p.PublicKey] = p
	}
	if plan.Isolated != d.isolated && plan.Isolated != "" {
		d.log.Warn("node isolated: no peers", "reason", plan.Isolated)
	}
	d.isolated = plan.Isolated
	d.sync.listenMesh()
	return nil
}

// push sends changes to the backend as one hostapi.Change (one round
// trip to the plugin), whose order shrinks the data plane first: peers
// removed (on their own, so a revocation takes effect before anything
// else), then routes removed, then the packet filter f if the backend does
// not enforce it already (nil: keep it), then peers added or changed, then
// routes added — so a route never leads into the interface before its peer
// has the prefix, nor outlives it by more than one call, and a peer is
// added only once the filter it must pass is in place. If the peers it
// changed change the proxies' names, it wakes the names loop. d.mu must be
// held.
func (d *Daemon) push(ctx context.Context, c reconcile.Delta, f *hostapi.Filter) error {
	ch := hostapi.Change{Peers: c.Peers}
	if d.caps().Has(hostapi.BackendCapRoutes) {
		ch.Routes = c.Routes
	}
	if f != nil && d.caps().Has(hostapi.BackendCapPacketFilter) && (d.filter == nil || !sameFilter(*d.filter, *f)) {
		ch.Filter = f
	}
	for _, k := range ch.Peers.Remove {
		delete(d.applied, k) // asked to go, whatever comes of it
	}
	if err := hostapi.ApplyChange(ctx, d.backend, ch); err != nil {
		// Its first steps may have been made: what filter the backend
		// enforces is unknown until one is set again (the repair loop's
		// full reconcile, which ApplyUpdate asks for, sets one).
		if ch.Filter != nil {
			d.filter = nil
		}
		return fmt.Errorf("daemon: %w", err)
	}
	if ch.Filter != nil {
		d.filter = ch.Filter
	}
	for _, p := range ch.Peers.Upsert {
		d.applied[p.PublicKey] = p
	}
	// A peer added, removed or changed by an update applied without a full
	// reconcile may change the names the proxies resolve: the names loop
	// configures them, soon and off the apply path (building the table is
	// O(members)), coalescing a burst of updates into one change.
	if len(c.Peers.Remove)+len(c.Peers.Upsert) > 0 && d.caps().Has(hostapi.BackendCapProxy) {
		select {
		case d.names <- struct{}{}:
		default:
		}
	}
	return nil
}

// namesDelay is how long the names loop waits after a change before it
// configures the proxies' names, so that a burst of updates makes one
// change.
const namesDelay = 100 * time.Millisecond

// namesLoop gives the backend's proxies the mesh's names when push says
// they may have changed (see meshHosts): it configures the interface if
// the table's digest moved, as fullReconcile does.
func (d *Daemon) namesLoop(ctx context.Context) {
	defer d.wg.Done()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.names:
		}
		t := time.NewTimer(namesDelay)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		d.mu.Lock()
		cfg, names := d.interfaceConfigWithoutNames(d.gatewayOnlyPlan())
		d.cfgSeq++
		seq := d.cfgSeq
		d.mu.Unlock()
		if cfg.Proxy != nil {
			cfg.Proxy.Hosts, cfg.Proxy.Domain = meshHosts(names)
		}
		if err := d.configure(ctx, cfg, seq, false); err != nil && ctx.Err() == nil {
			d.log.Warn("configuring the proxies' names failed; the repair loop retries", "err", err)
			d.requestRepair()
		}
	}
}

// configure gives the backend cfg, computed under d.mu as configuration
// number seq, if its names table or gateway differ from what the backend
// was last given, or if force — unless a newer configuration went in (or
// was found in place) already: a configuration is never sent after a
// newer one. It takes d.configMu.
func (d *Daemon) configure(ctx context.Context, cfg hostapi.InterfaceConfig, seq uint64, force bool) error {
	hosts := hostsDigest(cfg.Proxy)
	d.configMu.Lock()
	defer d.configMu.Unlock()
	if seq <= d.configured {
		return nil
	}
	if force || !sameGateway(cfg.Gateway, d.gateway) || hosts != d.hosts {
		if err := d.backend.Configure(ctx, cfg); err != nil {
			return err
		}
		d.gateway, d.hosts = cfg.Gateway, hosts
	}
	d.configured = seq
	return nil
}

func (d *Daemon) requestRepair() {
	select {
	case d.repair <- struct{}{}:
	default:
	}
}

func (d *Daemon) repairLoop(ctx context.Context) {
	defer d.wg.Done()
	t := time.NewTicker(d.opts.RepairInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			d.checkFreshness()
		case <-d.repair:
		}
		d.mu.Lock()
		err := d.fullReconcile(ctx)
		d.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			d.log.Error("reconcile failed; will retry", "err", err)
		}
	}
}

// Close stops the loops and the plugins. The ledger writes its snapshot
// first. Idempotent.
func (d *Daemon) Close() {
	if d.cancel != nil {
		d.cancel()
	}
	d.wg.Wait()
	d.sync.close()
	if d.backSup != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if b, err := d.backSup.Get(ctx); err == nil {
			if err := b.Close(ctx); err != nil && !errors.Is(err, hostapi.ErrClosed) {
				d.log.Warn("closing the backend", "err", err)
			}
		}
		cancel()
		d.backSup.Close()
	}
	if d.ledger != nil {
		d.ledger.Close(context.Background())
	}
	if d.store != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if s, err := d.store.Get(ctx); err == nil {
			s.Close(ctx)
		}
		cancel()
		d.store.Close()
	}
	d.auditClose()
}

// sameFilter reports whether a and b are the same rules in the same order
// (policy.Compile's output is deterministic, so an unchanged policy and
// membership give an equal filter).
func sameFilter(a, b hostapi.Filter) bool {
	return slices.EqualFunc(a.Rules, b.Rules, func(x, y hostapi.FilterRule) bool {
		return x.Proto == y.Proto && slices.Equal(x.Src, y.Src) && slices.Equal(x.Dst, y.Dst) && slices.Equal(x.Ports, y.Ports)
	})
}

// sameGateway reports whether a and b forward the same (nil: nothing).
func sameGateway(a, b *hostapi.GatewayConfig) bool {
	if a == nil || b == nil {
		return a == b
	}
	return a.Masquerade == b.Masquerade && samePrefixes(a.Prefixes, b.Prefixes)
}

// samePrefixes compares address sets regardless of order.
func samePrefixes(a, b []netip.Prefix) bool {
	if len(a) != len(b) {
		return false
	}
	for _, p := range a {
		if !slices.Contains(b, p) {
			return false
		}
	}
	return true
}
