package service

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// UnitPath is where Systemd installs the unit, below its root.
const UnitPath = "/etc/systemd/system/" + Name + ".service"

// Unit is the systemd unit for spec.
//
// Type=notify: the daemon sends READY=1 once it serves its control API
// (and metrics), so `systemctl start` returns when the node is up.
// Restart=on-failure restarts a failed node but not one stopped cleanly
// (exit 0) nor one whose configuration is wrong (exit 2, which a restart
// cannot fix). KillMode=mixed sends SIGTERM to the daemon alone, which
// stops its plugins in order; SIGKILL reaches whatever outlives it.
//
// Hardening: the daemon runs as root with its capabilities bounded to
// spec.Capabilities (none for netstack), no new privileges, a read-only
// system (ProtectSystem=strict) but for its state, runtime and spec's
// paths, no home directories, private /tmp, only the devices it needs,
// the address families it uses and the system-service system calls.
func Unit(spec Spec) string {
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	w("# Installed by `rustynet service install`; regenerate rather than edit.")
	w("[Unit]")
	w("Description=Rustynet mesh node agent")
	w("Wants=network-online.target")
	w("After=network-online.target")
	w("")
	w("[Service]")
	w("Type=notify")
	w("NotifyAccess=main")
	w("ExecStart=%s daemon --config %s", quoteExec(spec.Binary), quoteExec(spec.ConfigFile))
	w("Restart=on-failure")
	w("RestartSec=5s")
	w("RestartPreventExitStatus=2")
	w("KillMode=mixed")
	w("TimeoutStopSec=30s")
	w("StateDirectory=rustynet")
	w("StateDirectoryMode=0700")
	w("RuntimeDirectory=%s", strings.Join(append([]string{"rustynet"}, spec.RuntimeDirectories...), " "))
	w("RuntimeDirectoryMode=0755")
	w("ConfigurationDirectory=rustynet")
	w("UMask=0077")
	w("")
	w("# Privileges: root, with only the capabilities the configured backend needs.")
	w("CapabilityBoundingSet=%s", strings.Join(spec.Capabilities, " "))
	w("AmbientCapabilities=%s", strings.Join(spec.Capabilities, " "))
	w("NoNewPrivileges=yes")
	w("")
	w("# File system and devices.")
	w("ProtectSystem=strict")
	w("ProtectHome=yes")
	w("PrivateTmp=yes")
	if len(spec.Devices) == 0 {
		w("PrivateDevices=yes")
	} else {
		w("DevicePolicy=closed")
		for _, d := range spec.Devices {
			w("DeviceAllow=%s rw", d)
		}
	}
	for _, p := range spec.ReadWritePaths {
		w("ReadWritePaths=%s", quoteExec("-"+p))
	}
	w("ProtectKernelTunables=yes")
	w("ProtectKernelModules=yes")
	w("ProtectKernelLogs=yes")
	w("ProtectControlGroups=yes")
	w("ProtectClock=yes")
	w("ProtectHostname=yes")
	w("ProtectProc=invisible")
	w("")
	w("# Kernel interfaces.")
	families := "AF_UNIX AF_INET AF_INET6"
	if spec.Netlink {
		families += " AF_NETLINK"
	}
	w("RestrictAddressFamilies=%s", families)
	w("RestrictNamespaces=yes")
	w("RestrictRealtime=yes")
	w("RestrictSUIDSGID=yes")
	w("LockPersonality=yes")
	w("MemoryDenyWriteExecute=yes")
	w("SystemCallArchitectures=native")
	w("SystemCallFilter=@system-service")
	w("SystemCallFilter=~@privileged")
	w("SystemCallErrorNumber=EPERM")
	w("")
	w("[Install]")
	w("WantedBy=multi-user.target")
	return b.String()
}

// quoteExec quotes a path for a unit file if it holds a space.
func quoteExec(p string) string {
	if strings.ContainsAny(p, " \t\"\\") {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(p) + `"`
	}
	return p
}

// Systemd manages the unit with systemctl.
type Systemd struct {
	Root string // the file system's root: "/" (a test's directory in tests)
	Run  Runner
}

var _ Manager = Systemd{}

func (s Systemd) unitFile() string { return filepath.Join(s.Root, UnitPath) }

const unitName = Name + ".service"

// Install writes the unit (0644), reloads systemd and enables the unit.
func (s Systemd) Install(spec Spec) (string, error) {
	path := s.unitFile()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return "", err
	}
	if err := writeFile(path, []byte(Unit(spec)), 0o644); err != nil {
		return "", err
	}
	if out, err := s.Run("systemctl", "daemon-reload"); err != nil {
		return out, err
	}
	if out, err := s.Run("systemctl", "enable", unitName); err != nil {
		return out, err
	}
	return fmt.Sprintf("installed %s and enabled it (start it with `rustynet service start`)", UnitPath), nil
}

// Uninstall stops and disables the unit, removes it and reloads systemd.
func (s Systemd) Uninstall() (string, error) {
	if _, err := os.Stat(s.unitFile()); os.IsNotExist(err) {
		return "", fmt.Errorf("%s is not installed (no %s)", unitName, UnitPath)
	}
	if out, err := s.Run("systemctl", "disable", "--now", unitName); err != nil {
		return out, err
	}
	if err := os.Remove(s.unitFile()); err != nil {
		return "", err
	}
	if out, err := s.Run("systemctl", "daemon-reload"); err != nil {
		return out, err
	}
	return fmt.Sprintf("stopped, disabled and removed %s; the configuration and /var/lib/rustynet stay", UnitPath), nil
}

func (s Systemd) Start() (string, error) { return s.Run("systemctl", "start", unitName) }
func (s Systemd) Stop() (string, error)  { return s.Run("systemctl", "stop", unitName) }
func (s Systemd) Status() (string, error) {
	return s.Run("systemctl", "status", "--no-pager", unitName)
}

// writeFile writes data to path with perm, replacing what was there.
func writeFile(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return err
	}
	if err := os.Chmod(tmp, perm); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
