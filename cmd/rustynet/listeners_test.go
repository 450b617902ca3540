package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDaemonReportsAnAddressInUse starts a real daemon whose
// configuration names an address another program (the test) holds: it
// exits 2 with a usage error naming the configuration key and the
// address, and says what to do — not an internal error.
func TestDaemonReportsAnAddressInUse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts daemons and plugin processes; skipped with -short")
	}
	u, _, root := cliNetwork(t)
	tcp := func(t *testing.T) (string, func()) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		return l.Addr().String(), func() { l.Close() }
	}
	sock := filepath.Join(u.dir, "control.sock")
	tests := []struct {
		key  string
		hold func(t *testing.T) (addr string, release func())
		cfg  func(addr string) string // the tables the key is in
	}{
		{"proxy.socks5", tcp, func(a string) string { return "[proxy]\nsocks5 = \"" + a + "\"\n" }},
		{"proxy.http", tcp, func(a string) string { return "[proxy]\nsocks5 = \"\"\nhttp = \"" + a + "\"\n" }},
		{"metrics.listen", tcp, func(a string) string { return "[proxy]\nsocks5 = \"\"\n\n[metrics]\nlisten = \"" + a + "\"\n" }},
		{"control.socket", func(t *testing.T) (string, func()) { // as a daemon running with the same configuration holds it
			l, err := net.Listen("unix", filepath.Join(u.dir, "held.sock"))
			if err != nil {
				t.Skipf("no Unix sockets here: %v", err)
			}
			return l.Addr().String(), func() { l.Close() }
		}, func(a string) string { return "[proxy]\nsocks5 = \"\"\n\n[control]\nsocket = \"" + a + "\"\n" }},
		{"backend.listen_port", func(t *testing.T) (string, func()) {
			c, err := net.ListenPacket("udp4", ":0")
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf(":%d", c.LocalAddr().(*net.UDPAddr).Port), func() { c.Close() }
		}, func(a string) string {
			return "[proxy]\nsocks5 = \"\"\n\n[backend]\nkind = \"netstack\"\nlisten_port = " + a[1:] + "\n"
		}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			addr, release := tt.hold(t)
			defer release()
			cfg := "[node]\nid = \"n1\"\nprivate_key_file = \"n1.key\"\nstate_dir = \"state\"\n\n" +
				"[membership]\ngenesis_file = \"genesis.json\"\ngenesis_root = \"" + root + "\"\n\n" + tt.cfg(addr)
			for table, text := range map[string]string{"[backend]": "kind = \"netstack\"", "[control]": "socket = \"" + sock + "\""} {
				if !strings.Contains(cfg, table) {
					cfg += "\n" + table + "\n" + text + "\n"
				}
			}
			if err := os.WriteFile(filepath.Join(u.dir, "n1.toml"), []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, u.bin, "daemon", "--config", "n1.toml")
			cmd.Dir = u.dir
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			err := cmd.Run()
			code := cmd.ProcessState.ExitCode()
			want := "error: USAGE: n1.toml: " + tt.key + ": " + addr + " is in use by another program\n" +
				"hint: stop the program listening there (a daemon already running with this configuration?), or set another address for " + tt.key + " in n1.toml\n"
			if code != exitUsage || !strings.HasSuffix(stderr.String(), want) {
				t.Errorf("daemon: %v, exit %d; want exit %d and stderr ending in\n%s\ngot:\n%s", err, code, exitUsage, want, stderr.String())
			}
		})
	}
}
