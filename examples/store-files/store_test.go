package storefiles_test

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/rustynet/rustynet/conformance"
	storefiles "github.com/rustynet/rustynet/examples/store-files"
	"github.com/rustynet/rustynet/hostapi"
)

// TestConformanceInProcess runs the suite against the store served inside
// the test process, across a real gRPC connection: quick, and enough for
// every case that does not need a process of its own.
func TestConformanceInProcess(t *testing.T) {
	conformance.RunStore(t, conformance.StoreTarget{
		Name: "storefiles (in process)",
		New:  func() hostapi.Store { return &storefiles.Store{} },
	})
}

// TestConformanceBinary builds the plugin and runs the whole suite against
// the binary, launched as the daemon launches it: this adds the process
// cases and durability across SIGKILL.
func TestConformanceBinary(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "rustynet-store-files")
	build := exec.CommandContext(t.Context(), "go", "build", "-o", bin, "./cmd/rustynet-store-files")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	conformance.RunStore(t, conformance.StoreTarget{Binary: hostapi.LaunchConfig{Path: bin}})
}
