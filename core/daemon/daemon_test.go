package daemon

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/sha256"
	"errors"
	"net/netip"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/membership/membershiptest"
	"github.com/rustynet/rustynet/core/pluginhost"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/hostapi/hostapitest"
	"github.com/rustynet/rustynet/internal/poll"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// inst is an in-process plugin instance around a test double.
type inst[T any] struct {
	p    T
	done chan struct{}
	once sync.Once
}

func newInst[T any](p T) *inst[T]             { return &inst[T]{p: p, done: make(chan struct{})} }
func (i *inst[T]) Plugin() T                  { return i.p }
func (i *inst[T]) Ping(context.Context) error { return nil }
func (i *inst[T]) Done() <-chan struct{}      { return i.done }
func (i *inst[T]) Kill()                      { i.once.Do(func() { close(i.done) }) }

// node is a test node: a real X25519 key pair, as a daemon needs.
type node struct {
	id   string
	priv hostapi.PrivateKey
	pub  membership.NodeKey
}

func newNode(id string) node {
	seed := sha256.Sum256([]byte("daemon-test-node:" + id))
	k, err := ecdh.X25519().NewPrivateKey(seed[:])
	if err != nil {
		panic(err)
	}
	n := node{id: id}
	copy(n.priv[:], k.Bytes())
	copy(n.pub[:], k.PublicKey().Bytes())
	return n
}

func (n node) member(i int) membership.Node {
	m := membershiptest.Node(n.id, i)
	m.PublicKey = n.pub
	return m
}

// harness is one daemon on test doubles, with its network.
type harness struct {
	t        *testing.T
	net      *membershiptest.Network
	self     node
	disk     *hostapitest.Disk
	mu       sync.Mutex
	backends []*hostapitest.Backend
	backInst []*inst[hostapi.Backend]
	stores   []*hostapitest.Store
	dir      string
	opts     Options
	caps     hostapi.BackendCapabilities // of every backend launched
	d        *Daemon
}

// newHarness builds a 2-of-3 network of self ("a") and peers b, c, d.
func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, self: newNode("a"), disk: hostapitest.NewDisk(), dir: filepath.Join(t.TempDir(), "state"),
		caps: hostapi.BackendCapPeerStats | hostapi.BackendCapPacketFilter}
	h.net = &membershiptest.Network{Approvers: map[string]membershiptest.Approver{}, Chain: membership.NewChain("test"), Now: membershiptest.Epoch0}
	var as []membership.Approver
	for _, a := range []membershiptest.Approver{
		membershiptest.NewApprover("alice", membership.RoleOwner),
		membershiptest.NewApprover("bob", membership.RoleApprover),
		membershiptest.NewApprover("carol", membership.RoleApprover),
	} {
		h.net.Approvers[a.ID] = a
		as = append(as, a.Approver)
	}
	nodes := []membership.Node{h.self.member(1), newNode("b").member(2), newNode("c").member(3), newNode("d").member(4)}
	g, err := membership.NewGenesis("test", 2, as, nodes, membership.DefaultPolicy(), h.net.Proposal())
	if err != nil {
		t.Fatal(err)
	}
	h.net.MustApply(t, h.net.Sign(t, g, "alice", "bob", "carol"))
	h.opts = Options{
		NodeID:        "a",
		PrivateKey:    h.self.priv,
		Genesis:       g,
		GenesisRoot:   g.Body.NewStateRoot,
		StateDir:      h.dir,
		HighWaterPath: filepath.Join(t.TempDir(), "hw.json"),
		Store: func(context.Context) (pluginhost.Instance[hostapi.Store], error) {
			st := h.disk.NewStore()
			h.mu.Lock()
			h.stores = append(h.stores, st)
			h.mu.Unlock()
			return newInst[hostapi.Store](st), nil
		},
		Backends: []BackendChoice{{Name: "fake", Launch: func(context.Context) (pluginhost.Instance[hostapi.Backend], error) {
			b := hostapitest.NewBackend(h.caps)
			i := newInst[hostapi.Backend](b)
			h.mu.Lock()
			h.backends = append(h.backends, b)
			h.backInst = append(h.backInst, i)
			h.mu.Unlock()
			return i, nil
		}}},
		RepairInterval: time.Hour,
		Now:            func() time.Time { return h.net.Now },
	}
	return h
}

