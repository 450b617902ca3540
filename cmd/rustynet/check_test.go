package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
)

// fixedNode is a control API handler reporting a fixed status.
type fixedNode struct{ st controlapi.Status }

func (f fixedNode) Status(context.Context) (controlapi.Status, error) { return f.st, nil }
func (f fixedNode) ApplyUpdate(context.Context, []byte, bool) (controlapi.ApplyResult, error) {
	return controlapi.ApplyResult{}, errors.New("not here")
}
func (f fixedNode) Log(context.Context, uint64, int) (controlapi.LogHead, []*membership.SignedUpdate, error) {
	return controlapi.LogHead{}, nil, nil // a node without membership
}

// serveStatus serves st on a control socket for the test and returns it.
func serveStatus(t *testing.T, st controlapi.Status) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the test serves a Unix socket")
	}
	sock := filepath.Join(t.TempDir(), "c.sock")
	ln, err := controlapi.ListenConfig{}.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	auth, err := controlapi.NewAuthorizer("")
	if err != nil {
		t.Fatal(err)
	}
	srv := controlapi.NewServer(fixedNode{st}, auth, slog.New(slog.DiscardHandler), controlapi.Limits{})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	t.Cleanup(func() {
		srv.Shutdown(context.Background())
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return sock
}

// TestStatusCheckExitCodes: `status --check` prints one line and exits 0
// healthy, 1 degraded, 2 restricted, 3 unreachable.
func TestStatusCheckExitCodes(t *testing.T) {
	ok := controlapi.Status{Node: controlapi.NodeStatus{ID: "n1"}, Health: controlapi.HealthStatus{State: controlapi.HealthOK},
		Trust: controlapi.TrustStatus{Epoch: 4}, Backend: controlapi.BackendStatus{Name: "netstack"}}
	degraded := ok
	degraded.Health = controlapi.HealthStatus{State: controlapi.HealthDegraded, Reasons: []string{"the backend plugin netstack is restarting; last failure: process exited"}}
	restricted := degraded
	restricted.Health.Reasons = append([]string{"restricted-safe mode: INTEGRITY_FAILURE: entry 3"}, restricted.Health.Reasons...)
	restricted.Trust.Restricted, restricted.Trust.Reason = true, "INTEGRITY_FAILURE: entry 3"
	tests := []struct {
		name     string
		sock     func(t *testing.T) string
		wantExit int
		wantOut  string
	}{
		{"healthy", func(t *testing.T) string { return serveStatus(t, ok) }, 0, "healthy: node n1 at epoch 4, backend netstack, 0 peers\n"},
		{"degraded", func(t *testing.T) string { return serveStatus(t, degraded) }, 1, "degraded: the backend plugin netstack is restarting; last failure: process exited\n"},
		{"restricted", func(t *testing.T) string { return serveStatus(t, restricted) }, 2, "restricted: restricted-safe mode: INTEGRITY_FAILURE: entry 3\n"},
		{"unreachable", func(t *testing.T) string { return filepath.Join(t.TempDir(), "none.sock") }, 3, "unreachable: asking the daemon for its status: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runCLI(t, "status", "--check", "--socket", tt.sock(t))
			if r.exit != tt.wantExit || !strings.HasPrefix(r.stdout, tt.wantOut) || strings.Count(r.stdout, "\n") != 1 || r.stderr != "" {
				t.Errorf("got exit %d, stdout %q, stderr %q; want exit %d and one line starting %q", r.exit, r.stdout, r.stderr, tt.wantExit, tt.wantOut)
			}
		})
	}
	r := runCLI(t, "--json", "status", "--check", "--socket", serveStatus(t, restricted))
	var got controlapi.CheckResult
	if err := json.Unmarshal([]byte(r.stdout), &got); err != nil || r.exit != 2 || got.Level != controlapi.CheckRestricted || got.State != "restricted" {
		t.Errorf("--json: exit %d, %q (%v); want exit 2 and the restricted verdict", r.exit, r.stdout, err)
	}
}

func TestVersion(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}} {
		r := runCLI(t, args...)
		if r.exit != 0 || !strings.HasPrefix(r.stdout, "rustynet ") || !strings.Contains(r.stdout, "\ngo        go1.") ||
			!strings.Contains(r.stdout, "\nplugins   protocol 1\n") {
			t.Errorf("rustynet %s: exit %d\n%s%s", strings.Join(args, " "), r.exit, r.stdout, r.stderr)
		}
	}
	r := runCLI(t, "--json", "version")
	var v struct {
		Version   string `json:"version"`
		GoVersion string `json:"go_version"`
		Platform  string `json:"platform"`
		Protocols []int  `json:"plugin_protocols"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil || v.Version == "" || v.GoVersion == "" || v.Platform != runtime.GOOS+"/"+runtime.GOARCH || len(v.Protocols) != 1 {
		t.Errorf("version --json: %q (%v)", r.stdout, err)
	}
}

func TestPickSocket(t *testing.T) {
	exists := map[string]bool{"/run/rustynet/control.sock": true}
	tests := []struct {
		candidates []string
		want       string
	}{
		{[]string{"", "/run/user/1/rustynet/control.sock", "/run/rustynet/control.sock"}, "/run/rustynet/control.sock"},
		{[]string{"/run/user/1/rustynet/control.sock", "/x.sock"}, "/run/user/1/rustynet/control.sock"},
		{[]string{"", ""}, ""},
	}
	for _, tt := range tests {
		if got := pickSocket(tt.candidates, func(p string) bool { return exists[p] }); got != tt.want {
			t.Errorf("pickSocket(%q) = %q, want %q", tt.candidates, got, tt.want)
		}
	}
}
