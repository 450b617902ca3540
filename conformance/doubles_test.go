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

func TestInProcessBackendDouble(t *testing.T) {
	caps := hostapi.BackendCapPeerStats | hostapi.BackendCapRoutes | hostapi.BackendCapPacketFilter
	conformance.RunBackend(t, conformance.BackendTarget{Name: "hostapitest.Backend", New: func() hostapi.Backend { return hostapitest.NewBackend(caps) }})
}
