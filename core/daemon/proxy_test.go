package daemon

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/poll"
)

// wantHosts fails unless the live backend's proxies are given exactly the
// active members of h's network, by id, with their addresses, in the
// network's domain, soon: after an update applied without a full
// reconcile, the repair loop configures them.
func (h *harness) wantHosts(what string, ids ...string) {
	h.t.Helper()
	st := h.net.Chain.State()
	var want []hostapi.Host
	for _, id := range ids {
		n, ok := st.Node(id)
		if !ok {
			h.t.Fatalf("no node %s", id)
		}
		host := hostapi.Host{Name: id}
		for _, a := range n.Addresses {
			host.Addrs = append(host.Addrs, a.Addr())
		}
		want = append(want, host)
	}
	var got *hostapi.ProxyConfig
	err := poll.Until(5*time.Second, time.Millisecond, func() bool {
		cfg, _ := h.backend().Config()
		got = cfg.Proxy
		return got != nil && cmp.Equal(want, got.Hosts, cmpNetip)
	})
	switch {
	case got == nil:
		h.t.Fatalf("%s: the backend got no proxy configuration", what)
	case err != nil:
		h.t.Errorf("%s: names (-want +got):\n%s", what, cmp.Diff(want, got.Hosts, cmpNetip))
	case got.Domain != st.NetworkID():
		h.t.Errorf("%s: domain %q, want the network id %q", what, got.Domain, st.NetworkID())
	}
}

// startWithProxy starts a daemon whose backend has proxies (a SOCKS5
// listener configured) and waits until they are given the four members'
// names.
func startWithProxy(t *testing.T) (*harness, *Daemon) {
	t.Helper()
	h := newHarness(t)
	h.caps |= hostapi.BackendCapProxy
	h.opts.Interface.Proxy = &hostapi.ProxyConfig{SOCKS5: netip.MustParseAddrPort("127.0.0.1:1080")}
	d := h.start()
	h.wantHosts("at start", "a", "b", "c", "d")
	return h, d
}

func TestProxyNamesFollowMembership(t *testing.T) {
	h, d := startWithProxy(t)
	var configures atomic.Int32
	h.backend().SetFault(func(_ context.Context, op string) error {
		if op == "Configure" {
			configures.Add(1)
		}
		return nil
	})

	h.applyOK(membership.Operation{Type: membership.OpRevokeNode, NodeID: "c"}, "alice", "bob")
	h.wantHosts("c revoked", "a", "b", "d")
	// An id that reads as an address cannot be a name the proxies take.
	h.applyOK(membership.Operation{Type: membership.OpAddNode, Node: newNode("10.0.0.5").member(5)}, "alice", "bob")
	h.applyOK(membership.Operation{Type: membership.OpAddNode, Node: newNode("e").member(6)}, "alice", "bob")
	h.wantHosts("e added", "a", "b", "d", "e")

	// An update that leaves the names as they are configures nothing, nor
	// does a full reconcile after it.
	configures.Store(0)
	h.applyOK(h.retag("b", []string{"db"}), "alice", "bob")
	d.mu.Lock()
	err := d.fullReconcile(t.Context())
	d.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if got := configures.Load(); got != 0 {
		t.Errorf("the backend was configured %d times for a change of tags, want 0", got)
	}
	h.wantHosts("b retagged", "a", "b", "d", "e")
}

func TestHostsDigest(t *testing.T) {
	a, b := netip.MustParseAddr("100.64.0.1"), netip.MustParseAddr("100.64.0.2")
	tables := []*hostapi.ProxyConfig{
		nil,
		{Domain: "lab"},
		{Hosts: []hostapi.Host{{Name: "n1", Addrs: []netip.Addr{a}}}},
		{Hosts: []hostapi.Host{{Name: "n1", Addrs: []netip.Addr{b}}}},
		{Hosts: []hostapi.Host{{Name: "n1", Addrs: []netip.Addr{a, b}}}},
		{Hosts: []hostapi.Host{{Name: "n1", Addrs: []netip.Addr{a}}, {Name: "n2", Addrs: []netip.Addr{b}}}},
		{Hosts: []hostapi.Host{{Name: "n1", Addrs: []netip.Addr{a}}, {Name: "n2", Addrs: []netip.Addr{b}}}, Domain: "lab"},
		{Hosts: []hostapi.Host{{Name: "n1n2", Addrs: []netip.Addr{a, b}}}},
	}
	seen := map[[32]byte]int{}
	for i, p := range tables {
		d := hostsDigest(p)
		if j, ok := seen[d]; ok {
			t.Errorf("tables %d and %d have the same digest", j, i)
		}
		seen[d] = i
	}
	same := &hostapi.ProxyConfig{SOCKS5: netip.MustParseAddrPort("127.0.0.1:1"), Hosts: tables[6].Hosts, Domain: "lab"}
	if hostsDigest(same) != hostsDigest(tables[6]) {
		t.Errorf("the digest depends on more than the names")
	}
	if hostsDigest(nil) != hostsDigest(&hostapi.ProxyConfig{}) {
		t.Errorf("no configuration and an empty table differ")
	}
}

