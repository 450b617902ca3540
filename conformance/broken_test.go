package conformance_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/conformance"
	"github.com/rustynet/rustynet/hostapi"
)

// TestBrokenPluginsFail proves that the suite bites: each deliberately
// broken plugin under testdata/broken wraps a correct implementation with
// one defect, and must fail exactly the cases that observe that defect,
// and pass every other case, the handshake included.
//
// The broken stores wrap the example store, which keeps no checksums: like
// it, each fails the SHOULD cases on damaged files (exampleFails), which
// proves that those cases bite.
func TestBrokenPluginsFail(t *testing.T) {
	exampleFails := []string{"store.corrupt.entry", "store.corrupt.snapshot", "store.corrupt.files"}
	var invalid []string
	for _, c := range conformance.BackendCases() {
		if strings.HasPrefix(c.ID, "backend.invalid.") {
			invalid = append(invalid, c.ID)
		}
	}
	tests := []struct {
		plugin string
		kind   conformance.Kind
		want   []string // the failed cases, in suite order (stores: besides exampleFails)
	}{
		{"info-changes", conformance.KindStore, []string{"store.info.stable"}},
		{"accept-oversize", conformance.KindStore, []string{"store.large.over-limits"}},
		{"lose-appends", conformance.KindStore, []string{
			"store.durable.kill",
			"store.durable.kill-during-appends",
		}},
		// Every case that reads a range across entries 9 and 10 at once.
		{"reorder", conformance.KindStore, []string{
			"store.log.round-trip",
			"store.log.order",
			"store.reopen",
			"store.concurrent.append",
			"store.concurrent.read-while-append",
			"store.truncate.middle",
			"store.truncate.concurrent",
			"store.truncate.kill",
			"store.durable.kill",
			"store.durable.kill-during-appends",
		}},
		{"stdout-writer", conformance.KindStore, []string{"process.stdout.clean"}},
		{"torn-snapshot", conformance.KindStore, []string{"store.snapshot.atomic-kill"}},
		{"ignore-removals", conformance.KindBackend, []string{
			"backend.remove.immediate",
			"backend.traffic.remove-cuts",
		}},
		{"accept-invalid-peers", conformance.KindBackend, invalid},
		{"leak-on-close", conformance.KindBackend, []string{"backend.close.releases"}},
		// Every case that removes a route and looks again, in State or
		// by traffic.
		{"ignore-route-removals", conformance.KindBackend, []string{
			"backend.routes",
			"backend.routes.diff",
			"backend.routes.traffic",
			"backend.routes.default",
		}},
		{"refuse-overlap", conformance.KindBackend, []string{
			"backend.peers.overlap",
			"backend.traffic.longest-match",
		}},
		{"keep-gateway", conformance.KindBackend, []string{"backend.gateway.traffic"}},
		// Every filter case that sends traffic a proxied node can send
		// (ICMP it cannot: TestBrokenFilterFailsInNamespaces has it).
		{"ignore-filter", conformance.KindBackend, []string{
			"backend.filter.tcp",
			"backend.filter.udp",
			"backend.filter.ipv6",
			"backend.filter.change",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.plugin, func(t *testing.T) {
			launch := hostapi.LaunchConfig{Path: pluginPath(t, tt.plugin)}
			opts := conformance.Options{TempDir: t.TempDir()}
			var rep *conformance.Report
			var err error
			if tt.kind == conformance.KindStore {
				rep, err = conformance.RunStoreSuite(t.Context(), conformance.StoreTarget{Binary: launch}, opts)
			} else {
				rep, err = conformance.RunBackendSuite(t.Context(), conformance.BackendTarget{Binary: launch}, opts)
			}
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if tt.kind == conformance.KindStore {
				want = slices.Concat(want, exampleFails) // the last cases of the suite
			}
			for _, id := range want {
				if r := result(rep, id); r.Status == conformance.StatusSkip {
					t.Skipf("%s, which observes the defect, cannot run here: %s", id, r.Message)
				}
			}
			if diff := cmp.Diff(want, rep.Failed()); diff != "" {
				t.Errorf("failed cases (-want +got):\n%s", diff)
				for _, r := range rep.Results {
					if r.Status == conformance.StatusFail {
						t.Logf("%s: %s", r.ID, r.Message)
					}
				}
			}
			// A plugin that fails only SHOULD cases still conforms.
			mustFails := slices.ContainsFunc(tt.want, func(id string) bool { return result(rep, id).Level == conformance.Must })
			if got := rep.Conforms(); got == mustFails {
				t.Errorf("Conforms: got %v, want %v", got, !mustFails)
			}
			if got := result(rep, "process.handshake").Status; got != conformance.StatusPass {
				t.Errorf("process.handshake: got %s, want pass (the defect is elsewhere)", got)
			}
		})
	}
}

// result returns the result of case id in rep; its status is "" if the
// case did not run.
func result(rep *conformance.Report, id string) conformance.Result {
	for _, r := range rep.Results {
		if r.ID == id {
			return r
		}
	}
	return conformance.Result{ID: id}
}
