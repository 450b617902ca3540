//go:build !windows

// The expected paths below are Unix paths.

package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/rustynet/rustynet/hostapi"
	"github.com/rustynet/rustynet/internal/inputfile"
)

func writeFile(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // WriteFile's mode is subject to the umask
		t.Fatal(err)
	}
}

func TestLoadResolvesPathsAgainstTheFilesDirectory(t *testing.T) {
	dir := t.TempDir()
	text, _ := doc(`node.state_dir = "../state"`, `membership.feed = "feed"`, `store.plugin = "bin/store"`, `backend.plugin = "/abs/backend"`)
	writeFile(t, filepath.Join(dir, "etc", "node.toml"), text, 0o644)
	t.Chdir(dir) // so that the relative name below is not the directory paths resolve against

	c, err := Load(filepath.Join("etc", "node.toml"))
	if err != nil {
		t.Fatal(err)
	}
	etc := filepath.Join(dir, "etc")
	got := []string{c.File, c.Node.PrivateKeyFile, c.Node.StateDir, c.Membership.GenesisFile, c.Membership.Feed.Dir, c.Store.Plugin, c.Backend.Plugin}
	want := []string{filepath.Join("etc", "node.toml"), filepath.Join(etc, "n1.key"), filepath.Join(dir, "state"), filepath.Join(etc, "genesis.json"),
		filepath.Join(etc, "feed"), filepath.Join(etc, "bin", "store"), "/abs/backend"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("got … want (-want +got):\n%s", diff)
	}
}

func TestLoadErrorsNameTheFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "node.toml")
	text, offset := doc(`[log]`, `level = "loud"`)
	writeFile(t, path, text, 0o644)
	_, err := Load(path)
	e := asError(t, err)
	if e.File != path || e.Line != offset+2 || e.Key != "log.level" {
		t.Errorf("got %v, want %s:%d: log.level: …", err, path, offset+2)
	}

	_, err = Load(filepath.Join(dir, "missing.toml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v, want fs.ErrNotExist", err)
	}
}

// TestLoadReadsOnlyABoundedRegularFile names things that are not a
// configuration file: each is refused at once, naming the file, without
// reading it to the end (a device never ends) or blocking (a FIFO).
func TestLoadReadsOnlyABoundedRegularFile(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.toml")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.toml")
	writeFile(t, huge, "", 0o600)
	if err := os.Truncate(huge, MaxFileBytes+1); err != nil { // sparse: no disk used
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string
		want error
	}{
		{"endless device", "/dev/zero", inputfile.ErrNotRegular},
		{"fifo", fifo, inputfile.ErrNotRegular},
		{"directory", dir, inputfile.ErrNotRegular},
		{"larger than a configuration may be", huge, inputfile.ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			done := make(chan error, 1)
			go func() { _, err := Load(tt.path); done <- err }()
			select {
			case err := <-done:
				if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.path) {
					t.Errorf("got %v, want an error naming %s that wraps %v", err, tt.path, tt.want)
				}
			case <-time.After(time.Minute):
				t.Fatalf("Load(%s) did not return", tt.path)
			}
		})
	}
}

func TestParseResolvesAgainstARelativeBaseDir(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	text, _ := doc()
	c, err := Parse([]byte(text), "n.toml", "conf")
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(dir, "conf", "n1.key"); c.Node.PrivateKeyFile != want {
		t.Errorf("got %q, want %q", c.Node.PrivateKeyFile, want)
	}
}

func TestProxyConfig(t *testing.T) {
	t.Run("nothing set", func(t *testing.T) {
		if got, err := mustParse(t, `proxy.socks5 = ""`).ProxyConfig(); got != nil || err != nil {
			t.Errorf("got %+v, %v, want nil", got, err)
		}
	})
	t.Run("everything set", func(t *testing.T) {
		c := mustParse(t, `proxy.http = "127.0.0.1:3128"`, `proxy.dns = ["100.64.0.53"]`,
			`[[proxy.forward]]`, `listen = "127.0.0.1:2"`, `target = "100.64.0.2:22"`,
			`[[proxy.expose]]`, `port = 80`, `target = "127.0.0.1:8080"`)
		got, err := c.ProxyConfig()
		if err != nil {
			t.Fatal(err)
		}
		want := &hostapi.ProxyConfig{
			SOCKS5:   c.Proxy.SOCKS5,
			HTTP:     c.Proxy.HTTP,
			Forwards: c.Proxy.Forwards,
			Exposes:  c.Proxy.Exposes,
			DNS:      c.Proxy.DNS,
		}
		if diff := cmp.Diff(want, got, cmpAddrs); diff != "" {
			t.Fatalf("got … want (-want +got):\n%s", diff)
		}
		got.Forwards[0].Target = got.Forwards[0].Listen
		if c.Proxy.Forwards[0].Target == got.Forwards[0].Target {
			t.Errorf("ProxyConfig shares its slices with the Config")
		}
	})
}
