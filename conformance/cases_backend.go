package conformance

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"time"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
)

// BackendCases returns the backend suite: the process cases, then the
// backend cases, in the order the engine runs them. Each call returns a
// fresh slice.
func BackendCases() []Case {
	return slices.Concat(processCases(KindBackend), backendBasicCases(), backendInvalidCases(), backendRouteCases(), backendGatewayCases(), backendTrafficCases(), backendFilterCases())
}

func backendBasicCases() []Case {
	return []Case{
		{
			ID: "backend.info", Level: Must,
			Rule: "Info answers before Configure with a non-empty name; Probe answers nil or UNSUPPORTED/PERMISSION with a reason",
			Run:  backendInfo,
		},
		{
			ID: "backend.info.known-capabilities", Level: Should,
			Rule: "Info advertises only capability flags the contract defines",
			Run: func(ctx context.Context, env *Env) error {
				var all hostapi.BackendCapabilities
				for _, f := range backendCapList {
					all |= f.c
				}
				if unknown := env.BackendInfo.Capabilities &^ all; unknown != 0 {
					return fmt.Errorf("capabilities %#x include bits the contract does not define: %#x", uint64(env.BackendInfo.Capabilities), uint64(unknown))
				}
				return nil
			},
		},
		{
			ID: "backend.lifecycle.closed-before-configure", Level: Must,
			Rule: "every method but Info, Probe, Configure and Close fails with CLOSED before Configure",
			Run:  backendClosedBeforeConfigure,
		},
		{
			ID: "backend.lifecycle.closed-after-close", Level: Must,
			Rule: "after Close every method but Info, Probe and Close (Configure included) fails with CLOSED, and Close is idempotent",
			Run:  backendClosedAfterClose,
		},
		{
			ID: "backend.configure.read-back", Level: Must,
			Rule: "State reads back the configured public key and addresses, the listen port chosen for port 0, and no peers; a later Configure changes them in place",
			Run:  backendConfigureReadBack,
		},
		{
			ID: "backend.configure.unsupported", Level: Must,
			Rule: "Configure with Proxy or UAPI the backend does not advertise fails with UNSUPPORTED and changes nothing",
			Run:  backendConfigureUnsupported,
		},
		{
			ID: "backend.peers.read-back", Level: Must,
			Rule: "State reads back every peer as applied (key, endpoint, allowed IPs, keepalive), sorted by public key",
			Run:  backendPeersReadBack,
		},
		{
			ID: "backend.peers.overlap", Level: Must,
			Rule: "allowed IPs of different peers may overlap (a prefix inside another, 0.0.0.0/0 and ::/0 beside host prefixes), in one change and across changes: ApplyPeers accepts them and State reads them back",
			Run:  backendPeersOverlap,
		},
		{
			ID: "backend.apply.update-in-place", Level: Must,
			Rule: "an upsert of a present peer replaces its allowed IPs and keepalive, keeps its endpoint when none is given, and leaves other peers alone",
			Run:  backendUpdateInPlace,
		},
		{
			ID: "backend.apply.diff", Level: Must,
			Rule: "ApplyPeers changes only the peers named in the change; removing an absent or a zero key is not an error",
			Run:  backendApplyDiff,
		},
		{
			ID: "backend.apply.remove-first", Level: Must,
			Rule: "ApplyPeers removes before it upserts: an allowed IP may move from a removed peer to a new one in one change",
			Run:  backendRemoveFirst,
		},
		{
			ID: "backend.remove.immediate", Level: Must,
			Rule: "RemovePeers removes the peers before it returns, ignores absent and zero keys and leaves the others",
			Run:  backendRemoveImmediate,
		},
		{
			ID: "backend.configure.keeps-peers", Level: Must,
			Rule: "a later Configure (new address) keeps every peer as it was",
			Run:  backendConfigureKeepsPeers,
		},
		{
			ID: "backend.close.releases", Level: Must,
			Rule: "Close releases the listen port and removes the OS interface; Kill then ends the plugin and every process it started",
			Run:  backendCloseReleases,
		},
	}
}

func backendInfo(ctx context.Context, env *Env) error {
	b, err := env.StartBackend(ctx, nil)
	if err != nil {
		return err
	}
	info, err := b.Info(ctx)
	if err != nil {
		return fmt.Errorf("Info before Configure: %w", err)
	}
	if info.Name == "" {
		return errors.New("Info: got an empty name")
	}
	err = b.Probe(ctx)
	switch c := hostapi.CodeOf(err); c {
	case hostapi.CodeOK:
	case hostapi.CodeUnsupported, hostapi.CodePermission:
		env.Logf("Probe in node %s: %v", b.Node.Name, err)
	default:
		return fmt.Errorf("Probe: got %v (%v), want nil, UNSUPPORTED or PERMISSION", c, err)
	}
	return nil
}

