package main

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/controlapi"
)

// TestStatusShowsADegradedNode prints the status of a node whose store
// plugin is broken and whose feed has stalled: the operator sees that the
// node is degraded, why, and when the plugin is tried again.
func TestStatusShowsADegradedNode(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	st := controlapi.Status{
		Node: controlapi.NodeStatus{ID: "n1", NetworkID: "net", PublicKey: "cHVi"},
		Health: controlapi.HealthStatus{State: controlapi.HealthDegraded, Reasons: []string{
			"the store plugin store-file is broken (it crash-looped); next attempt at 2025-06-01T12:00:40Z; last failure: exit status 2",
			"the feed https://example.org/log has stalled",
		}},
		Backend: controlapi.BackendStatus{Name: "netstack", Plugin: controlapi.PluginStatus{Name: "netstack", State: "running", MissedPings: 1}},
		Store: controlapi.PluginStatus{Name: "store-file", State: "broken", Restarts: 6, LastError: "exit status 2",
			NextAttempt: now.Add(40 * time.Second)},
		Feed: &controlapi.FeedStatus{Source: "https://example.org/log", State: controlapi.FeedStalled, FetchingSince: now.Add(-45 * time.Second),
			LastSuccess: now.Add(-10 * time.Minute), Stalls: 3, AppliedThrough: 7},
	}
	var out bytes.Buffer
	printStatus(&env{stdout: &out, now: func() time.Time { return now }}, st)
	for _, want := range []string{
		"health     DEGRADED\n",
		"  - the store plugin store-file is broken (it crash-looped); next attempt at 2025-06-01T12:00:40Z; last failure: exit status 2\n",
		"  - the feed https://example.org/log has stalled\n",
		"backend    netstack (plugin running, 0 restarts, 1 health checks missed)\n",
		"store      store-file (BROKEN: it crash-looped, 6 restarts; next attempt in 40s; last failure: exit status 2)\n",
		"feed       https://example.org/log, applied through epoch 7 (STALLED: a fetch has been running for 45s; last success 10m0s ago; 3 fetches cut for stalling)\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
}

// TestStatusShowsForkStaleAndSync prints a forked, stale node that is
// behind its peers: each is said in words, with what to look at.
func TestStatusShowsForkStaleAndSync(t *testing.T) {
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	st := controlapi.Status{
		Node: controlapi.NodeStatus{ID: "n1", NetworkID: "net"},
		Trust: controlapi.TrustStatus{Epoch: 4, StateRoot: "ab", LastUpdateAt: now.Add(-2 * time.Hour), UpdateAgeSeconds: 7200,
			MaxUpdateAgeSeconds: 3600, Stale: true,
			Forked: &controlapi.ForkStatus{Epoch: 4, Summary: "two quorum-signed updates extend epoch 3", FloorMembers: 5, Evidence: "/s.evidence/fork-4-a-b.json"}},
		Sync: &controlapi.SyncStatus{Port: 51871, Transport: "backend relay", Rounds: 12, LastRound: now.Add(-time.Second),
			Newest: &controlapi.HeardHead{Peer: "n2", Epoch: 6, At: now.Add(-3 * time.Second)}, Applied: 2, Behind: true, LastError: "n2: EXPIRED"},
	}
	var out bytes.Buffer
	printStatus(&env{stdout: &out, now: func() time.Time { return now }}, st)
	for _, want := range []string{
		"(FORKED: accepting no update; the data plane follows only what both sides agree on)\n",
		"fork       two quorum-signed updates extend epoch 3\n",
		"  floor    5 members; evidence /s.evidence/fork-4-a-b.json (check it: rustynet membership verify-evidence --genesis-root ROOT FILE)",
		"newest update created 2h0m0s ago — STALE (max_update_age 1h0m0s)\n",
		"sync       tcp/51871 over the backend relay: 12 rounds, last 1s ago; newest head heard: epoch 6 from n2, 3s ago; 2 updates from peers; BEHIND its peers: n2: EXPIRED\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
}
