package daemon

import (
	"strings"
	"testing"

	"github.com/rustynet/rustynet/core/controlapi"
)

// TestHealthShowsALaggingHighWaterMark checks that a high-water mark that
// cannot be written (ledger.Status.HighWaterError) makes the node
// degraded, saying why, until it catches up.
func TestHealthShowsALaggingHighWaterMark(t *testing.T) {
	var s controlapi.Status
	if h := health(s); h.State != controlapi.HealthOK {
		t.Fatalf("healthy node: got %+v, want ok", h)
	}
	s.Trust.HighWaterError = "write /state/hw.json: no space left on device"
	h := health(s)
	if h.State != controlapi.HealthDegraded || len(h.Reasons) != 1 || !strings.Contains(h.Reasons[0], "no space left on device") {
		t.Errorf("lagging mark: got %+v, want degraded with the write's error", h)
	}
}