// backendOps are calls that need a configured backend, for lifecycle
// checks.
var backendOps = []struct {
	name string
	call func(context.Context, hostapi.Backend) error
}{
	{"ApplyPeers", func(ctx context.Context, b hostapi.Backend) error {
		return b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{newIdentity(meshAddr(9)).peer(netip.AddrPort{})}})
	}},
	{"RemovePeers", func(ctx context.Context, b hostapi.Backend) error {
		return b.RemovePeers(ctx, []hostapi.Key{newIdentity(meshAddr(9)).pub})
	}},
	{"State", func(ctx context.Context, b hostapi.Backend) error { _, err := b.State(ctx); return err }},
	{"ApplyRoutes", func(ctx context.Context, b hostapi.Backend) error {
		return b.ApplyRoutes(ctx, hostapi.RouteChanges{Add: []netip.Prefix{netip.MustParsePrefix("100.64.9.0/24")}})
	}},
	{"SetFilter", func(ctx context.Context, b hostapi.Backend) error { return b.SetFilter(ctx, hostapi.Filter{}) }},
}

func backendClosedBeforeConfigure(ctx context.Context, env *Env) error {
	b, err := env.StartBackend(ctx, nil)
	if err != nil {
		return err
	}
	var fails []error
	for _, op := range backendOps {
		fails = append(fails, wantCode(op.name+" before Configure", op.call(ctx, b), hostapi.CodeClosed))
	}
	return errs(fails...)
}

func backendClosedAfterClose(ctx context.Context, env *Env) error {
	b, id, err := configured(ctx, env, nil, 1)
	if err != nil {
		return err
	}
	if err := b.Close(ctx); err != nil {
		return fmt.Errorf("Close: %w", err)
	}
	var fails []error
	for _, op := range backendOps {
		fails = append(fails, wantCode(op.name+" after Close", op.call(ctx, b), hostapi.CodeClosed))
	}
	fails = append(fails, wantCode("Configure after Close", b.Configure(ctx, id.config()), hostapi.CodeClosed))
	if err := b.Close(ctx); err != nil {
		fails = append(fails, fmt.Errorf("second Close: got %w, want nil (Close is idempotent)", err))
	}
	if _, err := b.Info(ctx); err != nil {
		fails = append(fails, fmt.Errorf("Info after Close: %w", err))
	}
	return errs(fails...)
}

func backendConfigureReadBack(ctx context.Context, env *Env) error {
	b, id, err := configured(ctx, env, nil, 1)
	if err != nil {
		return err
	}
	st, err := b.State(ctx)
	if err != nil {
		return fmt.Errorf("State: %w", err)
	}
	var fails []error
	if st.PublicKey != id.pub {
		fails = append(fails, fmt.Errorf("State: got public key %s, want %s (derived from the private key)", st.PublicKey, id.pub))
	}
	if st.ListenPort == 0 {
		fails = append(fails, errors.New("State: listen port 0 after Configure with port 0; want the port the backend chose"))
	}
	if diff := gocmp.Diff(normalise([]netip.Prefix{id.prefix()}), normalise(st.Addresses), netipComparers); diff != "" {
		fails = append(fails, fmt.Errorf("State addresses (-want +got):\n%s", diff))
	}
	if len(st.Peers) != 0 {
		fails = append(fails, fmt.Errorf("State: got %d peers before any ApplyPeers, want none", len(st.Peers)))
	}
	if err := errs(fails...); err != nil {
		return err
	}
	// Reconfigure in place: one more address, the same port given
	// explicitly.
	cfg := id.config()
	cfg.ListenPort = st.ListenPort
	cfg.Addresses = append(cfg.Addresses, netip.PrefixFrom(meshAddr(201), 32))
	if err := b.Configure(ctx, cfg); err != nil {
		return fmt.Errorf("second Configure: %w", err)
	}
	again, err := b.State(ctx)
	if err != nil {
		return fmt.Errorf("State: %w", err)
	}
	if diff := gocmp.Diff(normalise(cfg.Addresses), normalise(again.Addresses), netipComparers); diff != "" {
		fails = append(fails, fmt.Errorf("State addresses after the second Configure (-want +got):\n%s", diff))
	}
	if again.ListenPort != st.ListenPort || again.PublicKey != id.pub {
		fails = append(fails, fmt.Errorf("after the second Configure: got port %d key %s, want %d %s", again.ListenPort, again.PublicKey, st.ListenPort, id.pub))
	}
	return errs(fails...)
}

