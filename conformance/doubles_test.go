package conformance_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/conformance"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/hostapi/hostapitest"
)

// The hostapi test doubles honour their contracts clause by clause, so the
// suite must pass them in process: every case that runs passes, and the
// ones they cannot meet (durability across SIGKILL, permissions, traffic)
// skip.

func TestInProcessStoreDouble(t *testing.T) {
	disk := hostapitest.NewDisk()
	conformance.RunStore(t, conformance.StoreTarget{Name: "hostapitest.Store", New: func() hostapi.Store { return disk.NewStore() }})
}

// TestInProcessBackendDouble runs the backend double with every optional
// feature it has: it must conform.
func TestInProcessBackendDouble(t *testing.T) {
	caps := hostapi.BackendCapPeerStats | hostapi.BackendCapRoutes | hostapi.BackendCapPacketFilter | hostapi.BackendCapGateway
	conformance.RunBackend(t, conformance.BackendTarget{Name: "hostapitest.Backend", New: func() hostapi.Backend { return hostapitest.NewBackend(caps) }})
}

// TestInProcessBackendDoubleWithout runs the backend double without any
// optional feature: the capability gates of routes and the gateway pass
// both ways, but the packet filter is not optional (SPEC §7), so the
// filter cases that run in process fail it, and only they.
func TestInProcessBackendDoubleWithout(t *testing.T) {
	rep, err := conformance.RunBackendSuite(t.Context(), conformance.BackendTarget{
		Name: "hostapitest.Backend", New: func() hostapi.Backend { return hostapitest.NewBackend(0) },
	}, conformance.Options{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"backend.filter", "backend.filter.invalid"}, rep.Failed()); diff != "" {
		t.Errorf("failed cases (-want +got):\n%s", diff)
		for _, r := range rep.Results {
			if r.Status == conformance.StatusFail {
				t.Logf("%s: %s", r.ID, r.Message)
			}
		}
	}
}