func (h *harness) status() controlapi.Status {
	h.t.Helper()
	st, err := h.d.Status(context.Background())
	if err != nil {
		h.t.Fatalf("Status: %v", err)
	}
	return st
}

func (h *harness) start() *Daemon {
	h.t.Helper()
	d, err := Start(context.Background(), h.opts)
	if err != nil {
		h.t.Fatalf("Start: %v", err)
	}
	h.d = d
	h.t.Cleanup(d.Close)
	return d
}

// backend returns the live backend double.
func (h *harness) backend() *hostapitest.Backend {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.backends[len(h.backends)-1]
}

// peers returns the ids of the nodes the live backend has as peers.
func (h *harness) peers() map[string]bool {
	h.t.Helper()
	got, err := h.peersNow()
	if err != nil {
		h.t.Fatal(err)
	}
	return got
}

// peersNow returns the nodes the latest backend holds as peers, or the
// backend's error (a relaunched backend answers CLOSED until the daemon
// has configured it).
func (h *harness) peersNow() (map[string]bool, error) {
	st, err := h.backend().State(context.Background())
	if err != nil {
		return nil, err
	}
	got := map[string]bool{}
	for _, p := range st.Peers {
		for _, id := range []string{"a", "b", "c", "d", "e"} {
			if p.PublicKey == hostapi.Key(newNode(id).pub) {
				got[id] = true
			}
		}
	}
	return got, nil
}

func (h *harness) wantPeers(ids ...string) {
	h.t.Helper()
	got := h.peers()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	if len(got) != len(want) {
		h.t.Fatalf("peers = %v, want %v", got, want)
	}
	for id := range want {
		if !got[id] {
			h.t.Fatalf("peers = %v, want %v", got, want)
		}
	}
}

// update proposes op, signs it and returns the file bytes.
func (h *harness) update(op membership.Operation, signers ...string) []byte {
	h.t.Helper()
	u := h.net.Propose(h.t, op)
	h.net.Sign(h.t, u, signers...)
	return u.Encode()
}

// applyOK applies an update through the daemon and, in step, to the test
// network's own chain.
func (h *harness) applyOK(op membership.Operation, signers ...string) {
	h.t.Helper()
	u := h.net.Propose(h.t, op)
	h.net.Sign(h.t, u, signers...)
	if _, err := h.d.ApplyUpdate(context.Background(), u.Encode(), false); err != nil {
		h.t.Fatalf("ApplyUpdate %s: %v", op.Type, err)
	}
	h.net.MustApply(h.t, u)
}

func TestStartAppliesTrustedMembership(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.wantPeers("b", "c", "d")
	st := h.status()
	if st.Trust.Epoch != 1 || st.Trust.Restricted || st.Backend.Name != "fake" || len(st.Peers) != 3 {
		t.Errorf("status = %+v", st)
	}
	cfg, ok := h.backend().Config()
	if !ok || cfg.PrivateKey != h.self.priv {
		t.Errorf("backend configured with %v, want the node's private key", ok)
	}
	if want := h.self.member(1).Addresses; len(cfg.Addresses) != 1 || cfg.Addresses[0] != want[0] {
		t.Errorf("backend addresses = %v, want the node's mesh addresses %v", cfg.Addresses, want)
	}
}

func TestUpdatesChangeOnlyWhatTheyNameAndRevokeRemoves(t *testing.T) {
	h := newHarness(t)
	h.start()
	e := newNode("e")
	h.applyOK(membership.Operation{Type: membership.OpAddNode, Node: e.member(5)}, "alice", "bob")
	h.wantPeers("b", "c", "d", "e")
	h.applyOK(membership.Operation{Type: membership.OpRevokeNode, NodeID: "c"}, "alice", "bob")
	h.wantPeers("b", "d", "e")
	h.applyOK(membership.Operation{Type: membership.OpRemoveNode, NodeID: "d"}, "bob", "carol")
	h.wantPeers("b", "e")
	h.applyOK(membership.Operation{Type: membership.OpRestoreNode, NodeID: "c"}, "alice", "carol")
	h.wantPeers("b", "c", "e")
	if got := h.status().Trust.Epoch; got != 5 {
		t.Errorf("epoch = %d, want 5", got)
	}
}

