package hostapi_test

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/hostapi"
)

// testTimeout bounds any single wait in the subprocess tests; the shared
// machine can be slow, so it is generous, and success never waits for it.
const testTimeout = 30 * time.Second

func selfPath(t *testing.T) string {
	t.Helper()
	p, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func helperConfig(t *testing.T, mode string, logger *slog.Logger) hostapi.LaunchConfig {
	return hostapi.LaunchConfig{
		Path:   selfPath(t),
		Env:    []string{helperEnv + "=" + mode},
		Logger: logger,
	}
}

func launchStore(t *testing.T, cfg hostapi.LaunchConfig) *hostapi.StoreClient {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	c, err := hostapi.LaunchStore(ctx, cfg)
	if err != nil {
		t.Fatalf("LaunchStore: %v", err)
	}
	t.Cleanup(c.Kill)
	return c
}

func wantCode(t *testing.T, err error, want hostapi.Code) {
	t.Helper()
	if got := hostapi.CodeOf(err); got != want {
		t.Fatalf("error %v: got code %s, want %s", err, got, want)
	}
}

func TestLaunchStoreServesOverProcessBoundary(t *testing.T) {
	sum, err := hostapi.FileSHA256(selfPath(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg := helperConfig(t, "store", nil)
	cfg.SHA256 = strings.ToUpper(sum)
	c := launchStore(t, cfg)
	ctx := t.Context()

	if c.Pid() <= 0 || c.Pid() == os.Getpid() {
		t.Errorf("Pid() = %d, want the plugin's own pid", c.Pid())
	}
	if got := c.ProtocolVersion(); got != hostapi.ProtocolVersion {
		t.Errorf("ProtocolVersion() = %d, want %d", got, hostapi.ProtocolVersion)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	info, err := c.Info(ctx)
	if err != nil || info.Name != "memory" {
		t.Fatalf("Info = %+v, %v; want the memory store", info, err)
	}
	if err := c.Open(ctx, hostapi.StoreConfig{Dir: t.TempDir()}); err != nil {
		t.Fatalf("Open: %v", err)
	}
	want := []hostapi.LogEntry{{Index: 1, Data: []byte("one")}, {Index: 2, Data: []byte("two")}}
	for _, e := range want {
		if err := c.Append(ctx, e); err != nil {
			t.Fatalf("Append(%d): %v", e.Index, err)
		}
	}
	got, err := c.ReadLog(ctx, 1, 10)
	if err != nil {
		t.Fatalf("ReadLog: %v", err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ReadLog mismatch (-want +got):\n%s", diff)
	}
	if err := c.Append(ctx, hostapi.LogEntry{Index: 7, Data: []byte("x")}); !errors.Is(err, hostapi.ErrConflict) {
		t.Errorf("Append at a gap: got %v, want ErrConflict", err)
	}

	pid := c.Pid()
	c.Kill()
	select {
	case <-c.Done():
	default:
		t.Fatal("Done() not closed after Kill")
	}
	if !c.Exited() {
		t.Error("Exited() = false after Kill")
	}
	if processAlive(pid) {
		t.Errorf("plugin process %d still alive after Kill", pid)
	}
	wantCode(t, c.Ping(ctx), hostapi.CodeUnavailable)
	_, err = c.Head(ctx)
	wantCode(t, err, hostapi.CodeUnavailable)
}

func TestLaunchBackendServesOverProcessBoundary(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	c, err := hostapi.LaunchBackend(ctx, helperConfig(t, "backend", nil))
	if err != nil {
		t.Fatalf("LaunchBackend: %v", err)
	}
	t.Cleanup(c.Kill)
	if err := c.Configure(ctx, hostapi.InterfaceConfig{Addresses: []netip.Prefix{netip.MustParsePrefix("100.64.0.1/32")}}); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	peer := hostapi.PeerConfig{PublicKey: hostapi.Key{1}, AllowedIPs: []netip.Prefix{netip.MustParsePrefix("100.64.0.2/32")}}
	if err := c.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{peer}}); err != nil {
		t.Fatalf("ApplyPeers: %v", err)
	}
	st, err := c.State(ctx)
	if err != nil {
		t.Fatalf("State: %v", err)
	}
	if len(st.Peers) != 1 || st.Peers[0].PublicKey != peer.PublicKey {
		t.Errorf("State peers = %+v, want the one peer applied", st.Peers)
	}
	err = c.ApplyPeers(ctx, hostapi.PeerChanges{Upsert: []hostapi.PeerConfig{{PublicKey: hostapi.Key{}}}})
	if !errors.Is(err, hostapi.ErrInvalidArgument) {
		t.Errorf("ApplyPeers with a zero key: got %v, want ErrInvalidArgument", err)
	}
}

func TestLaunchRefusesBadPins(t *testing.T) {
	self := selfPath(t)
	actual, err := hostapi.FileSHA256(self)
	if err != nil {
		t.Fatal(err)
	}
	wrong := strings.Repeat("ab", 32)
	tests := []struct {
		name     string
		pin      string
		wantCode hostapi.Code
		wantText []string
	}{
		{"mismatch", wrong, hostapi.CodePermission, []string{"expected " + wrong, "actual " + actual, "refusing"}},
		{"not hex", "not-a-hash", hostapi.CodeInvalidArgument, []string{"not-a-hash"}},
		{"too short", actual[:62], hostapi.CodeInvalidArgument, []string{"64 hex digits"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := helperConfig(t, "store", nil)
			cfg.SHA256 = tt.pin
			c, err := hostapi.LaunchStore(t.Context(), cfg)
			if err == nil {
				c.Kill()
				t.Fatal("LaunchStore succeeded, want a refusal")
			}
			wantCode(t, err, tt.wantCode)
			for _, s := range tt.wantText {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q does not contain %q", err, s)
				}
			}
		})
	}
}

func TestLaunchFailsClearlyOnBadHandshake(t *testing.T) {
	tests := []struct {
		name         string
		mode         string
		startTimeout time.Duration
		wantText     string
	}{
		{"garbage line before handshake", "garbage-line", testTimeout, "garbage before the handshake"},
		{"partial garbage and silence", "garbage-partial", 2 * time.Second, "no handshake within 2s"},
		{"crash before serving", "crash", testTimeout, "exited before its handshake (exit status 3)\nplugin stderr (end):\nfatal: cannot open the device"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := helperConfig(t, tt.mode, nil)
			cfg.StartTimeout = tt.startTimeout
			ctx, cancel := context.WithTimeout(t.Context(), 2*testTimeout)
			defer cancel()
			c, err := hostapi.LaunchStore(ctx, cfg)
			if err == nil {
				c.Kill()
				t.Fatal("LaunchStore succeeded, want a handshake error")
			}
			t.Logf("launch error: %v", err)
			wantCode(t, err, hostapi.CodeUnavailable)
			if !strings.Contains(err.Error(), tt.wantText) {
				t.Errorf("error %q does not contain %q", err, tt.wantText)
			}
		})
	}
}

func TestLaunchStopsWhenContextEnds(t *testing.T) {
	cfg := helperConfig(t, "garbage-partial", nil)
	cfg.StartTimeout = time.Hour
	ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
	defer cancel()
	c, err := hostapi.LaunchStore(ctx, cfg)
	if err == nil {
		c.Kill()
		t.Fatal("LaunchStore succeeded, want the context's error")
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.DeadlineExceeded", err)
	}
}

func TestLaunchInvalidConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  hostapi.LaunchConfig
		want hostapi.Code
	}{
		{"no path", hostapi.LaunchConfig{}, hostapi.CodeInvalidArgument},
		{"missing binary", hostapi.LaunchConfig{Path: filepath.Join(t.TempDir(), "absent")}, hostapi.CodeNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := hostapi.LaunchStore(t.Context(), tt.cfg)
			wantCode(t, err, tt.want)
		})
	}
}