// interfaceState is the configured part of an InterfaceState with its
// peers as configurations.
type interfaceState struct {
	PublicKey  hostapi.Key
	ListenPort uint16
	Addresses  []netip.Prefix
	Routes     []netip.Prefix
	Peers      []peerConfig
}

// snapshotState reads b's configuration, for "nothing changed" checks.
func snapshotState(ctx context.Context, b hostapi.Backend) (interfaceState, error) {
	st, err := b.State(ctx)
	if err != nil {
		return interfaceState{}, fmt.Errorf("State: %w", err)
	}
	out := interfaceState{PublicKey: st.PublicKey, ListenPort: st.ListenPort, Addresses: normalise(st.Addresses), Routes: st.Routes}
	for _, p := range st.Peers {
		out.Peers = append(out.Peers, configOfState(p))
	}
	return out, nil
}

// unchanged checks that b's configuration is still before.
func unchanged(ctx context.Context, b hostapi.Backend, before interfaceState, what string) error {
	after, err := snapshotState(ctx, b)
	if err != nil {
		return err
	}
	if diff := gocmp.Diff(before, after, netipComparers); diff != "" {
		return fmt.Errorf("%s changed the backend (-before +after):\n%s", what, diff)
	}
	return nil
}

func backendConfigureUnsupported(ctx context.Context, env *Env) error {
	b, id, err := configured(ctx, env, nil, 1)
	if err != nil {
		return err
	}
	peer := newIdentity(meshAddr(2)).peer(loopbackEndpoint(51999))
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer}}); err != nil {
		return fmt.Errorf("ApplyPeers: %w", err)
	}
	before, err := snapshotState(ctx, b)
	if err != nil {
		return err
	}
	caps := b.info.Capabilities
	var fails []error
	checked := 0
	if !caps.Has(hostapi.BackendCapProxy) {
		cfg := id.config()
		cfg.Proxy = &hostapi.ProxyConfig{}
		fails = append(fails, wantCode("Configure with Proxy without BackendCapProxy", b.Configure(ctx, cfg), hostapi.CodeUnsupported))
		checked++
	}
	if !caps.Has(hostapi.BackendCapUAPI) {
		cfg := id.config()
		cfg.UAPI = true
		fails = append(fails, wantCode("Configure with UAPI without BackendCapUAPI", b.Configure(ctx, cfg), hostapi.CodeUnsupported))
		checked++
	}
	if checked == 0 {
		env.Logf("the backend advertises both Proxy and UAPI: nothing to refuse")
	}
	fails = append(fails, unchanged(ctx, b, before, "a refused Configure"))
	return errs(fails...)
}

// testPeers are three peers with assorted settings.
func testPeers() []hostapi.PeerConfig {
	a := newIdentity(meshAddr(10)).peer(loopbackEndpoint(51001))
	a.AllowedIPs = append(a.AllowedIPs, netip.MustParsePrefix("10.201.0.0/16"), netip.MustParsePrefix("fd00:201::/64"))
	a.PersistentKeepalive = 0
	b := newIdentity(meshAddr(11)).peer(netip.AddrPort{})
	b.AllowedIPs = append(b.AllowedIPs, netip.MustParsePrefix("10.202.1.0/24"))
	c := newIdentity(meshAddr(12)).peer(netip.MustParseAddrPort("[::1]:51003"))
	return []hostapi.PeerConfig{a, b, c}
}

func backendPeersReadBack(ctx context.Context, env *Env) error {
	b, _, err := configured(ctx, env, nil, 1)
	if err != nil {
		return err
	}
	peers := testPeers()
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: peers}); err != nil {
		return fmt.Errorf("ApplyPeers: %w", err)
	}
	return wantPeers(ctx, b, peers...)
}

func backendPeersOverlap(ctx context.Context, env *Env) error {
	b, _, err := configured(ctx, env, nil, 1)
	if err != nil {
		return err
	}
	present := testPeers()
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: present}); err != nil {
		return fmt.Errorf("ApplyPeers: %w", err)
	}
	// A subnet router inside present[0]'s 10.201.0.0/16 and an exit, in
	// one change.
	router := newIdentity(meshAddr(14)).peer(loopbackEndpoint(51008))
	router.AllowedIPs = append(router.AllowedIPs, netip.MustParsePrefix("10.201.5.0/24"), netip.MustParsePrefix("fd00:201::/96"))
	exit := newIdentity(meshAddr(15)).peer(loopbackEndpoint(51009))
	exit.AllowedIPs = append(exit.AllowedIPs, netip.MustParsePrefix("0.0.0.0/0"), netip.MustParsePrefix("::/0"))
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{router, exit}}); err != nil {
		return fmt.Errorf("ApplyPeers of peers whose allowed IPs overlap present ones: %w", err)
	}
	// Then an update that overlaps all three: a host prefix inside the
	// /16, the /24 and the default prefix.
	upd := present[1]
	upd.AllowedIPs = append(slices.Clone(upd.AllowedIPs), netip.MustParsePrefix("10.201.5.7/32"))
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{upd}}); err != nil {
		return fmt.Errorf("ApplyPeers of an update whose allowed IPs overlap other peers': %w", err)
	}
	return wantPeers(ctx, b, present[0], upd, present[2], router, exit)
}

