package conformance_test

import (
	"testing"

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
// feature it has, and with none: the capability gates (routes, gateway,
// filter) must pass both ways.
func TestInProcessBackendDouble(t *testing.T) {
	for _, tt := range []struct {
		name string
		caps hostapi.BackendCapabilities
	}{
		{"all", hostapi.BackendCapPeerStats | hostapi.BackendCapRoutes | hostapi.BackendCapPacketFilter | hostapi.BackendCapGateway},
		{"none", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			conformance.RunBackend(t, conformance.BackendTarget{Name: "hostapitest.Backend", New: func() hostapi.Backend { return hostapitest.NewBackend(tt.caps) }})
		})
	}
}
