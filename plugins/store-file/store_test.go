package storefile_test

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/rustynet/rustynet/conformance"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/crashtest"
	"github.com/rustynet/rustynet/internal/testbin"
	"github.com/rustynet/rustynet/plugins/internal/storebench"
	storefile "github.com/rustynet/rustynet/plugins/store-file"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newStore() hostapi.Store { return storefile.New(nil) }

// TestConformanceInProcess runs the conformance suite against stores
// served in this process, across a real gRPC connection, where the race
// detector and the leak check see the store's own code. The store promises
// the SHOULD cases too (it detects damage), so they must pass.
func TestConformanceInProcess(t *testing.T) {
	conformance.RunStore(t, conformance.StoreTarget{Name: "store-file (in process)", New: newStore},
		conformance.Options{Strict: true})
}

// TestConformanceBinary runs the whole suite against the plugin binary,
// launched as the daemon launches it: this adds the process cases, the
// lock between processes, and durability across SIGKILL
// (crashtest.Iterations kills per case).
func TestConformanceBinary(t *testing.T) {
	bin := testbin.Package(t, "github.com/rustynet/rustynet/plugins/store-file/cmd/rustynet-store-file", "rustynet-store-file")
	conformance.RunStore(t, conformance.StoreTarget{Binary: hostapi.LaunchConfig{Path: bin}},
		conformance.Options{Strict: true, CrashIterations: crashtest.Iterations(t)})
}

func BenchmarkAppend(b *testing.B) { storebench.Append(b, newStore) }

func BenchmarkPutSnapshot(b *testing.B) { storebench.PutSnapshot(b, newStore) }
