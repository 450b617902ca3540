package daemon

import (
	"context"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/reconcile"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/poll"
	"github.com/rustynet/rustynet/internal/poll/polltest"
)

var cmpNetip = cmpopts.EquateComparable(netip.Addr{}, netip.Prefix{}, netip.AddrPort{})

func pfx(ss ...string) []netip.Prefix {
	out := []netip.Prefix{}
	for _, s := range ss {
		out = append(out, netip.MustParsePrefix(s))
	}
	slices.SortFunc(out, netip.Prefix.Compare)
	return out
}

// retag is the update_node operation that gives node id of h's network
// these tags and routes, keeping its addresses.
func (h *harness) retag(id string, tags []string, routes ...string) membership.Operation {
	h.t.Helper()
	n, ok := h.net.Chain.State().Node(id)
	if !ok {
		h.t.Fatalf("no node %s", id)
	}
	slices.Sort(tags)
	return membership.Operation{Type: membership.OpUpdateNode, NodeID: id, Addresses: n.Addresses, Endpoints: n.Endpoints,
		Tags: append([]string{}, tags...), Routes: pfx(routes...)}
}

// wantRoutes fails unless the live backend routes exactly want into the
// interface (and reports them so in State).
func (h *harness) wantRoutes(what string, want ...string) {
	h.t.Helper()
	if diff := cmp.Diff(pfx(want...), h.backend().Routes(), cmpNetip, cmpopts.EquateEmpty()); diff != "" {
		h.t.Fatalf("%s: routes (-want +got):\n%s", what, diff)
	}
}

// wantGateway fails unless the live backend forwards exactly want (nil:
// nothing).
func (h *harness) wantGateway(what string, want *hostapi.GatewayConfig) {
	h.t.Helper()
	cfg, _ := h.backend().Config()
	if diff := cmp.Diff(want, cfg.Gateway, cmpNetip); diff != "" {
		h.t.Fatalf("%s: gateway (-want +got):\n%s", what, diff)
	}
}

