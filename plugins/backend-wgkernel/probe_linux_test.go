package wgkernel

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

func TestProbeDecision(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if content != "" {
			if err := os.WriteFile(filepath.Join(p, "modules.dep"), []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return p
	}
	loaded := write("sys-loaded", "")
	if err := os.Mkdir(filepath.Join(loaded, "wireguard"), 0o755); err != nil {
		t.Fatal(err)
	}
	empty := write("sys-empty", "")
	withModule := write("modules-with", "kernel/net/ipv4/udp_tunnel.ko:\nkernel/drivers/net/wireguard/wireguard.ko.xz: kernel/net/ipv4/udp_tunnel.ko\n")
	without := write("modules-without", "kernel/net/ipv4/udp_tunnel.ko:\n")

	tests := []struct {
		name       string
		netAdmin   bool
		sysModules string
		modules    string
		want       hostapi.Code
	}{
		{"loaded", true, loaded, without, hostapi.CodeOK},
		{"loads on first use", true, empty, withModule, hostapi.CodeOK},
		{"absent", true, empty, without, hostapi.CodeUnsupported},
		{"no module directory", true, empty, filepath.Join(dir, "missing"), hostapi.CodeUnsupported},
		{"no CAP_NET_ADMIN", false, loaded, withModule, hostapi.CodePermission},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := probe(tt.netAdmin, tt.sysModules, tt.modules)
			if got := hostapi.CodeOf(err); got != tt.want {
				t.Errorf("probe: got %v (code %v), want code %v", err, got, tt.want)
			}
		})
	}
}