func backendUpdateInPlace(ctx context.Context, env *Env) error {
	b, _, err := configured(ctx, env, nil, 1)
	if err != nil {
		return err
	}
	peers := testPeers()
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: peers}); err != nil {
		return fmt.Errorf("ApplyPeers: %w", err)
	}
	upd := peers[0]
	upd.AllowedIPs = []netip.Prefix{peers[0].AllowedIPs[0], netip.MustParsePrefix("10.203.0.0/24")}
	upd.PersistentKeepalive = 25 * time.Second
	upd.Endpoint = netip.AddrPort{} // keep the current one
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{upd}}); err != nil {
		return fmt.Errorf("ApplyPeers (update): %w", err)
	}
	want := upd
	want.Endpoint = peers[0].Endpoint
	return wantPeers(ctx, b, want, peers[1], peers[2])
}

func backendApplyDiff(ctx context.Context, env *Env) error {
	b, _, err := configured(ctx, env, nil, 1)
	if err != nil {
		return err
	}
	peers := testPeers()
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: peers[:2]}); err != nil {
		return fmt.Errorf("ApplyPeers: %w", err)
	}
	absent := newIdentity(meshAddr(99)).pub
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Remove: []hostapi.Key{peers[0].PublicKey, absent, {}}, Upsert: peers[2:]}); err != nil {
		return fmt.Errorf("ApplyPeers (remove one, an absent key and the zero key, add one): %w", err)
	}
	return wantPeers(ctx, b, peers[1], peers[2])
}

func backendRemoveFirst(ctx context.Context, env *Env) error {
	b, _, err := configured(ctx, env, nil, 1)
	if err != nil {
		return err
	}
	peers := testPeers()
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: peers}); err != nil {
		return fmt.Errorf("ApplyPeers: %w", err)
	}
	// A new peer takes over peers[0]'s allowed IPs, and peers[1] is
	// removed and upserted again with new settings, in one change.
	heir := newIdentity(meshAddr(13)).peer(loopbackEndpoint(51004))
	heir.AllowedIPs = peers[0].AllowedIPs
	again := peers[1]
	again.AllowedIPs = []netip.Prefix{netip.MustParsePrefix("10.204.0.0/24")}
	again.Endpoint = loopbackEndpoint(51005)
	change := hostapi.PeerChanges{Remove: []hostapi.Key{peers[0].PublicKey, peers[1].PublicKey}, Upsert: []hostapi.PeerConfig{heir, again}}
	if err := b.ApplyPeers(ctx, change); err != nil {
		return fmt.Errorf("ApplyPeers (remove, then upsert over the removed allowed IPs): %w", err)
	}
	return wantPeers(ctx, b, heir, again, peers[2])
}

func backendRemoveImmediate(ctx context.Context, env *Env) error {
	b, _, err := configured(ctx, env, nil, 1)
	if err != nil {
		return err
	}
	peers := testPeers()
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: peers}); err != nil {
		return fmt.Errorf("ApplyPeers: %w", err)
	}
	absent := newIdentity(meshAddr(99)).pub
	if err := b.RemovePeers(ctx, []hostapi.Key{peers[0].PublicKey, absent, {}, peers[2].PublicKey}); err != nil {
		return fmt.Errorf("RemovePeers: %w", err)
	}
	if err := wantPeers(ctx, b, peers[1]); err != nil {
		return fmt.Errorf("right after RemovePeers: %w", err)
	}
	if err := b.RemovePeers(ctx, nil); err != nil {
		return fmt.Errorf("RemovePeers of nothing: %w", err)
	}
	return nil
}

func backendConfigureKeepsPeers(ctx context.Context, env *Env) error {
	b, id, err := configured(ctx, env, nil, 1)
	if err != nil {
		return err
	}
	peers := testPeers()
	if err := b.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: peers}); err != nil {
		return fmt.Errorf("ApplyPeers: %w", err)
	}
	cfg := id.config()
	cfg.Addresses = append(cfg.Addresses, netip.PrefixFrom(meshAddr(202), 32))
	if err := b.Configure(ctx, cfg); err != nil {
		return fmt.Errorf("second Configure: %w", err)
	}
	return wantPeers(ctx, b, peers...)
}