// TestRoutesRoutersAndExitsFollowMembership drives one daemon through the
// life of a mesh with a subnet router and an exit, on a backend double
// that keeps what it is told: every route comes from a signed record, each
// change is applied by difference and a revocation takes the routes away
// in the same apply.
func TestRoutesRoutersAndExitsFollowMembership(t *testing.T) {
	h := newHarness(t)
	h.caps = hostapi.BackendCapPeerStats | hostapi.BackendCapRoutes | hostapi.BackendCapGateway | hostapi.BackendCapPacketFilter
	h.opts.Routing = reconcile.Options{AcceptRoutes: true, ExitNode: "c", Serve: true, Masquerade: true}
	h.start()
	mesh := []string{"100.64.0.2/32", "100.64.0.3/32", "100.64.0.4/32"} // b, c, d
	h.wantRoutes("at start", mesh...)
	if st := h.status(); st.Interface == nil || st.Interface.Exit == nil || st.Interface.Exit.Active ||
		st.Interface.Exit.Reason != `c is not tagged "exit" in the signed membership` {
		t.Fatalf("status before c is an exit: %+v", st.Interface)
	}

	h.applyOK(h.retag("b", []string{membership.TagRouter}, "10.20.0.0/24", "0.0.0.0/0"), "alice", "bob")
	h.wantRoutes("b serves 10.20.0.0/24 (never a router's default route)", append(mesh, "10.20.0.0/24")...)

	h.applyOK(h.retag("c", []string{membership.TagExit}), "alice", "bob")
	h.wantRoutes("c became an exit", append(mesh, "10.20.0.0/24", "0.0.0.0/0", "::/0")...)
	st := h.status()
	wantKinds := map[string]string{"100.64.0.2/32": controlapi.RouteMesh + " b", "10.20.0.0/24": controlapi.RouteSubnet + " b",
		"0.0.0.0/0": controlapi.RouteExit + " c", "::/0": controlapi.RouteExit + " c", "100.64.0.3/32": controlapi.RouteMesh + " c",
		"100.64.0.4/32": controlapi.RouteMesh + " d"}
	gotKinds := map[string]string{}
	for _, r := range st.Interface.Routes {
		gotKinds[r.Prefix] = r.Kind + " " + r.Via
	}
	if diff := cmp.Diff(wantKinds, gotKinds); diff != "" {
		t.Errorf("status routes (-want +got):\n%s", diff)
	}
	if x := st.Interface.Exit; x == nil || !x.Active {
		t.Errorf("status exit = %+v, want c in use", x)
	}
	// The summary lists the same routes but the host routes, which it
	// counts, and sums the peers up; the rest is the full status's.
	for _, detail := range []controlapi.PeerDetail{controlapi.PeersSummary, controlapi.PeersNone} {
		sum, err := h.d.StatusSummary(context.Background(), detail)
		if err != nil {
			t.Fatal(err)
		}
		gotKinds := map[string]string{}
		for _, r := range sum.Interface.Routes {
			gotKinds[r.Prefix] = r.Kind + " " + r.Via
		}
		wantSum := maps.Clone(wantKinds)
		maps.DeleteFunc(wantSum, func(_, kind string) bool { return strings.HasPrefix(kind, controlapi.RouteMesh) })
		if diff := cmp.Diff(wantSum, gotKinds); diff != "" || sum.Interface.HostRoutes != 3 {
			t.Errorf("%s: routes (-want +got):\n%s\nhost routes %d, want 3", detail, diff, sum.Interface.HostRoutes)
		}
		wantPeers := &controlapi.PeerSummary{Peers: 3}
		if detail == controlapi.PeersNone {
			wantPeers = nil
		}
		if diff := cmp.Diff(wantPeers, sum.PeerSummary); diff != "" || len(sum.Peers) != 0 {
			t.Errorf("%s: peer summary (-want +got):\n%s\n%d peers listed", detail, diff, len(sum.Peers))
		}
		full := st.WithPeers(detail)
		full.Interface = nil
		sum.Interface.Routes, sum.Interface.HostRoutes = st.Interface.Routes, 0
		if diff := cmp.Diff(st.Interface, sum.Interface); diff != "" {
			t.Errorf("%s: the interface beside its routes (-full +summary):\n%s", detail, diff)
		}
		sum.Interface = nil
		if diff := cmp.Diff(full, sum, cmpopts.IgnoreFields(controlapi.Status{}, "Health")); diff != "" {
			t.Errorf("%s: the status beside its interface (-full +summary):\n%s", detail, diff)
		}
	}

	h.applyOK(membership.Operation{Type: membership.OpRevokeNode, NodeID: "b"}, "alice", "bob")
	h.wantRoutes("the router is revoked", "100.64.0.3/32", "100.64.0.4/32", "0.0.0.0/0", "::/0")
	h.wantPeers("c", "d")

	h.applyOK(h.retag("c", nil), "alice", "bob")
	h.wantRoutes("c is no exit any more", "100.64.0.3/32", "100.64.0.4/32")

	// This node itself becomes a router and an exit: it serves, and routes
	// nothing it serves into its own tunnel.
	h.wantGateway("before", nil)
	h.applyOK(h.retag("a", []string{membership.TagRouter, membership.TagExit}, "192.168.7.0/24"), "alice", "bob")
	want := &hostapi.GatewayConfig{Prefixes: pfx("192.168.7.0/24", "0.0.0.0/0", "::/0"), Masquerade: true}
	slices.SortFunc(want.Prefixes, netip.Prefix.Compare)
	cfg, _ := h.backend().Config()
	if cfg.Gateway != nil {
		slices.SortFunc(cfg.Gateway.Prefixes, netip.Prefix.Compare)
	}
	if diff := cmp.Diff(want, cfg.Gateway, cmpNetip); diff != "" {
		t.Fatalf("gateway (-want +got):\n%s", diff)
	}

	// A relaunched backend gets every route and the gateway back.
	h.mu.Lock()
	first := h.backInst[len(h.backInst)-1]
	h.mu.Unlock()
	first.Kill()
	var n int
	if poll.Until(10*time.Second, 5*time.Millisecond, func() bool {
		h.mu.Lock()
		n = len(h.backends)
		h.mu.Unlock()
		return n == 2 && slices.Equal(h.backend().Routes(), pfx("100.64.0.3/32", "100.64.0.4/32"))
	}) != nil {
		t.Fatalf("after the backend died: %d launches, routes %v", n, h.backend().Routes())
	}
	if cfg, _ := h.backend().Config(); cfg.Gateway == nil || len(cfg.Gateway.Prefixes) != 3 {
		t.Errorf("relaunched backend's gateway = %+v, want what the node serves", cfg.Gateway)
	}
}

// TestNoRoutesOrGatewayWithoutTheCapability checks that a backend without
// routes or forwarding is never asked for them, and status says why the
// node does not serve.
func TestNoRoutesOrGatewayWithoutTheCapability(t *testing.T) {
	h := newHarness(t)
	h.opts.Routing = reconcile.Options{AcceptRoutes: true, Serve: true}
	h.start()
	h.applyOK(h.retag("a", []string{membership.TagRouter}, "192.168.7.0/24"), "alice", "bob")
	h.applyOK(h.retag("b", []string{membership.TagRouter}, "10.20.0.0/24"), "alice", "bob")
	h.wantPeers("b", "c", "d")
	h.wantGateway("backend without the gateway capability", nil)
	st := h.status()
	if g := st.Interface.Gateway; g == nil || g.Reason == "" {
		t.Errorf("status gateway = %+v, want the prefixes and why they are not served", g)
	}
	if _, err := h.d.ApplyUpdate(context.Background(), h.update(membership.Operation{Type: membership.OpRevokeNode, NodeID: "b"}, "alice", "bob"), false); err != nil {
		t.Fatal(err)
	}
	h.wantPeers("c", "d")
}