// TestThreatsRejectedDataPlaneUnchanged covers the seed's threat matrix at
// the daemon: each attack is rejected with its code, reported in status,
// and leaves the data plane exactly as it was.
func TestThreatsRejectedDataPlaneUnchanged(t *testing.T) {
	tests := []struct {
		name string
		make func(h *harness) []byte
		want membership.Code
	}{
		{"forged signature", func(h *harness) []byte {
			u := h.net.Propose(t, membership.Operation{Type: membership.OpAddNode, Node: newNode("e").member(5)})
			h.net.Sign(t, u, "alice", "bob")
			u.Signatures[1].Sig[3] ^= 1
			return u.Encode()
		}, membership.BadSignature},
		{"under threshold", func(h *harness) []byte {
			return h.update(membership.Operation{Type: membership.OpAddNode, Node: newNode("e").member(5)}, "alice")
		}, membership.ThresholdNotMet},
		{"an applied update's id on another body", func(h *harness) []byte {
			// A new update that reuses the update id of one applied: the
			// id was applied, this update never was.
			h.applyOK(membership.Operation{Type: membership.OpRevokeNode, NodeID: "d"}, "alice", "bob")
			id := h.net.Log[len(h.net.Log)-1].Body.UpdateID
			p := h.net.Proposal()
			p.Rand = bytes.NewReader(id[:])
			u, err := membership.NewUpdate(h.net.Chain.State(), membership.Operation{Type: membership.OpRevokeNode, NodeID: "c"}, p)
			if err != nil {
				t.Fatal(err)
			}
			return h.net.Sign(t, u, "alice", "bob").Encode()
		}, membership.ReplayedUpdate},
		{"conflicting same-epoch update under the threshold", func(h *harness) []byte {
			other := h.update(membership.Operation{Type: membership.OpRevokeNode, NodeID: "b"}, "bob")
			h.applyOK(membership.Operation{Type: membership.OpRevokeNode, NodeID: "d"}, "alice", "carol")
			return other
		}, membership.StaleEpoch},
		{"revoked node re-adds itself", func(h *harness) []byte {
			h.applyOK(membership.Operation{Type: membership.OpRevokeNode, NodeID: "d"}, "alice", "carol")
			return h.update(membership.Operation{Type: membership.OpRestoreNode, NodeID: "d"}, "d-itself")
		}, membership.UnknownSigner},
		{"clock skew", func(h *harness) []byte {
			h.net.Now = h.net.Now.Add(time.Hour) // the proposer's clock runs an hour ahead
			b := h.update(membership.Operation{Type: membership.OpAddNode, Node: newNode("e").member(5)}, "alice", "bob")
			h.net.Now = h.net.Now.Add(-time.Hour)
			return b
		}, membership.NotYetValid},
		{"expired update", func(h *harness) []byte {
			b := h.update(membership.Operation{Type: membership.OpAddNode, Node: newNode("e").member(5)}, "alice", "bob")
			h.net.Now = h.net.Now.Add(2 * time.Hour)
			return b
		}, membership.Expired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.start()
			data := tt.make(h)
			before := h.peers()
			_, err := h.d.ApplyUpdate(context.Background(), data, false)
			if membership.CodeOf(err) != tt.want {
				t.Fatalf("ApplyUpdate: %v, want %s", err, tt.want)
			}
			after := h.peers()
			if len(before) != len(after) {
				t.Errorf("data plane changed: %v -> %v", before, after)
			}
			for id := range before {
				if !after[id] {
					t.Errorf("data plane changed: %v -> %v", before, after)
				}
			}
			st := h.status()
			if r := st.Trust.LastRejected; r == nil || r.Code != string(tt.want) {
				t.Errorf("status rejection = %+v, want code %s", r, tt.want)
			}
		})
	}
}

func TestRevokedSelfIsIsolated(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.applyOK(membership.Operation{Type: membership.OpRevokeNode, NodeID: "a"}, "alice", "bob")
	h.wantPeers()
	if st := h.status(); st.Backend.Isolated == "" {
		t.Error("status does not say why the node has no peers")
	}
}

