package service

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// recorder is a Runner that records the commands it is given.
type recorder struct {
	cmds []string
	fail string // a command line that fails
}

func (r *recorder) run(name string, args ...string) (string, error) {
	line := strings.Join(append([]string{name}, args...), " ")
	r.cmds = append(r.cmds, line)
	if line == r.fail {
		return "boom", exec.ErrNotFound
	}
	return "", nil
}

var netstackSpec = Spec{Binary: "/usr/local/bin/rustynet", ConfigFile: "/etc/rustynet/rustynet.toml", LogFile: "/var/lib/rustynet/rustynet.log"}

var tunSpec = Spec{Binary: "/opt/rusty net/rustynet", ConfigFile: "/etc/rustynet/rustynet.toml",
	Capabilities: []string{capNetAdmin}, Devices: []string{tunDevice}, Netlink: true, RuntimeDirectories: []string{uapiDir}}

// directives returns the unit's assignments, key → values in order.
func directives(unit string) map[string][]string {
	m := map[string][]string{}
	for _, l := range strings.Split(unit, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && !strings.HasPrefix(l, "#") {
			m[k] = append(m[k], v)
		}
	}
	return m
}

func TestUnitHardening(t *testing.T) {
	tests := []struct {
		name string
		spec Spec
		want map[string][]string // directives that must have exactly these values
	}{
		{"netstack needs no capability and no device", netstackSpec, map[string][]string{
			"ExecStart":               {"/usr/local/bin/rustynet daemon --config /etc/rustynet/rustynet.toml"},
			"CapabilityBoundingSet":   {""},
			"AmbientCapabilities":     {""},
			"PrivateDevices":          {"yes"},
			"RestrictAddressFamilies": {"AF_UNIX AF_INET AF_INET6"},
			"ReadWritePaths":          nil,
			"RuntimeDirectory":        {"rustynet"},
		}},
		{"the TUN backend gets CAP_NET_ADMIN, netlink and /dev/net/tun only", tunSpec, map[string][]string{
			"ExecStart":               {`"/opt/rusty net/rustynet" daemon --config /etc/rustynet/rustynet.toml`},
			"CapabilityBoundingSet":   {"CAP_NET_ADMIN"},
			"PrivateDevices":          nil,
			"DevicePolicy":            {"closed"},
			"DeviceAllow":             {"/dev/net/tun rw"},
			"RestrictAddressFamilies": {"AF_UNIX AF_INET AF_INET6 AF_NETLINK"},
			"RuntimeDirectory":        {"rustynet wireguard"},
		}},
	}
	common := map[string][]string{
		"Type": {"notify"}, "NotifyAccess": {"main"}, "Restart": {"on-failure"}, "RestartPreventExitStatus": {"2"},
		"KillMode": {"mixed"}, "NoNewPrivileges": {"yes"}, "ProtectSystem": {"strict"}, "ProtectHome": {"yes"},
		"PrivateTmp": {"yes"}, "StateDirectory": {"rustynet"}, "StateDirectoryMode": {"0700"},
		"UMask": {"0077"}, "SystemCallFilter": {"@system-service", "~@privileged"}, "WantedBy": {"multi-user.target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := directives(Unit(tt.spec))
			for k, want := range common {
				if diff := cmp.Diff(want, got[k]); diff != "" {
					t.Errorf("%s (-want +got):\n%s", k, diff)
				}
			}
			for k, want := range tt.want {
				if diff := cmp.Diff(want, got[k]); diff != "" {
					t.Errorf("%s (-want +got):\n%s", k, diff)
				}
			}
		})
	}
}

// TestUnitVerifies runs systemd's own checker over the unit of every
// backend. It needs systemd-analyze (Debian: apt-get install systemd),
// which scripts/install-prereqs.sh installs for CI.
func TestUnitVerifies(t *testing.T) {
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed (apt-get install systemd)")
	}
	self, err := os.Executable() // ExecStart must name an existing executable
	if err != nil {
		t.Fatal(err)
	}
	elsewhere := netstackSpec
	elsewhere.ReadWritePaths = []string{"/srv/rusty net/state"}
	for _, spec := range []Spec{netstackSpec, tunSpec, elsewhere} {
		spec.Binary = self
		dir := t.TempDir()
		path := filepath.Join(dir, "rustynet.service")
		if err := os.WriteFile(path, []byte(Unit(spec)), 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(analyze, "verify", path).CombinedOutput()
		if err != nil || len(strings.TrimSpace(string(out))) > 0 {
			t.Errorf("systemd-analyze verify: %v\n%s\nunit:\n%s", err, out, Unit(spec))
		}
	}
}

func TestSystemdInstallUninstall(t *testing.T) {
	root := t.TempDir()
	r := &recorder{}
	m := Systemd{Root: root, Run: r.run}
	if _, err := m.Install(netstackSpec); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(root, "etc/systemd/system/rustynet.service")
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o644 {
		t.Errorf("unit mode %v, want 0644", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if string(data) != Unit(netstackSpec) {
		t.Errorf("installed unit differs from Unit(spec):\n%s", data)
	}
	for _, c := range []func() (string, error){m.Start, m.Stop, m.Status} {
		if _, err := c(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Uninstall(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("the unit is still there after Uninstall: %v", err)
	}
	want := []string{
		"systemctl daemon-reload", "systemctl enable rustynet.service",
		"systemctl start rustynet.service", "systemctl stop rustynet.service", "systemctl status --no-pager rustynet.service",
		"systemctl disable --now rustynet.service", "systemctl daemon-reload",
	}
	if diff := cmp.Diff(want, r.cmds); diff != "" {
		t.Errorf("commands (-want +got):\n%s", diff)
	}
	if _, err := m.Uninstall(); err == nil || !strings.Contains(err.Error(), "not installed") {
		t.Errorf("second Uninstall: got %v, want an error saying it is not installed", err)
	}
}

func TestSystemdInstallFailureIsReported(t *testing.T) {
	r := &recorder{fail: "systemctl enable rustynet.service"}
	if _, err := (Systemd{Root: t.TempDir(), Run: r.run}).Install(netstackSpec); err == nil {
		t.Error("Install succeeded although systemctl enable failed")
	}
}