// TestBackendDiesDuringAnApplysPush kills the backend plugin while an
// apply is pushing its change (holding d.mu) and while a status read waits
// for the backend: the relaunch must not wait for the apply, nor the apply
// for the relaunch beyond its own failed call. The update ends committed
// and, through the relaunched backend's setup and the repair loop, in the
// data plane with its route. Run under -race (scripts/test.sh does).
func TestBackendDiesDuringAnApplysPush(t *testing.T) {
	h := newHarness(t)
	h.caps = hostapi.BackendCapPeerStats | hostapi.BackendCapRoutes | hostapi.BackendCapPacketFilter
	h.start()
	h.mu.Lock()
	first, firstInst := h.backends[0], h.backInst[0]
	h.mu.Unlock()
	pushing := make(chan struct{})
	var once sync.Once
	first.SetFault(func(ctx context.Context, op string) error {
		switch op {
		case "ApplyPeers":
			once.Do(func() { close(pushing) })
			select { // the plugin hangs in the call until it is killed
			case <-firstInst.done:
				return hostapi.Errorf(hostapi.CodeUnavailable, "the backend plugin died")
			case <-ctx.Done():
				return ctx.Err()
			}
		case "State":
			select {
			case <-pushing: // from now on, a status read waits on the dying plugin too
				<-firstInst.done
				return hostapi.Errorf(hostapi.CodeUnavailable, "the backend plugin died")
			default:
			}
		}
		return nil
	})

	e := newNode("e")
	applied := make(chan error, 1)
	go func() {
		_, err := h.d.ApplyUpdate(context.Background(), h.update(membership.Operation{Type: membership.OpAddNode, Node: e.member(5)}, "alice", "bob"), false)
		applied <- err
	}()
	<-pushing
	status := make(chan error, 1)
	go func() { _, err := h.d.Status(context.Background()); status <- err }()
	firstInst.Kill()

	for what, ch := range map[string]chan error{"the apply": applied, "the status read": status} {
		select {
		case err := <-ch:
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		case <-time.After(30 * time.Second):
			t.Fatalf("%s did not return within 30 s of the backend's death: a deadlock", what)
		}
	}
	var (
		n        int
		peers    map[string]bool
		peersErr error
	)
	if poll.Until(30*time.Second, 5*time.Millisecond, func() bool {
		h.mu.Lock()
		n = len(h.backends)
		h.mu.Unlock()
		peers, peersErr = h.peersNow()
		return n == 2 && peersErr == nil && peers["e"] && slices.Contains(h.backend().Routes(), netip.MustParsePrefix("100.64.0.5/32"))
	}) != nil {
		t.Fatalf("the added node never reached the relaunched backend: %d launches, peers %v (%v), routes %v", n, peers, peersErr, h.backend().Routes())
	}
	if st := h.status(); st.Trust.Epoch != 2 {
		t.Errorf("epoch after the apply = %d, want 2 (the update committed)", st.Trust.Epoch)
	}
}

// TestBackendDiesBeforeAnApplysPush kills the backend plugin while an apply
// holds d.mu but has not reached the backend yet (its store append is
// held up): the apply's push then waits for the relaunched plugin, whose
// setup must not need d.mu — else the two wait for each other for ever.
func TestBackendDiesBeforeAnApplysPush(t *testing.T) {
	h := newHarness(t)
	h.start()
	h.mu.Lock()
	store, firstInst := h.stores[0], h.backInst[0]
	h.mu.Unlock()
	appending, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	store.SetFault(func(ctx context.Context, op string) error {
		if op == "Append" {
			once.Do(func() { close(appending) })
			<-release
		}
		return nil
	})
	applied := make(chan error, 1)
	go func() {
		_, err := h.d.ApplyUpdate(context.Background(), h.update(membership.Operation{Type: membership.OpRevokeNode, NodeID: "b"}, "alice", "bob"), false)
		applied <- err
	}()
	<-appending // the apply holds d.mu and the ledger's lock
	firstInst.Kill()
	// The relaunch begins while the apply is held up.
	polltest.Until(t, "the backend's relaunch", 30*time.Second, 5*time.Millisecond, func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return len(h.backInst) == 2
	})
	close(release)
	select {
	case err := <-applied:
		if err != nil {
			t.Fatalf("the apply: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the apply did not return within 30 s of the backend's relaunch: a deadlock")
	}
	if err := poll.Until(30*time.Second, 5*time.Millisecond, func() bool { p, err := h.peersNow(); return err == nil && !p["b"] && len(p) == 2 }); err != nil {
		p, perr := h.peersNow()
		t.Fatalf("the revoked node is still in the relaunched backend: peers %v (%v)", p, perr)
	}
}
