package service

import (
	"flag"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/rustynet/rustynet/core/config"
	"github.com/rustynet/rustynet/core/paths"
)

var update = flag.Bool("update", false, "rewrite the files under packaging/ from Unit and Plist")

func linuxLayout(t *testing.T) paths.Layout {
	t.Helper()
	l, err := paths.Default(paths.System, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestSpecFor(t *testing.T) {
	l := linuxLayout(t)
	tests := []struct {
		name   string
		change func(c *config.Config)
		want   Spec
	}{
		{"netstack", func(*config.Config) {}, Spec{}},
		{"netstack on a privileged port", func(c *config.Config) { c.Proxy.SOCKS5 = netip.MustParseAddrPort("127.0.0.1:80") }, Spec{Capabilities: []string{capNetBindService}}},
		{"wgtun", func(c *config.Config) { c.Backend.Kind = config.BackendWGTun }, Spec{Capabilities: []string{capNetAdmin}, Netlink: true, Devices: []string{tunDevice}, RuntimeDirectories: []string{uapiDir}}},
		{"wgtun without UAPI", func(c *config.Config) { c.Backend.Kind, c.Backend.UAPI = config.BackendWGTun, false }, Spec{Capabilities: []string{capNetAdmin}, Netlink: true, Devices: []string{tunDevice}}},
		{"wgkernel", func(c *config.Config) { c.Backend.Kind = config.BackendWGKernel }, Spec{Capabilities: []string{capNetAdmin}, Netlink: true}},
		{"state and socket elsewhere", func(c *config.Config) {
			c.Node.StateDir, c.Node.HighWaterFile, c.Control.Socket = "/srv/rn/state", "/srv/rn/hw.json", "/srv/run/c.sock"
		}, Spec{ReadWritePaths: []string{"/srv/rn/state", "/srv/rn", "/srv/run"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := &config.Config{File: "/etc/rustynet/rustynet.toml",
				Node:    config.Node{StateDir: l.StateDir, HighWaterFile: filepath.Join(l.HighWaterDir, "x.json")},
				Backend: config.Backend{Kind: config.BackendNetstack, UAPI: true}, Control: config.Control{Socket: l.ControlSocket}}
			tt.change(cfg)
			got := SpecFor(cfg, "/usr/local/bin/rustynet", l)
			tt.want.Binary, tt.want.ConfigFile, tt.want.LogFile = "/usr/local/bin/rustynet", "/etc/rustynet/rustynet.toml", "/var/lib/rustynet/rustynet.log"
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("got … want (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPackagingFiles keeps the service files shipped under packaging/
// (and in release archives) equal to what `rustynet service install`
// writes for a default netstack node. Run with -update to regenerate them.
func TestPackagingFiles(t *testing.T) {
	l := linuxLayout(t)
	files := map[string]string{
		"../../packaging/systemd/rustynet.service": Unit(Spec{Binary: "/usr/local/bin/rustynet", ConfigFile: l.ConfigFile}),
		"../../packaging/launchd/net.rustynet.daemon.plist": Plist(Spec{Binary: "/usr/local/bin/rustynet",
			ConfigFile: "/Library/Application Support/rustynet/rustynet.toml", LogFile: "/Library/Application Support/rustynet/rustynet.log"}),
	}
	for path, want := range files {
		if *update {
			if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, []byte(want), 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (regenerate with: go test ./internal/service -run TestPackagingFiles -update)", err)
		}
		if diff := cmp.Diff(want, string(got)); diff != "" {
			t.Errorf("%s is stale (-want +got); regenerate with: go test ./internal/service -run TestPackagingFiles -update\n%s", path, diff)
		}
	}
}
