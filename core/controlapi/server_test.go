package controlapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/lockedbuf"
)

func TestStatusRoundTrip(t *testing.T) {
	at := time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC)
	want := Status{
		Node: NodeStatus{ID: "n1", NetworkID: "net", PublicKey: "cHVi"},
		Trust: TrustStatus{Epoch: 7, StateRoot: "aa", GenesisRoot: "bb", Restricted: true, Reason: "log tampered",
			LastRejected: &Rejection{Code: "THRESHOLD_NOT_MET", Message: "1 of 2", At: at}},
		Backend: BackendStatus{Name: "netstack", Plugin: PluginStatus{Name: "netstack", State: "running", Restarts: 2, LastError: "crashed"},
			Skipped: []SkippedBackend{{Name: "wgkernel", Reason: "no module"}, {Name: "wgtun", Reason: "no /dev/net/tun"}}, Isolated: "revoked"},
		Store: PluginStatus{Name: "file", State: "running"},
		Feed:  &FeedStatus{Source: "https://example.org/log", LastFetch: at, LastError: "timeout", AppliedThrough: 6},
		Peers: []PeerStatus{
			{NodeID: "n2", PublicKey: "azI=", Endpoint: "192.0.2.1:51820", AllowedIPs: []string{"100.64.0.2/32"}, LastHandshake: at, RxBytes: 1, TxBytes: 2},
			{NodeID: "n3", PublicKey: "azM=", AllowedIPs: []string{"100.64.0.3/32", "fd00::3/128"}},
		},
	}
	h := &fakeHandler{status: want}
	c := dialClient(t, startServer(t, h, allowAll, nil))
	got, err := c.Status(ctxT(t))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("got … want (-want +got):\n%s", diff)
	}
	self := selfPeer()
	if p := h.gotPeer; !h.peerOK || p.UID != self.UID || p.GID != self.GID || p.PID != self.PID {
		t.Errorf("handler saw peer %v (known %v), want this process (%v)", p, h.peerOK, self)
	}
}

func TestStatusOmitsZeroTimesAndNoFeed(t *testing.T) {
	h := &fakeHandler{status: Status{Peers: []PeerStatus{{NodeID: "n2"}}}}
	resp, err := rawClient(t, startServer(t, h, allowAll, nil)).Get("http://x/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, absent := range []string{"last_handshake", `"feed"`, "last_rejected"} {
		if strings.Contains(string(body), absent) {
			t.Errorf("got %s, want no %s", body, absent)
		}
	}
}

func TestApplyUpdateRoundTrip(t *testing.T) {
	for _, dryRun := range []bool{false, true} {
		t.Run(fmt.Sprintf("dry run %v", dryRun), func(t *testing.T) {
			want := ApplyResult{Applied: !dryRun, DryRun: dryRun, Epoch: 3, StateRoot: "cc", Changes: []string{"add node n4", "revoke n2"}, LatencyMicros: 1234}
			h := &fakeHandler{result: want}
			c := dialClient(t, startServer(t, h, allowAll, nil))
			update := []byte(`{"kind":"rustynet.membership.update","body":{}}`)
			got, err := c.ApplyUpdate(ctxT(t), update, dryRun)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("got … want (-want +got):\n%s", diff)
			}
			if !bytes.Equal(h.gotUpdate, update) || h.gotDryRun != dryRun {
				t.Errorf("handler got %q dryRun=%v, want %q dryRun=%v", h.gotUpdate, h.gotDryRun, update, dryRun)
			}
		})
	}
}

