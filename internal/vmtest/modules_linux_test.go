package vmtest

import (
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestModuleLoadOrder(t *testing.T) {
	dir := t.TempDir()
	dep := `kernel/lib/crypto/libchacha.ko:
kernel/net/ipv4/udp_tunnel.ko:
kernel/net/ipv6/ip6_udp_tunnel.ko:
kernel/lib/crypto/libchacha20poly1305.ko: kernel/lib/crypto/libchacha.ko
kernel/drivers/net/wireguard/wireguard.ko: kernel/lib/crypto/libchacha20poly1305.ko kernel/lib/crypto/libchacha.ko kernel/net/ipv6/ip6_udp_tunnel.ko kernel/net/ipv4/udp_tunnel.ko
kernel/drivers/net/veth.ko.gz:
`
	if err := os.WriteFile(filepath.Join(dir, "modules.dep"), []byte(dep), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "modules.builtin"), []byte("kernel/drivers/net/tun.ko\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ix, err := readModuleIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ix.loadOrder([]string{"wireguard", "tun", "veth", "udp-tunnel"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"kernel/lib/crypto/libchacha.ko",
		"kernel/lib/crypto/libchacha20poly1305.ko",
		"kernel/net/ipv6/ip6_udp_tunnel.ko",
		"kernel/net/ipv4/udp_tunnel.ko",
		"kernel/drivers/net/wireguard/wireguard.ko",
		"kernel/drivers/net/veth.ko.gz",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("load order (-want +got):\n%s", diff)
	}
	if _, err := ix.loadOrder([]string{"nosuchmodule"}); err == nil {
		t.Error("loadOrder of an unknown module: got nil error")
	}

	// A gzip-compressed module comes back decompressed.
	p := filepath.Join(dir, "kernel/drivers/net/veth.ko.gz")
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	if _, err := zw.Write([]byte("\x7fELF module")); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := ix.readModule(context.Background(), "kernel/drivers/net/veth.ko.gz")
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != "\x7fELF module" {
		t.Errorf("decompressed module: got %q", data)
	}
}

func TestModuleName(t *testing.T) {
	for in, want := range map[string]string{
		"kernel/net/ipv4/udp_tunnel.ko":              "udp_tunnel",
		"kernel/arch/x86/crypto/chacha-x86_64.ko.xz": "chacha_x86_64",
		"wireguard.ko.zst":                           "wireguard",
	} {
		if got := moduleName(in); got != want {
			t.Errorf("moduleName(%q): got %q, want %q", in, got, want)
		}
	}
}
