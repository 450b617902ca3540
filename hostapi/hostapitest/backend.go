package hostapitest

import (
	"bytes"
	"context"
	"net/netip"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/curve25519"

	"github.com/rustynet/rustynet/hostapi"
)

// Defaults a Backend applies where an InterfaceConfig leaves the choice to
// the backend.
const (
	DefaultInterfaceName = "fake0"
	DefaultListenPort    = 51820
	DefaultMTU           = 1420
)

// Backend is a hostapi.Backend without a data plane: it keeps the interface
// and peer set it is given, validates every request as the Backend contract
// requires (a failing call changes nothing), and reports them back through
// State. Peer statistics change only through Handshake, which stands for
// traffic. Its capabilities are the ones given to NewBackend; a call needing
// a missing one fails with ErrUnsupported. Once closed it stays closed. Safe
// for concurrent use; mutations are serialised.
//
// Peer changes are validated with hostapi.PeerSet, the one implementation of
// the contract's peer rules. Where the contract leaves details open it
// behaves like WireGuard: a zero key in RemovePeers is an absent key, and a
// filter rule with no Src (or no Dst) matches no packet.
type Backend struct {
	info hostapi.BackendInfo

	mu     sync.Mutex // guards the fields below
	state  lifecycle
	cfg    hostapi.InterfaceConfig
	public hostapi.Key
	peers  map[hostapi.Key]*hostapi.PeerState
	set    *hostapi.PeerSet // the configured peers, for planning changes
	routes []netip.Prefix   // sorted
	filter *hostapi.Filter
	fault  func(ctx context.Context, op string) error
}

var _ hostapi.Backend = (*Backend)(nil)

// NewBackend returns an unconfigured Backend named "fake" (version "test",
// no privileges needed) with the capabilities caps.
func NewBackend(caps hostapi.BackendCapabilities) *Backend {
	return &Backend{
		info:  hostapi.BackendInfo{Name: "fake", Version: "test", Capabilities: caps},
		peers: make(map[hostapi.Key]*hostapi.PeerState),
		set:   hostapi.NewPeerSet(),
	}
}

// SetFault installs f, which every method calls first (after checking ctx,
// and without holding any lock) with its ctx and its own name ("Info",
// "Configure", "ApplyPeers", …): a non-nil error is returned as is and the
// method does nothing else. f may block, e.g. until ctx is done. A nil f
// removes the hook.
func (b *Backend) SetFault(f func(ctx context.Context, op string) error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.fault = f
}

// begin runs the checks every method starts with: ctx, the fault hook and,
// if needUp, that the interface is configured and not closed. It returns
// with b.mu held when it returns nil.
func (b *Backend) begin(ctx context.Context, op string, needUp bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b.mu.Lock()
	fault := b.fault
	b.mu.Unlock()
	if fault != nil {
		if err := fault(ctx, op); err != nil {
			return err
		}
	}
	b.mu.Lock()
	if needUp && b.state != stateOpen {
		b.mu.Unlock()
		return hostapi.Errorf(hostapi.CodeClosed, "backend is not configured or was closed")
	}
	return nil
}

// Info describes the backend.
func (b *Backend) Info(ctx context.Context) (hostapi.BackendInfo, error) {
	if err := b.begin(ctx, "Info", false); err != nil {
		return hostapi.BackendInfo{}, err
	}
	defer b.mu.Unlock()
	return b.info, nil
}

// Probe reports that the backend works here: it needs nothing.
func (b *Backend) Probe(ctx context.Context) error {
	if err := b.begin(ctx, "Probe", false); err != nil {
		return err
	}
	b.mu.Unlock()
	return nil
}

