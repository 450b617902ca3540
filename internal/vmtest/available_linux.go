package vmtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// Available reports whether this host can run VMs. If not, reason names
// what is missing and how to install it. It checks for QEMU, a static
// busybox, and either a cached kernel or the tools to fetch one (apt-get,
// dpkg-deb, depmod); it does not touch the network.
func Available() (reason string, ok bool) {
	var missing []string
	if _, err := exec.LookPath(qemuBinary); err != nil {
		missing = append(missing, qemuBinary+" (qemu-system-x86)")
	}
	if _, err := findBusybox(); err != nil {
		missing = append(missing, "a static busybox (busybox-static)")
	}
	if _, err := exec.LookPath("depmod"); err != nil {
		missing = append(missing, "depmod (kmod)")
	}
	if !haveCachedKernel() {
		for _, tool := range []string{"apt-get", "apt-cache", "dpkg-deb"} {
			if _, err := exec.LookPath(tool); err != nil {
				missing = append(missing, tool+" (no kernel is cached and it cannot be fetched)")
			}
		}
	}
	if len(missing) > 0 {
		return "VM tests need " + strings.Join(missing, ", ") +
			"; install with scripts/vm/install-prereqs.sh", false
	}
	return "", true
}

// haveCachedKernel reports whether the cache holds a prepared kernel.
func haveCachedKernel() bool {
	dir, err := CacheDir()
	if err != nil {
		return false
	}
	_, err = newestCachedKernel(filepath.Join(dir, "kernels"))
	return err == nil
}

// Required reports whether a host without the prerequisites is an error
// rather than a reason to skip: in CI (CI=true), whose script installs them,
// a skipped VM test would hide a broken setup.
func Required() bool {
	return os.Getenv("CI") == "true"
}