func TestRestrictedModeAtStartHasNoPeers(t *testing.T) {
	h := newHarness(t)
	d := h.start()
	h.applyOK(membership.Operation{Type: membership.OpAddNode, Node: newNode("e").member(5)}, "alice", "bob")
	d.Close()
	// Roll the store back to genesis only: the high-water mark says epoch 2.
	st := h.disk.NewStore()
	ctx := context.Background()
	if err := st.Open(ctx, hostapi.StoreConfig{Dir: h.dir}); err != nil {
		t.Fatal(err)
	}
	first, err := st.ReadLog(ctx, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	st.Close(ctx)
	h.disk = hostapitest.NewDisk()
	st = h.disk.NewStore()
	if err := st.Open(ctx, hostapi.StoreConfig{Dir: h.dir}); err != nil {
		t.Fatal(err)
	}
	if err := st.Append(ctx, first[0]); err != nil {
		t.Fatal(err)
	}
	st.Close(ctx)

	d2 := h.start()
	s := h.status()
	if !s.Trust.Restricted || s.Trust.Reason == "" {
		t.Fatalf("status = %+v, want restricted with a reason", s)
	}
	h.wantPeers()
	_, err = d2.ApplyUpdate(ctx, h.update(membership.Operation{Type: membership.OpAddNode, Node: newNode("x").member(9)}, "alice", "bob"), false)
	if membership.CodeOf(err) != membership.RestrictedMode {
		t.Errorf("apply in restricted mode: %v, want RESTRICTED_MODE", err)
	}
	h.wantPeers()
}

func TestBackendRelaunchRestoresPeers(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.mu.Lock()
	first := h.backInst[0]
	h.mu.Unlock()
	first.Kill() // the backend plugin dies
	var (
		n        int
		peers    map[string]bool
		peersErr error
	)
	if poll.Until(10*time.Second, 5*time.Millisecond, func() bool {
		h.mu.Lock()
		n = len(h.backends)
		h.mu.Unlock()
		peers, peersErr = nil, nil
		if n == 2 {
			peers, peersErr = h.peersNow()
		}
		return len(peers) == 3
	}) != nil {
		t.Fatalf("after the backend died: %d launches, peers %v (%v)", n, peers, peersErr)
	}
	h.wantPeers("b", "c", "d")
	// The relaunched backend takes updates.
	h.applyOK(membership.Operation{Type: membership.OpRevokeNode, NodeID: "b"}, "alice", "bob")
	h.wantPeers("c", "d")
}

func TestFeedAppliesExtensionsAndRejectsForks(t *testing.T) {
	h := newHarness(t)
	write := h.withFeed()
	write(h.net.Log)
	d := h.start()

	// The network moves on; the feed serves it.
	u := h.net.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "c"})
	h.net.MustApply(t, h.net.Sign(t, u, "alice", "bob"))
	write(h.net.Log)
	d.pollFeed(context.Background())
	h.wantPeers("b", "d")
	if st := h.status(); st.Trust.Epoch != 2 || st.Feed.LastError != "" || st.Feed.AppliedThrough != 2 {
		t.Fatalf("status after feed = %+v / %+v", st, st.Feed)
	}

	// A rolled-back feed (genesis only) is rejected and reported.
	write(h.net.Log[:1])
	d.pollFeed(context.Background())
	if st := h.status(); st.Trust.Epoch != 2 || st.Feed.LastError == "" {
		t.Errorf("rollback feed: epoch %d, feed error %q", st.Trust.Epoch, st.Feed.LastError)
	}
	// A feed whose log diverges with an update that does not verify is
	// refused as a fork of the source: nothing changes.
	fork := &membershiptest.Network{Approvers: h.net.Approvers, Chain: membership.NewChain("test"), Now: h.net.Now}
	fork.MustApply(t, h.net.Log[0])
	bad := fork.Sign(t, fork.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "b"}), "bob")
	write(append(slices.Clone(fork.Log), bad))
	d.pollFeed(context.Background())
	st := h.status()
	if r := st.Trust.LastRejected; st.Trust.Epoch != 2 || st.Feed.LastError == "" || r == nil || r.Code != string(membership.WrongPrevRoot) || st.Trust.Forked != nil {
		t.Errorf("forked feed: epoch %d, feed error %q, rejection %+v", st.Trust.Epoch, st.Feed.LastError, r)
	}
	h.wantPeers("b", "d")

	// A feed whose log diverges with a valid quorum-signed update (another
	// epoch-2 update) is evidence of an equivocation: the node is forked,
	// and its peers are those both sides agree on (b is revoked on one
	// side, c on the other).
	fu := fork.Propose(t, membership.Operation{Type: membership.OpRevokeNode, NodeID: "b"})
	fork.MustApply(t, fork.Sign(t, fu, "alice", "bob"))
	write(fork.Log)
	d.pollFeed(context.Background())
	st = h.status()
	if r := st.Trust.LastRejected; st.Trust.Epoch != 2 || r == nil || r.Code != string(membership.Forked) || st.Trust.Forked == nil {
		t.Errorf("equivocating feed: epoch %d, rejection %+v, fork %+v", st.Trust.Epoch, r, st.Trust.Forked)
	}
	h.wantPeers("d")
}

