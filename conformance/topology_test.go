package conformance_test

import (
	"os"
	"regexp"
	"testing"

	"github.com/google/go-cmp/cmp"

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

// TestBrokenRoutesFailInNamespaces proves that the route cases which read
// a node's routing table or send traffic through an OS interface bite:
// each plugin wraps the wgtun backend with one defect in how it installs
// routes, and runs with every instance in a network namespace of its own.
func TestBrokenRoutesFailInNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	run := regexp.MustCompile(`^backend\.routes`)
	for _, tt := range []struct {
		plugin string
		want   []string // the failed cases, in suite order
	}{
		{"default-route-loop", []string{"backend.routes.default"}},
		{"remove-foreign-routes", []string{"backend.routes.implied", "backend.routes.foreign"}},
	} {
		t.Run(tt.plugin, func(t *testing.T) {
			rep, err := conformance.RunBackendSuite(t.Context(), conformance.BackendTarget{
				Binary:   hostapi.LaunchConfig{Path: pluginPath(t, tt.plugin)},
				Topology: conformance.Namespaces(),
			}, conformance.Options{Match: run.MatchString, TempDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range tt.want {
				if r := result(rep, id); r.Status == conformance.StatusSkip {
					t.Skipf("%s, which observes the defect, cannot run here: %s", id, r.Message)
				}
			}
			if diff := cmp.Diff(tt.want, rep.Failed()); diff != "" {
				t.Errorf("failed cases (-want +got):\n%s", diff)
				for _, r := range rep.Results {
					if r.Status == conformance.StatusFail {
						t.Logf("%s: %s", r.ID, r.Message)
					}
				}
			}
			for _, r := range rep.Results {
				if r.Status == conformance.StatusSkip {
					t.Errorf("%s skipped in namespaces: %s", r.ID, r.Message)
				}
			}
		})
	}
}

// TestBrokenFilterFailsInNamespaces proves that the filter cases bite on a
// backend with an OS interface, ICMP included: ignore-filter wrapping the
// wgtun backend, every instance in a network namespace of its own, fails
// every filter case that sends traffic, and the real wgtun backend passes
// them all.
func TestBrokenFilterFailsInNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	run := regexp.MustCompile(`^backend\.filter`)
	for _, tt := range []struct {
		name   string
		launch hostapi.LaunchConfig
		want   []string // the failed cases, in suite order
	}{
		{"ignore-filter on wgtun", hostapi.LaunchConfig{Path: pluginPath(t, "ignore-filter"), Args: []string{"wgtun"}}, []string{
			"backend.filter.tcp",
			"backend.filter.udp",
			"backend.filter.icmp",
			"backend.filter.ipv6",
			"backend.filter.change",
		}},
		{"wgtun", hostapi.LaunchConfig{Path: pluginPath(t, "rustynet-backend-wgtun")}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rep, err := conformance.RunBackendSuite(t.Context(), conformance.BackendTarget{Binary: tt.launch, Topology: conformance.Namespaces()},
				conformance.Options{Match: run.MatchString, TempDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, rep.Failed()); diff != "" {
				t.Errorf("failed cases (-want +got):\n%s", diff)
				for _, r := range rep.Results {
					if r.Status == conformance.StatusFail {
						t.Logf("%s: %s", r.ID, r.Message)
					}
				}
			}
			for _, r := range rep.Results {
				if r.Status == conformance.StatusSkip {
					t.Errorf("%s skipped in namespaces: %s", r.ID, r.Message)
				}
			}
		})
	}
}