func TestErrorsCrossIntact(t *testing.T) {
	tests := []struct {
		name       string
		err        error
		wantIs     error
		wantStatus int // for *Error results
		check      func(t *testing.T, err error)
	}{
		{
			name:   "threshold not met",
			err:    &membership.Error{Code: membership.ThresholdNotMet, Msg: "1 of 2 approver signatures"},
			wantIs: membership.ErrThresholdNotMet,
			check: func(t *testing.T, err error) {
				var me *membership.Error
				if !errors.As(err, &me) || me.Error() != "THRESHOLD_NOT_MET: 1 of 2 approver signatures" {
					t.Errorf("got %v (%T), want *membership.Error THRESHOLD_NOT_MET: 1 of 2 approver signatures", err, err)
				}
			},
		},
		{name: "wrapped restricted mode", err: fmt.Errorf("apply: %w", &membership.Error{Code: membership.RestrictedMode, Msg: "ledger restricted"}), wantIs: membership.ErrRestrictedMode},
		{name: "code from a newer engine", err: &membership.Error{Code: "NEW_CODE", Msg: "m"}, wantIs: &membership.Error{Code: "NEW_CODE"}},
		{name: "usage", err: Errorf(CodeUsage, "not a signed update"), wantIs: ErrUsage, wantStatus: http.StatusBadRequest},
		{name: "unavailable", err: Errorf(CodeUnavailable, "backend restarting"), wantIs: ErrUnavailable, wantStatus: http.StatusServiceUnavailable},
		{name: "a plugin's UNAVAILABLE through the ledger", err: fmt.Errorf("ledger: appending entry 7: %w", hostapi.Errorf(hostapi.CodeUnavailable, "store plugin unreachable")),
			wantIs: ErrUnavailable, wantStatus: http.StatusServiceUnavailable},
		{name: "a broken plugin", err: fmt.Errorf("plugin store-file: %w (last failure: exit status 2)", hostapi.Errorf(hostapi.CodeUnavailable, "plugin crash-looped; the breaker is open")),
			wantIs: ErrUnavailable, wantStatus: http.StatusServiceUnavailable},
		{name: "a plugin closing with the daemon", err: hostapi.Errorf(hostapi.CodeClosed, "plugin store-file is closed"), wantIs: ErrUnavailable, wantStatus: http.StatusServiceUnavailable},
		{name: "a plugin's other errors stay internal", err: hostapi.Errorf(hostapi.CodeCorrupt, "bad snapshot"), wantIs: ErrInternal, wantStatus: http.StatusInternalServerError},
		{name: "plain error is internal", err: errors.New("disk on fire"), wantIs: ErrInternal, wantStatus: http.StatusInternalServerError,
			check: func(t *testing.T, err error) {
				if err.Error() != "INTERNAL: disk on fire" {
					t.Errorf("got %q, want INTERNAL: disk on fire", err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := &fakeHandler{applyErr: tt.err, statusErr: tt.err}
			c := dialClient(t, startServer(t, h, allowAll, nil))
			_, applyErr := c.ApplyUpdate(ctxT(t), []byte("{}"), false)
			_, statusErr := c.Status(ctxT(t))
			for _, err := range []error{applyErr, statusErr} {
				if !errors.Is(err, tt.wantIs) {
					t.Fatalf("got %v (%T), want errors.Is %v", err, err, tt.wantIs)
				}
				var e *Error
				if tt.wantStatus != 0 && (!errors.As(err, &e) || e.Status != tt.wantStatus) {
					t.Errorf("got %#v, want *Error with status %d", err, tt.wantStatus)
				}
				if tt.wantStatus == 0 && errors.As(err, &e) {
					t.Errorf("got *Error %v, want a *membership.Error", err)
				}
				if tt.check != nil {
					tt.check(t, err)
				}
			}
		})
	}
}

func TestHTTPStatusesAndBodies(t *testing.T) {
	h := &fakeHandler{applyErr: &membership.Error{Code: membership.BadSignature, Msg: "sig 0"}}
	refuse := AuthorizerFunc(func(p Peer) error { return fmt.Errorf("uid %d is not welcome", p.UID) })
	admitted := rawClient(t, startServer(t, h, allowAll, nil))
	refused := rawClient(t, startServer(t, &fakeHandler{}, refuse, nil))
	tests := []struct {
		name       string
		client     *http.Client
		method     string
		path       string
		body       string
		wantStatus int
		wantCode   string
	}{
		{"verification rejection", admitted, http.MethodPost, "/v1/apply-update", "{}", http.StatusUnprocessableEntity, "BAD_SIGNATURE"},
		{"bad dry_run", admitted, http.MethodPost, "/v1/apply-update?dry_run=perhaps", "{}", http.StatusBadRequest, CodeUsage},
		{"empty update", admitted, http.MethodPost, "/v1/apply-update", "", http.StatusBadRequest, CodeUsage},
		{"wrong method", admitted, http.MethodGet, "/v1/apply-update", "", http.StatusMethodNotAllowed, CodeUsage},
		{"wrong method on status", admitted, http.MethodDelete, "/v1/status", "", http.StatusMethodNotAllowed, CodeUsage},
		{"unknown endpoint", admitted, http.MethodGet, "/v2/status", "", http.StatusNotFound, CodeUsage},
		{"refused peer", refused, http.MethodGet, "/v1/status", "", http.StatusForbidden, CodeForbidden},
		{"refused peer on unknown endpoint", refused, http.MethodGet, "/nope", "", http.StatusForbidden, CodeForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctxT(t), tt.method, "http://x"+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := tt.client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body wireError
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("decoding the body: %v", err)
			}
			if resp.StatusCode != tt.wantStatus || body.Code != tt.wantCode || body.Message == "" {
				t.Errorf("got %d %+v, want %d with code %s and a message", resp.StatusCode, body, tt.wantStatus, tt.wantCode)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("got Content-Type %q, want application/json", ct)
			}
		})
	}
}

