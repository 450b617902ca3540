package metrics

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/rustynet/rustynet/core/controlapi"
)

// fakeSource reports a fixed status, or err.
type fakeSource struct {
	s   controlapi.Status
	err error
}

func (f *fakeSource) Status(context.Context) (controlapi.Status, error) { return f.s, f.err }

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func sampleStatus() controlapi.Status {
	return controlapi.Status{
		Node:   controlapi.NodeStatus{ID: "n1"},
		Build:  controlapi.BuildStatus{Version: "v1.2.3", Revision: "abc", GoVersion: "go1.26.0", Protocols: []int{1}},
		Health: controlapi.HealthStatus{State: controlapi.HealthDegraded, Reasons: []string{"the backend plugin netstack is restarting"}},
		Trust: controlapi.TrustStatus{Epoch: 7, FilterRules: 4, LastUpdateAt: now.Add(-90 * time.Second), Stale: true,
			LastRejected: &controlapi.Rejection{Code: "THRESHOLD_NOT_MET"}},
		Backend: controlapi.BackendStatus{Name: "netstack", Plugin: controlapi.PluginStatus{Name: "netstack", State: "restarting", Restarts: 2}},
		Store:   controlapi.PluginStatus{Name: "file", State: "running", MissedPings: 1},
		Feed:    &controlapi.FeedStatus{Source: "/feed", State: controlapi.FeedStalled, Stalls: 3, LastSuccess: now.Add(-time.Hour)},
		Peers: []controlapi.PeerStatus{
			{NodeID: "n2", PublicKey: "K2", LastHandshake: now.Add(-30 * time.Second), RxBytes: 100, TxBytes: 200},
			{NodeID: "n3", PublicKey: "K3"},
		},
	}
}

// scrape serves m on a loopback port and scrapes it as Prometheus would,
// parsing the exposition with the client library's parser.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	body, code := get(t, m, "/metrics")
	if code != http.StatusOK {
		t.Fatalf("GET /metrics: %d\n%s", code, body)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parsing the exposition: %v\n%s", err, body)
	}
	return fams
}

// get serves m on a loopback listener for one request.
func get(t *testing.T, m *Metrics, path string) (string, int) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := m.Serve(ln)
	defer func() {
		if err := srv.Shutdown(context.Background()); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	}()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := c.Get("http://" + srv.Addr().String() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b), resp.StatusCode
}

// value returns the value of the series of family name whose labels
// include want, or fails.
func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("no metric %s", name)
	}
next:
	for _, m := range f.GetMetric() {
		labels := map[string]string{}
		for _, l := range m.GetLabel() {
			labels[l.GetName()] = l.GetValue()
		}
		for k, v := range want {
			if labels[k] != v {
				continue next
			}
		}
		switch {
		case m.Gauge != nil:
			return m.GetGauge().GetValue()
		case m.Counter != nil:
			return m.GetCounter().GetValue()
		case m.Histogram != nil:
			return float64(m.GetHistogram().GetSampleCount())
		}
	}
	t.Fatalf("no series of %s with labels %v", name, want)
	return 0
}