// Configure creates the interface or changes its settings, keeping peers.
// Renaming an existing interface fails with ErrUnsupported.
func (b *Backend) Configure(ctx context.Context, cfg hostapi.InterfaceConfig) error {
	if err := b.begin(ctx, "Configure", false); err != nil {
		return err
	}
	defer b.mu.Unlock()
	if b.state == stateClosed {
		return hostapi.Errorf(hostapi.CodeClosed, "backend was closed")
	}
	caps := b.info.Capabilities
	if cfg.Proxy != nil && !caps.Has(hostapi.BackendCapProxy) {
		return hostapi.Errorf(hostapi.CodeUnsupported, "proxy configuration needs the proxy capability")
	}
	if cfg.UAPI && !caps.Has(hostapi.BackendCapUAPI) {
		return hostapi.Errorf(hostapi.CodeUnsupported, "UAPI needs the UAPI capability")
	}
	if cfg.Gateway != nil {
		if !caps.Has(hostapi.BackendCapGateway) {
			return hostapi.Errorf(hostapi.CodeUnsupported, "a gateway needs the gateway capability")
		}
		if err := hostapi.CheckGateway(*cfg.Gateway); err != nil {
			return err
		}
	}
	if err := validPrefixes(cfg.Addresses, "address"); err != nil {
		return err
	}
	if cfg.MTU < 0 || cfg.MTU > 65535 {
		return hostapi.Errorf(hostapi.CodeInvalidArgument, "MTU %d out of range", cfg.MTU)
	}
	if cfg.Proxy != nil {
		if err := validProxy(*cfg.Proxy); err != nil {
			return err
		}
	}
	next := cloneConfig(cfg)
	if b.state == stateOpen {
		if next.Name != "" && next.Name != b.cfg.Name {
			return hostapi.Errorf(hostapi.CodeUnsupported, "cannot rename interface %s to %s", b.cfg.Name, next.Name)
		}
		next.Name = b.cfg.Name
		if next.ListenPort == 0 {
			next.ListenPort = b.cfg.ListenPort
		}
	}
	if next.Name == "" {
		next.Name = DefaultInterfaceName
	}
	if next.ListenPort == 0 {
		next.ListenPort = DefaultListenPort
	}
	if next.MTU == 0 {
		next.MTU = DefaultMTU
	}
	var public hostapi.Key
	if !next.PrivateKey.IsZero() {
		pub, err := curve25519.X25519(next.PrivateKey[:], curve25519.Basepoint)
		if err != nil {
			return hostapi.Errorf(hostapi.CodeInvalidArgument, "private key: %v", err)
		}
		copy(public[:], pub)
	}
	b.cfg, b.public, b.state = next, public, stateOpen
	return nil
}

// ApplyPeers applies c as the contract says: removals, then upserts that
// keep the statistics of updated peers.
func (b *Backend) ApplyPeers(ctx context.Context, c hostapi.PeerChanges) error {
	if err := b.begin(ctx, "ApplyPeers", true); err != nil {
		return err
	}
	defer b.mu.Unlock()
	plan, err := b.set.Plan(c, hostapi.PeerLimits{Self: b.public})
	if err != nil {
		return err
	}
	b.set.Commit(plan)
	for _, k := range plan.Remove {
		delete(b.peers, k)
	}
	for _, u := range plan.Upsert {
		p := u.Peer
		st := &hostapi.PeerState{PublicKey: p.PublicKey}
		if old, ok := b.peers[p.PublicKey]; ok && u.Old != nil {
			cp := *old
			st = &cp
		}
		st.Endpoint = p.Endpoint
		st.AllowedIPs = slices.Clone(p.AllowedIPs)
		st.PersistentKeepalive = p.PersistentKeepalive
		b.peers[p.PublicKey] = st
	}
	return nil
}

// RemovePeers removes keys at once; absent keys are ignored.
func (b *Backend) RemovePeers(ctx context.Context, keys []hostapi.Key) error {
	if err := b.begin(ctx, "RemovePeers", true); err != nil {
		return err
	}
	defer b.mu.Unlock()
	b.set.Commit(hostapi.PeerPlan{Remove: keys})
	for _, k := range keys {
		delete(b.peers, k)
	}
	return nil
}

// State returns copies of the interface and its peers, sorted by key.
func (b *Backend) State(ctx context.Context) (hostapi.InterfaceState, error) {
	if err := b.begin(ctx, "State", true); err != nil {
		return hostapi.InterfaceState{}, err
	}
	defer b.mu.Unlock()
	st := hostapi.InterfaceState{
		Name:       b.cfg.Name,
		PublicKey:  b.public,
		ListenPort: b.cfg.ListenPort,
		Addresses:  slices.Clone(b.cfg.Addresses),
		Routes:     slices.Clone(b.routes),
	}
	for _, p := range b.peers {
		cp := *p
		cp.AllowedIPs = slices.Clone(p.AllowedIPs)
		st.Peers = append(st.Peers, cp)
	}
	slices.SortFunc(st.Peers, func(x, y hostapi.PeerState) int {
		return bytes.Compare(x.PublicKey[:], y.PublicKey[:])
	})
	return st, nil
}

// ApplyRoutes changes the routes by difference (BackendCapRoutes); prefixes
// the interface's addresses imply are not recorded.
func (b *Backend) ApplyRoutes(ctx context.Context, c hostapi.RouteChanges) error {
	if err := b.begin(ctx, "ApplyRoutes", true); err != nil {
		return err
	}
	defer b.mu.Unlock()
	if !b.info.Capabilities.Has(hostapi.BackendCapRoutes) {
		return hostapi.Errorf(hostapi.CodeUnsupported, "routes need the routes capability")
	}
	if err := hostapi.CheckRouteChanges(c); err != nil {
		return err
	}
	implied := hostapi.ImpliedRoutes(b.cfg.Addresses)
	b.routes = slices.DeleteFunc(hostapi.ApplyRouteChanges(b.routes, c), func(p netip.Prefix) bool { return slices.Contains(implied, p) })
	return nil
}

