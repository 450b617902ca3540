package hostapi_test

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/poll"
)

// reattachPlugin is a helper plugin serving in reattach mode.
type reattachPlugin struct {
	cmd    *exec.Cmd
	cfg    hostapi.ReattachConfig
	marker string        // created when a store the plugin serves is closed
	exited chan struct{} // closed once the plugin has exited
	err    error         // the plugin's exit, once exited is closed
}

// startReattach starts the test binary as helper mode in reattach mode and
// reads the configuration it prints.
func startReattach(t *testing.T, mode string) *reattachPlugin {
	t.Helper()
	marker := filepath.Join(t.TempDir(), "closed")
	cmd := exec.Command(selfPath(t))
	cmd.Env = append(os.Environ(), helperEnv+"="+mode, hostapi.EnvReattach+"=1", closeMarkerEnv+"="+marker)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &reattachPlugin{cmd: cmd, marker: marker, exited: make(chan struct{})}
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), hostapi.EnvReattach+"=") {
				lines <- sc.Text()
			}
		}
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		// SIGTERM, as a reattach-mode plugin is meant to be stopped: it
		// then removes its socket directory, which SIGKILL would leave.
		if cmd.Process.Signal(syscall.SIGTERM) == nil {
			select {
			case <-p.exited:
				return
			case <-time.After(10 * time.Second):
				t.Errorf("helper plugin %d did not exit within 10s of SIGTERM", cmd.Process.Pid)
			}
		}
		_ = cmd.Process.Kill()
		select {
		case <-p.exited:
		case <-time.After(10 * time.Second):
			t.Errorf("helper plugin %d did not exit after SIGKILL", cmd.Process.Pid)
		}
	})
	select {
	case line := <-lines:
		cfg, err := hostapi.ParseReattachConfig(line)
		if err != nil {
			t.Fatalf("ParseReattachConfig(%q): %v", line, err)
		}
		p.cfg = cfg
	case <-p.exited:
		t.Fatalf("helper plugin exited before printing its reattach line: %v", p.err)
	case <-time.After(30 * time.Second):
		t.Fatal("helper plugin printed no reattach line within 30s")
	}
	return p
}

// closedStores reports whether a store the plugin serves has been closed.
func (p *reattachPlugin) closedStores() bool {
	_, err := os.Stat(p.marker)
	return err == nil
}

func reattachStore(t *testing.T, cfg hostapi.ReattachConfig) *hostapi.StoreClient {
	t.Helper()
	c, err := hostapi.ReattachStore(t.Context(), cfg)
	if err != nil {
		t.Fatalf("ReattachStore: %v", err)
	}
	t.Cleanup(c.Kill)
	return c
}

func TestReattachGivesEachConnectionAFreshStore(t *testing.T) {
	p := startReattach(t, "store-reattach")
	if got, want := p.cfg.Kind, hostapi.StorePluginName; got != want {
		t.Fatalf("kind: got %q, want %q", got, want)
	}
	if got := p.cfg.Pid; got != p.cmd.Process.Pid {
		t.Fatalf("pid: got %d, want %d", got, p.cmd.Process.Pid)
	}
	dir := t.TempDir()
	first := reattachStore(t, p.cfg)
	if err := first.Open(t.Context(), hostapi.StoreConfig{Dir: dir}); err != nil {
		t.Fatalf("first connection: Open: %v", err)
	}
	if err := first.Append(t.Context(), hostapi.LogEntry{Index: 1, Data: []byte("one")}); err != nil {
		t.Fatalf("first connection: Append: %v", err)
	}
	// A second connection has a store of its own: not open yet, so opening
	// it succeeds where the first store would answer CodeConflict.
	second := reattachStore(t, p.cfg)
	if err := second.Open(t.Context(), hostapi.StoreConfig{Dir: dir}); err != nil {
		t.Fatalf("second connection: Open: %v", err)
	}
	if p.closedStores() {
		t.Fatal("a store was closed while both connections were open")
	}
	first.Kill()
	if poll.Until(10*time.Second, 10*time.Millisecond, p.closedStores) != nil {
		t.Fatal("the first connection's store was not closed after its connection ended")
	}
	if head, err := second.Head(t.Context()); err != nil || head != 0 {
		t.Fatalf("second connection: Head: got %d, %v; want 0, nil", head, err)
	}
	select {
	case <-p.exited:
		t.Fatalf("the plugin exited when a host let go: %v", p.err)
	default:
	}
}

