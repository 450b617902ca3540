package controlapi

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStatusPeerDetail(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	full := Status{
		Node:   NodeStatus{ID: "n1"},
		Health: HealthStatus{State: HealthOK},
		Peers: []PeerStatus{
			{NodeID: "n2", AllowedIPs: []string{"100.64.0.2/32"}, LastHandshake: at, RxBytes: 1, TxBytes: 2},
			{NodeID: "n3", AllowedIPs: []string{"100.64.0.3/32"}, LastHandshake: at.Add(time.Minute), RxBytes: 10, TxBytes: 20},
			{NodeID: "n4", AllowedIPs: []string{"100.64.0.4/32"}},
		},
	}
	h := &fakeHandler{status: full}
	c := dialClient(t, startServer(t, h, allowAll, nil))
	for _, tc := range []struct {
		detail PeerDetail
		want   Status
	}{
		{PeersAll, full},
		{"", full},
		{PeersSummary, Status{Node: full.Node, Health: full.Health, Peers: []PeerStatus{},
			PeerSummary: &PeerSummary{Peers: 3, Handshaken: 2, LatestHandshake: at.Add(time.Minute), RxBytes: 11, TxBytes: 22}}},
		{PeersNone, Status{Node: full.Node, Health: full.Health, Peers: []PeerStatus{}}},
	} {
		t.Run(string(tc.detail), func(t *testing.T) {
			got, err := c.StatusPeers(ctxT(t), tc.detail)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("got … want (-want +got):\n%s", diff)
			}
		})
	}
	if got, want := full.WithPeers(PeersSummary).Check().Reason, "node n1 at epoch 0, backend , 3 peers"; got != want {
		t.Errorf("check of the summary: %q, want %q", got, want)
	}
	if len(h.status.Peers) != 3 || h.status.PeerSummary != nil {
		t.Errorf("the handler's status was modified: %d peers, summary %v", len(h.status.Peers), h.status.PeerSummary)
	}
}

func TestStatusPeerDetailInvalid(t *testing.T) {
	h := &fakeHandler{status: Status{Peers: []PeerStatus{{NodeID: "n2"}}}}
	resp, err := rawClient(t, startServer(t, h, allowAll, nil)).Get("http://x/v1/status?peers=some")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var e struct{ Code string }
	if resp.StatusCode != http.StatusBadRequest || json.Unmarshal(body, &e) != nil || e.Code != CodeUsage {
		t.Errorf("got %d %s, want 400 with code %s", resp.StatusCode, body, CodeUsage)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.calls != 0 {
		t.Errorf("the handler was called %d times for a malformed request, want 0", h.calls)
	}
}

// summaryHandler is a fakeHandler that also gathers summaries itself.
type summaryHandler struct {
	*fakeHandler
	asked []PeerDetail
}

func (h *summaryHandler) StatusSummary(_ context.Context, d PeerDetail) (Status, error) {
	h.asked = append(h.asked, d)
	return Status{Node: NodeStatus{ID: "from StatusSummary"}, Peers: []PeerStatus{}}, nil
}

// TestStatusAsksASummaryHandler: a handler that gathers summaries itself
// is asked for them, and only for them.
func TestStatusAsksASummaryHandler(t *testing.T) {
	h := &summaryHandler{fakeHandler: &fakeHandler{status: Status{Node: NodeStatus{ID: "from Status"}, Peers: []PeerStatus{{NodeID: "n2"}}}}}
	c := dialClient(t, startServer(t, h, allowAll, nil))
	for _, tc := range []struct {
		detail PeerDetail
		want   string
	}{{PeersAll, "from Status"}, {PeersSummary, "from StatusSummary"}, {PeersNone, "from StatusSummary"}} {
		got, err := c.StatusPeers(ctxT(t), tc.detail)
		if err != nil || got.Node.ID != tc.want {
			t.Errorf("%s: %q, %v; want the status %s", tc.detail, got.Node.ID, err, tc.want)
		}
	}
	if want := []PeerDetail{PeersSummary, PeersNone}; !slices.Equal(h.asked, want) {
		t.Errorf("StatusSummary asked for %v, want %v", h.asked, want)
	}
}