func TestUpdateSizeLimit(t *testing.T) {
	h := &fakeHandler{}
	path := startServer(t, h, allowAll, nil)
	raw := rawClient(t, path)
	post := func(t *testing.T, body io.Reader, length int64) int {
		t.Helper()
		req, err := http.NewRequestWithContext(ctxT(t), http.MethodPost, "http://x/v1/apply-update", body)
		if err != nil {
			t.Fatal(err)
		}
		req.ContentLength = length // -1: chunked, so the server cannot tell in advance
		resp, err := raw.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		return resp.StatusCode
	}
	tests := []struct {
		name       string
		size       int
		chunked    bool
		wantStatus int
	}{
		{"at the limit", MaxUpdateBytes, false, http.StatusOK},
		{"at the limit, chunked", MaxUpdateBytes, true, http.StatusOK},
		{"one byte over", MaxUpdateBytes + 1, false, http.StatusRequestEntityTooLarge},
		{"one byte over, chunked", MaxUpdateBytes + 1, true, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := h.callCount()
			length := int64(tt.size)
			var body io.Reader = bytes.NewReader(bytes.Repeat([]byte{'x'}, tt.size))
			if tt.chunked {
				length, body = -1, io.MultiReader(body) // hides the size
			}
			if got := post(t, body, length); got != tt.wantStatus {
				t.Fatalf("got HTTP %d, want %d", got, tt.wantStatus)
			}
			if called := h.callCount() > before; called != (tt.wantStatus == http.StatusOK) {
				t.Errorf("handler called: %v, want %v", called, tt.wantStatus == http.StatusOK)
			}
		})
	}
	t.Run("client refuses before sending", func(t *testing.T) {
		before := h.callCount()
		_, err := dialClient(t, path).ApplyUpdate(ctxT(t), make([]byte, MaxUpdateBytes+1), false)
		var e *Error
		if !errors.As(err, &e) || e.Code != CodeUsage || e.Status != http.StatusRequestEntityTooLarge || h.callCount() != before {
			t.Errorf("got %v, want USAGE with status 413 and no call", err)
		}
	})
}

func TestRefusalIsLogged(t *testing.T) {
	var logs lockedbuf.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	h := &fakeHandler{}
	refuse := AuthorizerFunc(func(p Peer) error { return errors.New("go away") })
	_, err := dialClient(t, startServer(t, h, refuse, logger)).Status(ctxT(t))
	if !errors.Is(err, ErrForbidden) {
		t.Fatalf("got %v, want FORBIDDEN", err)
	}
	if h.callCount() != 0 {
		t.Errorf("handler was called for a refused peer")
	}
	want := selfPeer().String()
	if got := logs.String(); !strings.Contains(got, want) || !strings.Contains(got, "go away") {
		t.Errorf("got log %q, want the peer (%s) and the reason", got, want)
	}
}

func TestClientReportsAMissingDaemon(t *testing.T) {
	path := testSocketPath(t)
	_, err := dialClient(t, path).Status(ctxT(t))
	var e *Error
	var me *membership.Error
	if err == nil || errors.As(err, &e) || errors.As(err, &me) || !strings.Contains(err.Error(), path) {
		t.Errorf("got %v, want a plain error naming %s", err, path)
	}
}

// TestRepeatedFailuresAreLoggedOncePerInterval fails the same request
// over and over (a broken store refusing every apply): the failure is
// logged once, not once per request.
func TestRepeatedFailuresAreLoggedOncePerInterval(t *testing.T) {
	var logs lockedbuf.Buffer
	h := &fakeHandler{statusErr: hostapi.Errorf(hostapi.CodeUnavailable, "the store plugin is restarting")}
	c := dialClient(t, startServer(t, h, allowAll, slog.New(slog.NewTextHandler(&logs, nil))))
	for range 50 {
		if _, err := c.Status(ctxT(t)); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("got %v, want UNAVAILABLE", err)
		}
	}
	if n := strings.Count(logs.String(), "request failed"); n != 1 {
		t.Errorf("50 identical failures logged %d times, want once:\n%s", n, logs.String())
	}
}

func TestUnavailableAsksToRetryLater(t *testing.T) {
	h := &fakeHandler{statusErr: hostapi.Errorf(hostapi.CodeUnavailable, "the store plugin is restarting")}
	resp, err := rawClient(t, startServer(t, h, allowAll, nil)).Get("http://x/v1/status")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("got %d with Retry-After %q, want 503 with a Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
}

// slowStatus is a handler whose status takes a while to gather.
type slowStatus struct {
	*fakeHandler
	took time.Duration
}

func (s slowStatus) Status(ctx context.Context) (Status, error) {
	time.Sleep(s.took)
	return s.fakeHandler.Status(ctx)
}

// TestStatusServerTiming checks that a status reply says, in its
// Server-Timing header, how long the daemon took to gather the status
// (here at least the handler's 30 ms) and to encode it.
func TestStatusServerTiming(t *testing.T) {
	c := rawClient(t, startServer(t, slowStatus{&fakeHandler{}, 30 * time.Millisecond}, allowAll, nil))
	req, err := http.NewRequestWithContext(ctxT(t), http.MethodGet, "http://x/v1/status", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	timing := resp.Header.Get("Server-Timing")
	var gather, encode float64
	if n, err := fmt.Sscanf(timing, "gather;dur=%g, encode;dur=%g", &gather, &encode); err != nil || n != 2 {
		t.Fatalf("Server-Timing %q: %v", timing, err)
	}
	if gather < 30 || encode < 0 || encode > gather {
		t.Errorf("Server-Timing %q: want gather ≥ 30 ms, encode a fraction of it", timing)
	}
}