func TestPluginStdoutNeverReachesProtocol(t *testing.T) {
	rec := newRecorder(slog.LevelDebug)
	c := launchStore(t, helperConfig(t, "store-noisy", slog.New(rec)))
	for i := range 3 {
		if _, err := c.Info(t.Context()); err != nil {
			t.Fatalf("Info #%d: %v", i, err)
		}
	}
	if err := c.Ping(t.Context()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	got := rec.waitFor(t, testTimeout, `"noise from Info"`, func(r logRecord) bool {
		return r.Msg == "plugin wrote to stdout" && r.Attrs["line"] == "noise from Info"
	})
	if got.Level != slog.LevelWarn {
		t.Errorf("stdout line logged at %s, want WARN", got.Level)
	}
	rec.waitFor(t, testTimeout, `"noise from init"`, func(r logRecord) bool {
		return strings.Contains(r.Msg, "noise from init")
	})
}

func TestPluginLogsReachHostAtTheirLevels(t *testing.T) {
	all := map[string]slog.Level{
		"plugin debug line": slog.LevelDebug,
		"plugin info line":  slog.LevelInfo,
		"plugin warn line":  slog.LevelWarn,
		"plugin error line": slog.LevelError,
	}
	tests := []struct {
		name      string
		hostLevel slog.Level
	}{
		{"host at debug", slog.LevelDebug},
		{"host at info", slog.LevelInfo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := newRecorder(tt.hostLevel)
			c := launchStore(t, helperConfig(t, "store-logs", slog.New(rec)))
			if _, err := c.Info(t.Context()); err != nil {
				t.Fatalf("Info: %v", err)
			}
			// The plugin logs in level order over one pipe: once the error
			// line is in, every earlier line that was sent is too.
			rec.waitFor(t, testTimeout, "plugin error line", func(r logRecord) bool { return r.Msg == "plugin error line" })
			got := map[string]slog.Level{}
			for _, r := range rec.snapshot() {
				if _, ok := all[r.Msg]; ok {
					got[r.Msg] = r.Level
					if r.Attrs["k"] != "v" {
						t.Errorf("record %q attrs %v, want k=v", r.Msg, r.Attrs)
					}
				}
			}
			want := map[string]slog.Level{}
			for msg, l := range all {
				if l >= tt.hostLevel {
					want[msg] = l
				}
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("plugin log levels (-want +got):\n%s", diff)
			}
		})
	}
}

