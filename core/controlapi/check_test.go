package controlapi

import "testing"

func TestCheck(t *testing.T) {
	healthy := Status{Node: NodeStatus{ID: "n1"}, Health: HealthStatus{State: HealthOK}, Trust: TrustStatus{Epoch: 3},
		Backend: BackendStatus{Name: "netstack"}, Peers: []PeerStatus{{}, {}}}
	degraded := healthy
	degraded.Health = HealthStatus{State: HealthDegraded, Reasons: []string{"the store plugin file is restarting", "the feed x has stalled"}}
	restricted := degraded
	restricted.Trust.Restricted, restricted.Trust.Reason = true, "INTEGRITY_FAILURE: log entry 3"
	tests := []struct {
		name string
		s    Status
		want CheckResult
	}{
		{"healthy", healthy, CheckResult{CheckHealthy, "healthy", "node n1 at epoch 3, backend netstack, 2 peers"}},
		{"degraded", degraded, CheckResult{CheckDegraded, "degraded", "the store plugin file is restarting; the feed x has stalled"}},
		{"restricted wins over degraded", restricted, CheckResult{CheckRestricted, "restricted", "restricted-safe mode: INTEGRITY_FAILURE: log entry 3"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.s.Check(); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
	if got, want := restricted.Check().Line(), "restricted: restricted-safe mode: INTEGRITY_FAILURE: log entry 3"; got != want {
		t.Errorf("Line: got %q, want %q", got, want)
	}
}
