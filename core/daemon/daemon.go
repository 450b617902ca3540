package daemon

import (
	"context"
	"crypto/ecdh"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/feed"
	"github.com/rustynet/rustynet/core/ledger"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/pluginhost"
	"github.com/rustynet/rustynet/core/reconcile"
	"github.com/rustynet/rustynet/hostapi"
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
	// Feed, if set, is polled every FeedInterval (default 5s).
	Feed         feed.Source
	FeedInterval time.Duration
	// RepairInterval is how often the data plane is fully re-read and
	// reconciled; 0 means 30s.
	RepairInterval time.Duration
	// Limits; nil means membership.DefaultLimits().
	Limits *membership.Limits
	// Now is the clock; nil means time.Now.
	Now    func() time.Time
	Logger *slog.Logger
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
	backCaps atomic.Uint64 // capabilities of the running backend plugin
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu       sync.Mutex // serialises data-plane changes; guards the fields below
	applied  map[hostapi.Key]hostapi.PeerConfig
	isolated string
	rejected *controlapi.Rejection

	feedMu sync.Mutex
	feed   controlapi.FeedStatus
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
	priv, err := ecdh.X25519().NewPrivateKey(opts.PrivateKey[:])
	if err != nil {
		return nil, fmt.Errorf("daemon: node private key: %w", err)
	}
	d := &Daemon{opts: opts, log: opts.Logger, repair: make(chan struct{}, 1), applied: map[hostapi.Key]hostapi.PeerConfig{}}
	copy(d.selfKey[:], priv.PublicKey().Bytes())
	d.recOpts = reconcile.Options{Self: opts.NodeID, SelfKey: d.selfKey, PersistentKeepalive: opts.PersistentKeepalive}
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
	d.store, err = pluginhost.Start(ctx, pluginhost.Config[hostapi.Store]{
		Name:   opts.StoreName,
		Launch: opts.Store,
		Setup: func(ctx context.Context, s hostapi.Store) error {
			return s.Open(ctx, hostapi.StoreConfig{Dir: opts.StateDir})
		},
		Logger: d.log,
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
	if d.ledger.Restricted() == nil && opts.Genesis != nil {
		if err := d.ledger.Bootstrap(ctx, opts.Genesis); err != nil {
			return fmt.Errorf("daemon: genesis: %w", err)
		}
	}
	if err := d.chooseBackend(ctx); err != nil {
		return err
	}
	d.mu.Lock()
	err = d.fullReconcile(ctx)
	d.mu.Unlock()
	if err != nil {
		return err
	}
	loopCtx, cancel := context.WithCancel(context.Background())
	d.cancel = cancel
	d.wg.Add(1)
	go d.repairLoop(loopCtx)
	if opts.Feed != nil {
		d.feed.Source = opts.Feed.String()
		d.wg.Add(1)
		go d.feedLoop(loopCtx)
	}
	return nil
}

// chooseBackend starts the first backend that launches, probes and
// configures, recording why each earlier one was skipped.
func (d *Daemon) chooseBackend(ctx context.Context) error {
	for _, c := range d.opts.Backends {
		sup, err := pluginhost.Start(ctx, pluginhost.Config[hostapi.Backend]{
			Name:   c.Name,
			Launch: c.Launch,
			Setup:  d.setupBackend,
			Logger: d.log,
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
	return fmt.Errorf("daemon: no backend works here: %v", d.skipped)
}

// setupBackend prepares a freshly launched backend plugin: it must work
// here (Probe), gets the interface configuration, and receives the whole
// desired peer set from the ledger. It does not take d.mu (see the package
// doc); it asks the repair loop for a full reconcile instead.
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
	if err := b.Configure(ctx, d.interfaceConfig()); err != nil {
		return err
	}
	if plan := d.plan(); len(plan.Peers) > 0 {
		if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: plan.Peers}); err != nil {
			return err
		}
	}
	d.requestRepair()
	return nil
}

// interfaceConfig is the interface configuration: the configured one
// with the node's key, proxies only if the backend has them, and, unless
// configured explicitly, the node's mesh addresses from trusted membership
// (none while it is not an active member).
func (d *Daemon) interfaceConfig() hostapi.InterfaceConfig {
	cfg := d.opts.Interface
	cfg.PrivateKey = d.opts.PrivateKey
	if !hostapi.BackendCapabilities(d.backCaps.Load()).Has(hostapi.BackendCapProxy) {
		cfg.Proxy = nil // proxies and forwards are for userspace stacks only
	}
	if len(cfg.Addresses) == 0 && d.ledger.Restricted() == nil {
		if st := d.ledger.State(); st != nil {
			if self, ok := st.Node(d.opts.NodeID); ok && self.Status == membership.StatusActive {
				cfg.Addresses = self.Addresses
			}
		}
	}
	return cfg
}

// plan is the desired data plane: nothing in restricted-safe mode.
func (d *Daemon) plan() reconcile.Plan {
	if err := d.ledger.Restricted(); err != nil {
		return reconcile.Plan{Isolated: "restricted-safe mode: " + err.Error()}
	}
	return reconcile.Desired(d.ledger.State(), d.recOpts)
}

// fullReconcile reads the backend back and applies the difference to the
// plan, removals first; d.mu must be held.
func (d *Daemon) fullReconcile(ctx context.Context) error {
	plan := d.plan()
	cur, err := d.backend.State(ctx)
	if err != nil {
		return fmt.Errorf("daemon: reading the data plane: %w", err)
	}
	// The node's own addresses follow membership too: a node that joined,
	// or whose addresses an update changed, gets them here.
	if cfg := d.interfaceConfig(); !samePrefixes(cfg.Addresses, cur.Addresses) {
		if err := d.backend.Configure(ctx, cfg); err != nil {
			return fmt.Errorf("daemon: setting the interface addresses: %w", err)
		}
	}
	c := reconcile.Diff(plan.Peers, cur.Peers, d.applied)
	if err := d.push(ctx, c); err != nil {
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
	return nil
}

// push sends changes to the backend: removals first, on their own, so a
// revocation takes effect before anything else; d.mu must be held.
func (d *Daemon) push(ctx context.Context, c hostapi.PeerChanges) error {
	if len(c.Remove) > 0 {
		if err := d.backend.RemovePeers(ctx, c.Remove); err != nil {
			return fmt.Errorf("daemon: removing peers: %w", err)
		}
		for _, k := range c.Remove {
			delete(d.applied, k)
		}
	}
	if len(c.Upsert) > 0 {
		if err := d.backend.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: c.Upsert}); err != nil {
			return fmt.Errorf("daemon: applying peers: %w", err)
		}
		for _, p := range c.Upsert {
			d.applied[p.PublicKey] = p
		}
	}
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
