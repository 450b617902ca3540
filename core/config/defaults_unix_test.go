//go:build !windows

package config

import (
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/rustynet/rustynet/core/ledger"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/core/paths"
)

var cmpConfig = cmp.Options{cmpopts.IgnoreUnexported(Config{}), cmpAddrs}

func highWater(t *testing.T, stateDir string) string {
	t.Helper()
	p, err := ledger.DefaultHighWaterPath(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestDefaultsFillAMinimalFile(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/xdg/state")
	t.Setenv("XDG_RUNTIME_DIR", "")
	root, err := membership.ParseHash(testRoot)
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		File: "node.toml",
		Node: Node{
			ID:             "n1",
			PrivateKeyFile: "/etc/rn/n1.key",
			StateDir:       "/xdg/state/rustynet/state",
			HighWaterFile:  highWater(t, "/xdg/state/rustynet/state"),
		},
		Membership: Membership{
			GenesisFile:  "/etc/rn/genesis.json",
			GenesisRoot:  root,
			FeedInterval: 5 * time.Second,
			MaxClockSkew: 5 * time.Minute,
			SyncPort:     DefaultSyncPort,
			SyncInterval: 5 * time.Second,
		},
		Store:   Store{Kind: StoreFile},
		Backend: Backend{Kind: BackendNetstack, MTU: 1420, UAPI: true},
		Proxy:   Proxy{SOCKS5: netip.MustParseAddrPort("127.0.0.1:1080")},
		Routing: Routing{AcceptRoutes: true, Serve: true, Masquerade: true},
		Control: Control{Socket: "/xdg/state/rustynet/state.sock"},
		Log:     Log{Level: slog.LevelInfo, Format: LogText},
	}
	got := mustParse(t)
	if diff := cmp.Diff(want, got, cmpConfig); diff != "" {
		t.Errorf("got … want (-want +got):\n%s", diff)
	}

	// Default is the same without the required keys.
	want.File, want.Node.ID, want.Node.PrivateKeyFile = "", "", ""
	want.Membership.GenesisFile, want.Membership.GenesisRoot = "", membership.Hash{}
	if diff := cmp.Diff(want, Default(), cmpConfig); diff != "" {
		t.Errorf("Default: got … want (-want +got):\n%s", diff)
	}
}

func TestDerivedDefaults(t *testing.T) {
	tests := []struct {
		name       string
		scope      paths.Scope
		env        map[string]string
		lines      []string
		stateDir   string
		socket     string
		highWater  string // "" = <highWaterDir>/<hash of stateDir>.json
		hwDir      string
		wantErrKey string
	}{
		{
			name:     "runtime dir holds the socket",
			env:      map[string]string{"XDG_STATE_HOME": "/s", "XDG_RUNTIME_DIR": "/run/user/1000"},
			stateDir: "/s/rustynet/state",
			socket:   "/run/user/1000/rustynet/control.sock",
			hwDir:    "/s/rustynet/highwater",
		},
		{
			name:     "socket (beside it) and high-water mark follow a configured state_dir",
			env:      map[string]string{"XDG_STATE_HOME": "/s", "XDG_RUNTIME_DIR": ""},
			lines:    []string{`node.state_dir = "/srv/rustynet"`},
			stateDir: "/srv/rustynet",
			socket:   "/srv/rustynet.sock",
			hwDir:    "/s/rustynet/highwater",
		},
		{
			name:     "relative XDG variables are ignored",
			env:      map[string]string{"XDG_STATE_HOME": "rel", "XDG_RUNTIME_DIR": "rel", "HOME": "/home/u"},
			stateDir: "/home/u/.local/state/rustynet/state",
			socket:   "/home/u/.local/state/rustynet/state.sock",
			hwDir:    "/home/u/.local/state/rustynet/highwater",
		},
		{
			name:       "no home and no XDG: state_dir is required",
			env:        map[string]string{"XDG_STATE_HOME": "", "XDG_RUNTIME_DIR": "", "HOME": ""},
			wantErrKey: "node.state_dir",
		},
		{
			name:       "no home and no XDG: high_water_file is required",
			env:        map[string]string{"XDG_STATE_HOME": "", "XDG_RUNTIME_DIR": "", "HOME": ""},
			lines:      []string{`node.state_dir = "st"`},
			wantErrKey: "node.high_water_file",
		},
		{
			name:      "no home and no XDG, all set",
			env:       map[string]string{"XDG_STATE_HOME": "", "XDG_RUNTIME_DIR": "", "HOME": ""},
			lines:     []string{`node.state_dir = "st"`, `node.high_water_file = "hw"`},
			stateDir:  "/etc/rn/st",
			socket:    "/etc/rn/st.sock",
			highWater: "/etc/rn/hw",
		},
		{
			name:     "system: root with no HOME needs nothing but the required keys",
			scope:    paths.System,
			stateDir: "/var/lib/rustynet/state",
			socket:   "/run/rustynet/control.sock",
			hwDir:    "/var/lib/rustynet/highwater",
		},
		{
			name:     "system: the socket stays in /run whatever the state_dir",
			scope:    paths.System,
			env:      map[string]string{"HOME": "/root", "XDG_RUNTIME_DIR": "/run/user/0"},
			lines:    []string{`node.state_dir = "/srv/rn"`},
			stateDir: "/srv/rn",
			socket:   "/run/rustynet/control.sock",
			hwDir:    "/var/lib/rustynet/highwater",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := paths.Default(tt.scope, func(k string) string { return tt.env[k] })
			text, _ := doc(tt.lines...)
			c, err := parseIn([]byte(text), "node.toml", "/etc/rn", l)
			if tt.wantErrKey != "" {
				if e := asError(t, err); e.Key != tt.wantErrKey {
					t.Fatalf("got %v, want an error about %s", err, tt.wantErrKey)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tt.highWater == "" {
				tt.highWater = highWaterIn(t, tt.hwDir, tt.stateDir)
			}
			got := [3]string{c.Node.StateDir, c.Control.Socket, c.Node.HighWaterFile}
			if want := [3]string{tt.stateDir, tt.socket, tt.highWater}; got != want {
				t.Errorf("got state_dir, socket, high_water_file %q, want %q", got, want)
			}
		})
	}
}

func highWaterIn(t *testing.T, dir, stateDir string) string {
	t.Helper()
	p, err := ledger.HighWaterPathIn(dir, stateDir)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