func TestProxyStatus(t *testing.T) {
	h := newHarness(t)
	h.caps |= hostapi.BackendCapProxy
	h.opts.Interface.Proxy = &hostapi.ProxyConfig{
		SOCKS5: netip.MustParseAddrPort("192.168.1.10:1080"),
		HTTP:   netip.MustParseAddrPort("127.0.0.1:3128"),
		Auth:   &hostapi.ProxyAuth{Username: "alice", Password: "secret"},
		Forwards: []hostapi.Forward{
			{Proto: hostapi.ProtoTCP, Listen: netip.MustParseAddrPort("127.0.0.1:8081"), Target: netip.AddrPortFrom(netip.Addr{}, 80), TargetHost: "b"},
		},
	}
	h.start()
	want := []controlapi.ProxyStatus{
		{Kind: "socks5", Listen: "192.168.1.10:1080", Auth: true},
		{Kind: "http", Listen: "127.0.0.1:3128", Auth: true},
		{Kind: "forward/tcp", Listen: "127.0.0.1:8081", Target: "b:80"},
	}
	if diff := cmp.Diff(want, h.status().Interface.Proxies); diff != "" {
		t.Errorf("status proxies (-want +got):\n%s", diff)
	}
}

// TestConfigureNeverSendsAnOlderConfiguration: the names loop sends the
// configuration it computed under d.mu after letting d.mu go, so a full
// reconcile may configure a newer one first; the older one must then not
// follow it, whether the newer one was sent or found in place.
func TestConfigureNeverSendsAnOlderConfiguration(t *testing.T) {
	h, d := startWithProxy(t)

	d.mu.Lock()
	older := d.interfaceConfig(d.gatewayOnlyPlan())
	older.Proxy.Hosts = older.Proxy.Hosts[:1] // as if computed before three members joined
	d.cfgSeq++
	olderSeq := d.cfgSeq
	err := d.fullReconcile(t.Context()) // newer, and in place already
	d.mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if err := d.configure(t.Context(), older, olderSeq, false); err != nil {
		t.Fatal(err)
	}
	// At once, not eventually: a repair would mend it in the end.
	if cfg, _ := h.backend().Config(); cfg.Proxy == nil || len(cfg.Proxy.Hosts) != 4 {
		t.Fatalf("the backend holds %+v after an older configuration came too late, want the 4 members' names", cfg.Proxy)
	}

	// In order, the same configuration goes in.
	d.mu.Lock()
	d.cfgSeq++
	seq := d.cfgSeq
	d.mu.Unlock()
	if err := d.configure(t.Context(), older, seq, false); err != nil {
		t.Fatal(err)
	}
	h.wantHosts("after it came in order", "a")
}

// TestApplyDoesNotWaitForTheNamesTable: while the names loop's Configure
// is stuck in the backend, an update still applies (the loop holds no
// d.mu while it sends the table).
func TestApplyDoesNotWaitForTheNamesTable(t *testing.T) {
	h, d := startWithProxy(t)
	// The full reconcile the start asks for configures the names once
	// (under d.mu, as it must): only the names loop's Configure may stick.
	if err := poll.Until(5*time.Second, time.Millisecond, func() bool {
		d.configMu.Lock()
		defer d.configMu.Unlock()
		return d.configured > 0
	}); err != nil {
		t.Fatal("the start's full reconcile never configured the backend")
	}
	stuck, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h.backend().SetFault(func(ctx context.Context, op string) error {
		if op == "Configure" {
			once.Do(func() { close(stuck) })
			select {
			case <-release:
			case <-ctx.Done():
			}
		}
		return nil
	})
	defer close(release)
	h.applyOK(membership.Operation{Type: membership.OpAddNode, Node: newNode("e").member(6)}, "alice", "bob")
	select {
	case <-stuck:
	case <-time.After(5 * time.Second):
		t.Fatal("the names loop never configured the backend after e joined")
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.applyOK(membership.Operation{Type: membership.OpRevokeNode, NodeID: "c"}, "alice", "bob")
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("an apply waited for the names loop's Configure")
	}
}