func TestVersionNegotiation(t *testing.T) {
	tests := []struct {
		name         string
		hostVersions []int
		pluginMode   string
		want         int // 0: the launch must fail
	}{
		{"both speak v1", []int{1}, "store", 1},
		{"newer host, v1 plugin", []int{1, 2}, "store", 1},
		{"v1 host, newer plugin", []int{1}, "store-v1v2", 1},
		{"both speak v1 and v2", []int{1, 2}, "store-v1v2", 2},
		{"v1 host, v2-only plugin", []int{1}, "store-v2", 0},
		{"v2-only host, v1 plugin", []int{2}, "store", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
			defer cancel()
			c, err := hostapi.LaunchStoreVersions(ctx, helperConfig(t, tt.pluginMode, nil), tt.hostVersions...)
			if tt.want == 0 {
				if err == nil {
					c.Kill()
					t.Fatal("launch succeeded, want a negotiation failure")
				}
				wantCode(t, err, hostapi.CodeUnsupported)
				if !strings.Contains(err.Error(), "no common protocol version") {
					t.Errorf("error %q does not say the versions are disjoint", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("launch: %v", err)
			}
			defer c.Kill()
			if got := c.ProtocolVersion(); got != tt.want {
				t.Errorf("negotiated version %d, want %d", got, tt.want)
			}
			if _, err := c.Info(ctx); err != nil {
				t.Errorf("Info over version %d: %v", c.ProtocolVersion(), err)
			}
		})
	}
}