func TestOwnAddressesFollowMembership(t *testing.T) {
	h := newHarness(t)
	h.start()
	moved := netip.MustParsePrefix("100.64.7.7/32")
	h.applyOK(membership.Operation{Type: membership.OpUpdateNode, NodeID: "a", Addresses: []netip.Prefix{moved},
		Endpoints: []netip.AddrPort{}, Tags: []string{}, Routes: []netip.Prefix{}}, "alice", "bob")
	cfg, _ := h.backend().Config()
	if len(cfg.Addresses) != 1 || cfg.Addresses[0] != moved {
		t.Errorf("interface addresses after the update = %v, want [%v]", cfg.Addresses, moved)
	}
	h.applyOK(membership.Operation{Type: membership.OpRevokeNode, NodeID: "a"}, "alice", "bob")
	if cfg, _ := h.backend().Config(); len(cfg.Addresses) != 0 {
		t.Errorf("a revoked node keeps addresses %v", cfg.Addresses)
	}
	h.wantPeers()
}

func TestStartFailureCleansUpAndDoesNotPanic(t *testing.T) {
	h := newHarness(t)
	var stores []*inst[hostapi.Store]
	h.opts.Store = func(context.Context) (pluginhost.Instance[hostapi.Store], error) {
		i := newInst[hostapi.Store](h.disk.NewStore())
		stores = append(stores, i)
		return i, nil
	}
	h.opts.Backends = []BackendChoice{{Name: "broken", Launch: func(context.Context) (pluginhost.Instance[hostapi.Backend], error) {
		return nil, errors.New("no such backend here")
	}}}
	d, err := Start(context.Background(), h.opts)
	if err == nil || d != nil {
		t.Fatalf("Start with no working backend = %v, %v; want an error", d, err)
	}
	select {
	case <-stores[0].Done():
	default:
		t.Error("the store plugin still runs after a failed start")
	}
	h.opts.Store = func(context.Context) (pluginhost.Instance[hostapi.Store], error) {
		return nil, errors.New("no store")
	}
	if _, err := Start(context.Background(), h.opts); err == nil {
		t.Fatal("Start without a store succeeded")
	}
}

func TestProxyOnlyForBackendsThatHaveIt(t *testing.T) {
	for _, caps := range []hostapi.BackendCapabilities{hostapi.BackendCapPeerStats | hostapi.BackendCapPacketFilter, hostapi.BackendCapPeerStats | hostapi.BackendCapProxy | hostapi.BackendCapPacketFilter} {
		h := newHarness(t)
		h.opts.Interface.Proxy = &hostapi.ProxyConfig{SOCKS5: netip.MustParseAddrPort("127.0.0.1:1080")}
		h.opts.Backends = []BackendChoice{{Name: "fake", Launch: func(context.Context) (pluginhost.Instance[hostapi.Backend], error) {
			b := hostapitest.NewBackend(caps)
			h.mu.Lock()
			h.backends = append(h.backends, b)
			h.mu.Unlock()
			return newInst[hostapi.Backend](b), nil
		}}}
		h.start()
		cfg, _ := h.backend().Config()
		if want := caps.Has(hostapi.BackendCapProxy); (cfg.Proxy != nil) != want {
			t.Errorf("capabilities %b: backend got proxy %v, want proxy: %v", caps, cfg.Proxy, want)
		}
		h.wantPeers("b", "c", "d")
	}
}
