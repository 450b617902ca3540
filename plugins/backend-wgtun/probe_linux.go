package wgtun

import (
	"errors"
	"io/fs"

	"github.com/rustynet/rustynet/hostapi"
	"golang.org/x/sys/unix"
)

// tunPath is the Linux TUN clone device.
const tunPath = "/dev/net/tun"

// probe checks, without creating an interface, the two things creating one
// needs: CAP_NET_ADMIN in the effective set (root has it) and an openable
// /dev/net/tun.
func probe() error {
	ok, err := hasNetAdmin()
	if err != nil {
		return hostapi.Errorf(hostapi.CodeUnsupported, "read capabilities: %v", err)
	}
	if !ok {
		return hostapi.Errorf(hostapi.CodePermission, "creating a TUN device needs root or CAP_NET_ADMIN")
	}
	fd, err := unix.Open(tunPath, unix.O_RDWR|unix.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, fs.ErrPermission):
		return hostapi.Errorf(hostapi.CodePermission, "open %s: %v", tunPath, err)
	case err != nil:
		return hostapi.Errorf(hostapi.CodeUnsupported, "open %s: %v (no TUN support: modprobe tun, or give the container the device)", tunPath, err)
	}
	unix.Close(fd)
	return nil
}

// hasNetAdmin reports whether CAP_NET_ADMIN is in this thread's effective
// capability set.
func hasNetAdmin() (bool, error) {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return false, err
	}
	const bit = unix.CAP_NET_ADMIN
	return data[bit/32].Effective&(1<<(bit%32)) != 0, nil
}
