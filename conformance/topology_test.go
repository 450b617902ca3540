package conformance_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/rustynet/rustynet/conformance"
	"github.com/rustynet/rustynet/hostapi"
)

// TestNamespacesTopology runs traffic, read-back, release and interop cases
// with every instance in a network namespace of its own, joined by a veth:
// the topology OS-interface backends need. The plugins are netstack-based
// test plugins whose defects these cases do not observe.
func TestNamespacesTopology(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	run := regexp.MustCompile(`^backend\.(configure\.read-back|close\.releases|traffic\.(handshake|stats|remove-cuts)|interop)$`)
	rep, err := conformance.RunBackendSuite(t.Context(), conformance.BackendTarget{
		Binary:    hostapi.LaunchConfig{Path: pluginPath(t, "ignore-removals")},
		Topology:  conformance.Namespaces(),
		Reference: &conformance.BackendTarget{Binary: hostapi.LaunchConfig{Path: pluginPath(t, "leak-on-close")}},
	}, conformance.Options{Match: run.MatchString, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]conformance.Status{
		"backend.configure.read-back": conformance.StatusPass,
		"backend.close.releases":      conformance.StatusPass,
		"backend.traffic.handshake":   conformance.StatusPass,
		"backend.traffic.stats":       conformance.StatusPass,
		"backend.traffic.remove-cuts": conformance.StatusFail, // ignore-removals' defect, seen across namespaces too
		"backend.interop":             conformance.StatusPass,
	}
	if len(rep.Results) != len(want) {
		t.Errorf("ran %d cases, want %d", len(rep.Results), len(want))
	}
	for _, r := range rep.Results {
		if r.Status != want[r.ID] {
			t.Errorf("%s: got %s (%s), want %s", r.ID, r.Status, r.Message, want[r.ID])
		}
	}
}
