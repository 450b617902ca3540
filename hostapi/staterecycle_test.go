package hostapi_test

import (
	"context"
	"net/netip"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/hostapi/hostapitest"
)

// scribblingBackend answers State with a copy of its state and, when a
// result is handed back (hostapi.StateRecycler), overwrites it at once, as
// a backend reusing its memory would on its next read.
type scribblingBackend struct {
	fixedStateBackend
	recycled atomic.Int64
}

func (b *scribblingBackend) State(context.Context) (hostapi.InterfaceState, error) {
	st := b.state
	st.Peers = slices.Clone(st.Peers)
	return st, nil
}

func (b *scribblingBackend) RecycleState(st hostapi.InterfaceState) {
	for i := range st.Peers {
		st.Peers[i] = hostapi.PeerState{PublicKey: hostapi.Key{0: 0xff}}
	}
	b.recycled.Add(1)
}

// TestStateRecycled: the plugin's server hands every State result back
// (StateRecycler) and sends nothing of it afterwards — the host reads the
// state as it was even though the backend overwrites each result handed
// back — and replies filled in the columns of earlier ones (recyclingCodec,
// spareColumns) carry their own peers, not those of a reply before.
func TestStateRecycled(t *testing.T) {
	impl := &scribblingBackend{fixedStateBackend: fixedStateBackend{Backend: hostapitest.NewBackend(0), state: benchInterfaceState(300)}}
	c, err := hostapi.ServeBackendTest(t.Context(), impl)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Kill)
	for i := range 5 {
		impl.state = benchInterfaceState(300 - 50*i) // each reply smaller than the last: stale columns would show
		for _, p := range impl.state.Peers {
			impl.state.Routes = append(impl.state.Routes, p.AllowedIPs...)
		}
		got, err := c.State(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(impl.state.Peers, got.Peers, cmp.Comparer(func(a, b netip.Prefix) bool { return a == b }),
			cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
			t.Fatalf("read %d (-backend +host):\n%s", i, diff)
		}
		if !slices.Equal(impl.state.Routes, got.Routes) {
			t.Fatalf("read %d: routes %v, want %v", i, got.Routes, impl.state.Routes)
		}
	}
	if n := impl.recycled.Load(); n != 5 {
		t.Errorf("%d results handed back, want 5", n)
	}
}
