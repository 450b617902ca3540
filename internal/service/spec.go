package service

import (
	"path/filepath"
	"slices"
	"strings"

	"github.com/rustynet/rustynet/core/config"
	"github.com/rustynet/rustynet/core/paths"
)

// Capabilities and devices a backend needs (see hostapi.Privileges): the
// TUN and kernel backends create and configure interfaces, addresses,
// routes and nftables rules, which takes CAP_NET_ADMIN and netlink; the
// TUN backend opens /dev/net/tun and keeps the UAPI socket in
// /run/wireguard. netstack needs nothing.
const (
	capNetAdmin       = "CAP_NET_ADMIN"
	capNetBindService = "CAP_NET_BIND_SERVICE"
	tunDevice         = "/dev/net/tun"
	uapiDir           = "wireguard" // /run/wireguard, where `wg` looks for UAPI sockets
)

// SpecFor is the service for cfg, run by binary, in the system layout l:
// the capabilities, devices and writable paths its backend and listeners
// need and nothing more.
func SpecFor(cfg *config.Config, binary string, l paths.Layout) Spec {
	s := Spec{Binary: binary, ConfigFile: cfg.File, LogFile: filepath.Join(filepath.Dir(l.StateDir), "rustynet.log")}
	if abs, err := filepath.Abs(cfg.File); err == nil {
		s.ConfigFile = abs
	}
	switch cfg.Backend.Kind {
	case config.BackendWGKernel:
		s.Capabilities, s.Netlink = []string{capNetAdmin}, true
	case config.BackendWGTun, config.BackendAuto:
		s.Capabilities, s.Netlink, s.Devices = []string{capNetAdmin}, true, []string{tunDevice}
		if cfg.Backend.UAPI {
			s.RuntimeDirectories = append(s.RuntimeDirectories, uapiDir)
		}
	}
	if lowPort(cfg) {
		s.Capabilities = append(s.Capabilities, capNetBindService)
	}
	base := filepath.Dir(l.StateDir) // /var/lib/rustynet: the unit's StateDirectory
	for _, p := range []string{cfg.Node.StateDir, filepath.Dir(cfg.Node.HighWaterFile)} {
		if p != "" && !within(p, base) && !slices.Contains(s.ReadWritePaths, p) {
			s.ReadWritePaths = append(s.ReadWritePaths, p)
		}
	}
	if sock := cfg.Control.Socket; sock != "" && !strings.HasPrefix(sock, `\\`) && !within(sock, filepath.Dir(l.ControlSocket)) {
		s.ReadWritePaths = append(s.ReadWritePaths, filepath.Dir(sock))
	}
	return s
}

// lowPort reports whether cfg listens on a port below 1024 (which takes
// CAP_NET_BIND_SERVICE).
func lowPort(cfg *config.Config) bool {
	ports := []uint16{cfg.Backend.ListenPort, cfg.Proxy.SOCKS5.Port(), cfg.Proxy.HTTP.Port(), cfg.Metrics.Listen.Port()}
	for _, f := range cfg.Proxy.Forwards {
		ports = append(ports, f.Listen.Port())
	}
	for _, p := range ports {
		if p != 0 && p < 1024 {
			return true
		}
	}
	return false
}

// within reports whether p is dir or lies below it.
func within(p, dir string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