func TestReattachSharedStoreAndShutdown(t *testing.T) {
	p := startReattach(t, "store-reattach-shared")
	dir := t.TempDir()
	first := reattachStore(t, p.cfg)
	if err := first.Open(t.Context(), hostapi.StoreConfig{Dir: dir}); err != nil {
		t.Fatalf("Open: %v", err)
	}
	first.Kill()
	second := reattachStore(t, p.cfg)
	// ServeStore shares its one store: still open from the first host.
	err := second.Open(t.Context(), hostapi.StoreConfig{Dir: dir})
	wantCode(t, err, hostapi.CodeConflict)
	second.Kill()
	if p.closedStores() {
		t.Fatal("the shared store was closed before serving ended")
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.exited:
		if p.err != nil {
			t.Fatalf("after SIGTERM the plugin exited with %v, want status 0", p.err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the plugin did not exit within 20s of SIGTERM")
	}
	if !p.closedStores() {
		t.Error("the shared store was not closed when serving ended")
	}
	if _, err := os.Stat(p.cfg.Address); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket %s is left behind: %v", p.cfg.Address, err)
	}
	if _, err := os.Stat(filepath.Dir(p.cfg.Address)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the socket directory %s is left behind: %v", filepath.Dir(p.cfg.Address), err)
	}
}

func TestReattachSocketIsPrivate(t *testing.T) {
	p := startReattach(t, "store-reattach")
	fi, err := os.Stat(filepath.Dir(p.cfg.Address))
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("socket directory mode %v: others may enter it", perm)
	}
}

func TestReattachBackend(t *testing.T) {
	p := startReattach(t, "backend-reattach")
	c, err := hostapi.ReattachBackend(t.Context(), p.cfg)
	if err != nil {
		t.Fatalf("ReattachBackend: %v", err)
	}
	defer c.Kill()
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if info.Name == "" {
		t.Error("Info: empty name")
	}
	if got := c.ProtocolVersion(); got != hostapi.ProtocolVersion {
		t.Errorf("ProtocolVersion: got %d, want %d", got, hostapi.ProtocolVersion)
	}
}

func TestReattachRefusesBadConfigs(t *testing.T) {
	p := startReattach(t, "store-reattach")
	good := p.cfg
	tests := []struct {
		name   string
		mutate func(*hostapi.ReattachConfig)
		want   hostapi.Code
	}{
		{"other kind", func(c *hostapi.ReattachConfig) { c.Kind = hostapi.BackendPluginName }, hostapi.CodeInvalidArgument},
		{"unknown version", func(c *hostapi.ReattachConfig) { c.ProtocolVersion = 99 }, hostapi.CodeUnsupported},
		{"unknown network", func(c *hostapi.ReattachConfig) { c.Network = "udp" }, hostapi.CodeInvalidArgument},
		{"tcp off loopback", func(c *hostapi.ReattachConfig) { c.Network, c.Address = "tcp", "192.0.2.1:1234" }, hostapi.CodeInvalidArgument},
		{"tcp not an address", func(c *hostapi.ReattachConfig) { c.Network, c.Address = "tcp", "localhost" }, hostapi.CodeInvalidArgument},
		{"no plugin there", func(c *hostapi.ReattachConfig) { c.Address = filepath.Join(t.TempDir(), "none") }, hostapi.CodeUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := good
			tt.mutate(&cfg)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			c, err := hostapi.ReattachStore(ctx, cfg)
			if err == nil {
				c.Kill()
			}
			wantCode(t, err, tt.want)
		})
	}
}

func TestParseReattachConfig(t *testing.T) {
	want := hostapi.ReattachConfig{Kind: "store", ProtocolVersion: 1, Network: "unix", Address: "/tmp/p/plugin1", Pid: 7}
	js := `{"kind":"store","protocol_version":1,"network":"unix","address":"/tmp/p/plugin1","pid":7}`
	for _, in := range []string{js, hostapi.EnvReattach + "=" + js, hostapi.EnvReattach + "='" + js + "'\n"} {
		got, err := hostapi.ParseReattachConfig(in)
		if err != nil || got != want {
			t.Errorf("ParseReattachConfig(%q): got %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "{", `{"kind":"store","extra":1}`, "pid 7"} {
		_, err := hostapi.ParseReattachConfig(in)
		wantCode(t, err, hostapi.CodeInvalidArgument)
	}
}