func TestScrape(t *testing.T) {
	defer goleak.VerifyNone(t)
	m := New(&fakeSource{s: sampleStatus()}, func() time.Time { return now })
	rec := m.Recorder()
	rec.UpdateApplied(3 * time.Millisecond)
	rec.UpdateApplied(40 * time.Millisecond)
	rec.UpdateRejected("THRESHOLD_NOT_MET")
	rec.UpdateRejected("THRESHOLD_NOT_MET")
	rec.UpdateRejected("REPLAYED_UPDATE")
	rec.FeedFetched(controlapi.FeedFailing)

	fams := scrape(t, m)
	tests := []struct {
		name   string
		labels map[string]string
		want   float64
	}{
		{"rustynet_build_info", map[string]string{"version": "v1.2.3", "revision": "abc", "go_version": "go1.26.0", "protocols": "1"}, 1},
		{"rustynet_status_up", nil, 1},
		{"rustynet_membership_epoch", nil, 7},
		{"rustynet_membership_last_update_timestamp_seconds", nil, float64(now.Add(-90 * time.Second).Unix())},
		{"rustynet_membership_last_update_age_seconds", nil, 90},
		{"rustynet_membership_restricted", nil, 0},
		{"rustynet_membership_forked", nil, 0},
		{"rustynet_membership_stale", nil, 1},
		{"rustynet_health_degraded", nil, 1},
		{"rustynet_health_check_level", nil, 1},
		{"rustynet_update_apply_duration_seconds", nil, 2},
		{"rustynet_update_rejections_total", map[string]string{"code": "THRESHOLD_NOT_MET"}, 2},
		{"rustynet_update_rejections_total", map[string]string{"code": "REPLAYED_UPDATE"}, 1},
		{"rustynet_plugin_up", map[string]string{"kind": "store", "plugin": "file"}, 1},
		{"rustynet_plugin_up", map[string]string{"kind": "backend", "plugin": "netstack"}, 0},
		{"rustynet_plugin_state", map[string]string{"kind": "backend", "state": "restarting"}, 1},
		{"rustynet_plugin_state", map[string]string{"kind": "backend", "state": "running"}, 0},
		{"rustynet_plugin_restarts_total", map[string]string{"kind": "backend"}, 2},
		{"rustynet_plugin_missed_health_checks", map[string]string{"kind": "store"}, 1},
		{"rustynet_peers", nil, 2},
		{"rustynet_peer_last_handshake_age_seconds", map[string]string{"node_id": "n2", "public_key": "K2"}, 30},
		{"rustynet_peer_last_handshake_timestamp_seconds", map[string]string{"node_id": "n3"}, 0},
		{"rustynet_peer_receive_bytes_total", map[string]string{"node_id": "n2"}, 100},
		{"rustynet_peer_transmit_bytes_total", map[string]string{"node_id": "n2"}, 200},
		{"rustynet_policy_filter_rules", nil, 4},
		{"rustynet_feed_fetches_total", map[string]string{"result": "failing"}, 1},
		{"rustynet_feed_fetches_total", map[string]string{"result": "ok"}, 0},
		{"rustynet_feed_stalls_total", nil, 3},
		{"rustynet_feed_stalled", nil, 1},
		{"rustynet_feed_last_success_timestamp_seconds", nil, float64(now.Add(-time.Hour).Unix())},
	}
	for _, tt := range tests {
		if got := value(t, fams, tt.name, tt.labels); got != tt.want {
			t.Errorf("%s%v: got %v, want %v", tt.name, tt.labels, got, tt.want)
		}
	}
	for _, p := range []string{"rustynet_peer_last_handshake_age_seconds"} {
		if n := len(fams[p].GetMetric()); n != 1 {
			t.Errorf("%s: got %d series, want 1 (a peer that never shook hands has no age)", p, n)
		}
	}
	for name, f := range fams {
		if f.GetType() == dto.MetricType_COUNTER && !strings.HasSuffix(name, "_total") {
			t.Errorf("counter %s does not end in _total", name)
		}
		if !strings.HasPrefix(name, "rustynet_") && !strings.HasPrefix(name, "go_") && !strings.HasPrefix(name, "process_") && !strings.HasPrefix(name, "promhttp_") {
			t.Errorf("metric %s has no rustynet_ prefix", name)
		}
	}
	if lint := testLint(t, m); len(lint) > 0 {
		t.Errorf("naming problems:\n%s", strings.Join(lint, "\n"))
	}
}

func TestScrapeWithoutStatus(t *testing.T) {
	m := New(&fakeSource{err: errors.New("daemon closing")}, nil)
	fams := scrape(t, m)
	if got := value(t, fams, "rustynet_status_up", nil); got != 0 {
		t.Errorf("rustynet_status_up: got %v, want 0", got)
	}
	if _, ok := fams["rustynet_membership_epoch"]; ok {
		t.Error("an epoch was reported without a status")
	}
}

func TestHealthz(t *testing.T) {
	healthy := sampleStatus()
	healthy.Health = controlapi.HealthStatus{State: controlapi.HealthOK}
	restricted := sampleStatus()
	restricted.Trust.Restricted, restricted.Trust.Reason = true, "INTEGRITY_FAILURE: bad log"
	forked := sampleStatus()
	forked.Trust.Forked = &controlapi.ForkStatus{Epoch: 3, Summary: "two updates extend epoch 2"}
	tests := []struct {
		name     string
		src      *fakeSource
		wantCode int
		wantBody string
	}{
		{"healthy", &fakeSource{s: healthy}, 200, "healthy: node n1 at epoch 7, backend netstack, 2 peers\n"},
		{"degraded", &fakeSource{s: sampleStatus()}, 503, "degraded: the backend plugin netstack is restarting\n"},
		{"restricted", &fakeSource{s: restricted}, 503, "restricted: restricted-safe mode: INTEGRITY_FAILURE: bad log\n"},
		{"forked", &fakeSource{s: forked}, 503, "restricted: forked: two updates extend epoch 2\n"},
		{"no status", &fakeSource{err: errors.New("closing")}, 503, "unreachable: reading the daemon's status: closing\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, code := get(t, New(tt.src, nil), "/healthz")
			if diff := cmp.Diff([2]any{tt.wantCode, tt.wantBody}, [2]any{code, body}); diff != "" {
				t.Errorf("got … want (-want +got):\n%s", diff)
			}
		})
	}
}