// SetFilter installs f (BackendCapPacketFilter).
func (b *Backend) SetFilter(ctx context.Context, f hostapi.Filter) error {
	if err := b.begin(ctx, "SetFilter", true); err != nil {
		return err
	}
	defer b.mu.Unlock()
	if !b.info.Capabilities.Has(hostapi.BackendCapPacketFilter) {
		return hostapi.Errorf(hostapi.CodeUnsupported, "filters need the packet filter capability")
	}
	if err := hostapi.CheckFilter(f); err != nil {
		return err
	}
	next := hostapi.Filter{}
	for _, r := range f.Rules {
		next.Rules = append(next.Rules, hostapi.FilterRule{
			Src:   slices.Clone(r.Src),
			Dst:   slices.Clone(r.Dst),
			Proto: r.Proto,
			Ports: slices.Clone(r.Ports),
		})
	}
	b.filter = &next
	return nil
}

// Close removes the interface and every peer. It is idempotent.
func (b *Backend) Close(ctx context.Context) error {
	if err := b.begin(ctx, "Close", false); err != nil {
		return err
	}
	defer b.mu.Unlock()
	b.state = stateClosed
	b.peers = make(map[hostapi.Key]*hostapi.PeerState)
	b.set = hostapi.NewPeerSet()
	b.routes, b.filter = nil, nil
	return nil
}

// Config returns the interface configuration in effect (defaults applied),
// and whether the interface exists.
func (b *Backend) Config() (hostapi.InterfaceConfig, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return cloneConfig(b.cfg), b.state == stateOpen
}

// Routes returns the routes in effect, sorted.
func (b *Backend) Routes() []netip.Prefix {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.routes)
}

// Filter returns the filter last set, and whether one is set.
func (b *Backend) Filter() (hostapi.Filter, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.filter == nil {
		return hostapi.Filter{}, false
	}
	return *b.filter, true
}

// Handshake stands for traffic with a peer: it records a handshake at at,
// moves the peer to endpoint unless endpoint is the zero value (roaming), and
// adds rx and tx to its byte counters. An absent peer gives ErrNotFound.
func (b *Backend) Handshake(peer hostapi.Key, endpoint netip.AddrPort, at time.Time, rx, tx uint64) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	p, ok := b.peers[peer]
	if !ok {
		return hostapi.Errorf(hostapi.CodeNotFound, "no peer %s", peer)
	}
	cp := *p
	if endpoint.IsValid() {
		cp.Endpoint = endpoint
	}
	cp.LastHandshake = at
	cp.RxBytes += rx
	cp.TxBytes += tx
	b.peers[peer] = &cp
	return nil
}

// Admits reports whether the installed filter lets a packet from src to dst
// with protocol proto and destination port dstPort through; without a filter
// every packet is admitted.
func (b *Backend) Admits(src, dst netip.Addr, proto hostapi.Proto, dstPort uint16) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.filter == nil {
		return true
	}
	for _, r := range b.filter.Rules {
		if ruleAdmits(r, src, dst, proto, dstPort) {
			return true
		}
	}
	return false
}

func ruleAdmits(r hostapi.FilterRule, src, dst netip.Addr, proto hostapi.Proto, port uint16) bool {
	if !containsAddr(r.Src, src) || !containsAddr(r.Dst, dst) {
		return false
	}
	if r.Proto != hostapi.ProtoAny && r.Proto != proto {
		return false
	}
	if len(r.Ports) == 0 || (proto != hostapi.ProtoTCP && proto != hostapi.ProtoUDP) {
		return true
	}
	for _, pr := range r.Ports {
		if pr.First <= port && port <= pr.Last {
			return true
		}
	}
	return false
}

func containsAddr(ps []netip.Prefix, a netip.Addr) bool {
	for _, p := range ps {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

func cloneConfig(c hostapi.InterfaceConfig) hostapi.InterfaceConfig {
	c.Addresses = slices.Clone(c.Addresses)
	if c.Proxy != nil {
		p := *c.Proxy
		p.Forwards = slices.Clone(p.Forwards)
		p.Exposes = slices.Clone(p.Exposes)
		p.DNS = slices.Clone(p.DNS)
		c.Proxy = &p
	}
	if c.Gateway != nil {
		g := *c.Gateway
		g.Prefixes = slices.Clone(g.Prefixes)
		c.Gateway = &g
	}
	return c
}
