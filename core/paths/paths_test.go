package paths

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// env returns a getenv over m.
func env(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLayouts(t *testing.T) {
	tests := []struct {
		name    string
		layout  func() (Layout, error)
		want    Layout
		wantErr error
	}{
		{
			name:   "linux system",
			layout: func() (Layout, error) { return linuxSystem(), nil },
			want: Layout{Scope: System, ConfigFile: "/etc/rustynet/rustynet.toml", StateDir: "/var/lib/rustynet/state",
				HighWaterDir: "/var/lib/rustynet/highwater", ControlSocket: "/run/rustynet/control.sock"},
		},
		{
			name:   "macOS system",
			layout: func() (Layout, error) { return darwinSystem(), nil },
			want: Layout{Scope: System, ConfigFile: "/Library/Application Support/rustynet/rustynet.toml",
				StateDir: "/Library/Application Support/rustynet/state", HighWaterDir: "/Library/Application Support/rustynet/highwater",
				ControlSocket: "/var/run/rustynet/control.sock"},
		},
		{
			name:   "windows system",
			layout: func() (Layout, error) { return windowsSystem(env(map[string]string{"ProgramData": `D:\PD\`})), nil },
			want: Layout{Scope: System, ConfigFile: `D:\PD\rustynet\rustynet.toml`, StateDir: `D:\PD\rustynet\state`,
				HighWaterDir: `D:\PD\rustynet\highwater`, ControlSocket: `\\.\pipe\rustynet`},
		},
		{
			name:   "windows system without ProgramData",
			layout: func() (Layout, error) { return windowsSystem(env(map[string]string{"ProgramData": "rel"})), nil },
			want: Layout{Scope: System, ConfigFile: `C:\ProgramData\rustynet\rustynet.toml`, StateDir: `C:\ProgramData\rustynet\state`,
				HighWaterDir: `C:\ProgramData\rustynet\highwater`, ControlSocket: `\\.\pipe\rustynet`},
		},
		{
			name: "unix user with XDG",
			layout: func() (Layout, error) {
				return userLayout(env(map[string]string{"HOME": "/home/u", "XDG_CONFIG_HOME": "/c", "XDG_STATE_HOME": "/s", "XDG_RUNTIME_DIR": "/run/user/1000"}), "HOME", false)
			},
			want: Layout{Scope: User, ConfigFile: "/c/rustynet/rustynet.toml", StateDir: "/s/rustynet/state",
				HighWaterDir: "/s/rustynet/highwater", ControlSocket: "/run/user/1000/rustynet/control.sock"},
		},
		{
			name: "unix user with only HOME: the socket follows the state directory",
			layout: func() (Layout, error) {
				return userLayout(env(map[string]string{"HOME": "/home/u", "XDG_STATE_HOME": "rel", "XDG_RUNTIME_DIR": "rel"}), "HOME", false)
			},
			want: Layout{Scope: User, ConfigFile: "/home/u/.config/rustynet/rustynet.toml", StateDir: "/home/u/.local/state/rustynet/state",
				HighWaterDir: "/home/u/.local/state/rustynet/highwater"},
		},
		{
			name: "unix user without a home",
			layout: func() (Layout, error) {
				return userLayout(env(map[string]string{"HOME": "", "XDG_RUNTIME_DIR": "/run/user/0"}), "HOME", false)
			},
			want:    Layout{Scope: User, ControlSocket: "/run/user/0/rustynet/control.sock"},
			wantErr: ErrNoHome,
		},
		{
			name: "windows user",
			layout: func() (Layout, error) {
				return userLayout(env(map[string]string{"USERPROFILE": `C:\Users\u`}), "USERPROFILE", true)
			},
			want: Layout{Scope: User, ConfigFile: `C:\Users\u\.config\rustynet\rustynet.toml`, StateDir: `C:\Users\u\.local\state\rustynet\state`,
				HighWaterDir: `C:\Users\u\.local\state\rustynet\highwater`, ControlSocket: `\\.\pipe\rustynet`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.layout()
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("got error %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("got … want (-want +got):\n%s", diff)
			}
		})
	}
}

func TestScope(t *testing.T) {
	tests := []struct {
		name       string
		privileged bool
		env        map[string]string
		want       Scope
	}{
		{"root", true, map[string]string{"HOME": "/root"}, System},
		{"root without HOME (a plain systemd unit)", true, nil, System},
		{"root with a runtime dir from its login session", true, map[string]string{"XDG_RUNTIME_DIR": "/run/user/0"}, System},
		{"root choosing the user layout", true, map[string]string{"XDG_STATE_HOME": "/tmp/x"}, User},
		{"root with a relative XDG_STATE_HOME", true, map[string]string{"XDG_STATE_HOME": "x"}, System},
		{"user", false, map[string]string{"HOME": "/home/u"}, User},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := scopeFor(tt.privileged, env(tt.env)); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestDefaultIsThisPlatformsLayout ties Default to the platform's table.
func TestDefaultIsThisPlatformsLayout(t *testing.T) {
	getenv := env(map[string]string{"HOME": "/h", "USERPROFILE": `C:\h`})
	sys, err := Default(System, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(systemLayout(getenv), sys); diff != "" {
		t.Errorf("system: (-want +got):\n%s", diff)
	}
	usr, err := Default(User, getenv)
	if err != nil {
		t.Fatal(err)
	}
	if usr.Scope != User || usr.StateDir == "" || usr.StateDir == sys.StateDir {
		t.Errorf("user layout %+v, want one of its own", usr)
	}
}
