package main

import (
	"bytes"
	"encoding/json"
	"regexp"
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
		"feed       https://example.org/log, applied through epoch 7 (STALLED: a fetch has been running for 45s; last success 10m ago; 3 fetches cut for stalling)\n",
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
		Feed: &controlapi.FeedStatus{Source: "https://feed.example/", State: controlapi.FeedOK, LastSuccess: now.Add(-time.Second),
			AppliedThrough: 4, Head: 1000, ServedBy: "https://mirror.example/", CatchingUp: &controlapi.FeedProgress{Base: 4, Through: 500, Head: 1000, Bytes: 2048},
			Skipped: []controlapi.FeedSkip{{Source: "https://feed.example/", Error: "STALE_EPOCH: rollback"}}},
	}
	var out bytes.Buffer
	printStatus(&env{stdout: &out, now: func() time.Time { return now }}, st)
	for _, want := range []string{
		"(FORKED: accepting no update; the data plane follows only what both sides agree on)\n",
		"fork       two quorum-signed updates extend epoch 3\n",
		"  floor    5 members; evidence /s.evidence/fork-4-a-b.json (check it: rustynet membership verify-evidence --genesis-root ROOT FILE)",
		"newest update created 2h ago — STALE (max_update_age 1h)\n",
		"; the feed's head is epoch 1000 (served by https://mirror.example/); CATCHING UP: verified through epoch 500 of 1000 (2.0 KiB so far); passed over https://feed.example/: STALE_EPOCH: rollback)\n",
		"sync       tcp/51871 over the backend relay: 12 rounds, last 1s ago; newest head heard: epoch 6 from n2, 3s ago; 2 updates from peers; BEHIND its peers: n2: EXPIRED\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("status lacks %q:\n%s", want, out.String())
		}
	}
}

// TestStatusUnits: status says byte counts and ages in units people read
// in text, and keeps raw numbers and timestamps in JSON.
func TestStatusUnits(t *testing.T) {
	handshake := time.Now().Add(-90 * time.Second).UTC().Truncate(time.Second)
	st := controlapi.Status{Node: controlapi.NodeStatus{ID: "n1"}, Peers: []controlapi.PeerStatus{
		{NodeID: "n2", Endpoint: "192.0.2.2:51820", AllowedIPs: []string{"100.64.0.2/32"}, LastHandshake: handshake, RxBytes: 4500, TxBytes: 3 << 29},
	}}
	sock := serveStatus(t, st)
	text := mustRun(t, "status", "--socket", sock).stdout
	if !regexp.MustCompile(`\nn2 +192\.0\.2\.2:51820 +100\.64\.0\.2/32 +1m3\ds ago +4\.4 KiB +1\.5 GiB\n`).MatchString(text) {
		t.Errorf("status does not show n2's traffic as 4.4 KiB and 1.5 GiB, 1m3Xs after its handshake:\n%s", text)
	}
	var got controlapi.Status
	if err := json.Unmarshal([]byte(mustRun(t, "--json", "status", "--socket", sock).stdout), &got); err != nil {
		t.Fatal(err)
	}
	if p := got.Peers[0]; p.RxBytes != 4500 || p.TxBytes != 3<<29 || !p.LastHandshake.Equal(handshake) {
		t.Errorf("status --json: got rx %d, tx %d, handshake %s; want 4500, %d, %s", p.RxBytes, p.TxBytes, p.LastHandshake, uint64(3<<29), handshake)
	}
}

func TestFormatBytes(t *testing.T) {
	for _, tt := range []struct {
		n    uint64
		want string
	}{
		{0, "0 B"}, {1023, "1023 B"}, {1024, "1.0 KiB"}, {4500, "4.4 KiB"}, {1048524, "1023.9 KiB"},
		{1048575, "1.0 MiB"}, {3 << 29, "1.5 GiB"}, {1 << 62, "4.0 EiB"}, {^uint64(0), "16.0 EiB"},
	} {
		if got := formatBytes(tt.n); got != tt.want {
			t.Errorf("formatBytes(%d): got %q, want %q", tt.n, got, tt.want)
		}
	}
}

func TestFormatAge(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{-time.Minute, "0s"}, {300 * time.Millisecond, "0s"}, {45 * time.Second, "45s"}, {10*time.Minute + 5*time.Second, "10m5s"},
		{time.Hour, "1h"}, {90*time.Minute + 29*time.Second, "1h30m"}, {47*time.Hour + 59*time.Minute, "47h59m"},
		{49*time.Hour + 20*time.Minute, "2d1h"}, {30 * 24 * time.Hour, "30d"},
	} {
		if got := formatAge(tt.d); got != tt.want {
			t.Errorf("formatAge(%s): got %q, want %q", tt.d, got, tt.want)
		}
	}
}
