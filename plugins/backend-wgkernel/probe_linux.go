package wgkernel

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/rustynet/rustynet/hostapi"
)

// Probe reports whether this process can run kernel WireGuard now: it
// needs CAP_NET_ADMIN, and the kernel must have WireGuard loaded, built in
// or as a module that loads when the first interface is created. It
// creates nothing. It fails with ErrPermission or ErrUnsupported saying
// which is missing.
func (b *Backend) Probe(ctx context.Context) error {
	var uts unix.Utsname
	if err := unix.Uname(&uts); err != nil {
		return hostapi.Errorf(hostapi.CodeInternal, "wgkernel: uname: %v", err)
	}
	release := unix.ByteSliceToString(uts.Release[:])
	return probe(hasNetAdmin(), "/sys/module", filepath.Join("/lib/modules", release))
}

// probe decides Probe's answer from the facts: whether the process has
// CAP_NET_ADMIN, the sysfs directory of loaded (and versioned built-in)
// modules, and the running kernel's module directory.
func probe(netAdmin bool, sysModules, modulesDir string) error {
	if !netAdmin {
		return hostapi.Errorf(hostapi.CodePermission, "wgkernel: creating and configuring interfaces needs CAP_NET_ADMIN (run as root)")
	}
	if _, err := os.Stat(filepath.Join(sysModules, "wireguard")); err == nil {
		return nil
	}
	for _, index := range []string{"modules.builtin", "modules.dep"} {
		if listsWireGuard(filepath.Join(modulesDir, index)) {
			return nil
		}
	}
	return hostapi.Errorf(hostapi.CodeUnsupported,
		"wgkernel: the kernel has no WireGuard: %s/wireguard is absent and %s lists no wireguard module", sysModules, modulesDir)
}

// listsWireGuard reports whether the modules.dep or modules.builtin file
// at path names the wireguard module.
func listsWireGuard(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		file, _, _ := strings.Cut(sc.Text(), ":")
		base := filepath.Base(file)
		if base == "wireguard.ko" || strings.HasPrefix(base, "wireguard.ko.") {
			return true
		}
	}
	return false
}

// hasNetAdmin reports whether the calling thread has CAP_NET_ADMIN in its
// effective set.
func hasNetAdmin() bool {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false
	}
	const bit = unix.CAP_NET_ADMIN
	return data[bit/32].Effective&(1<<(bit%32)) != 0
}
