package wgtun

import (
	"os"

	"github.com/rustynet/rustynet/hostapi"
	"golang.org/x/sys/unix"
)

// probe checks, without creating an interface, what creating a utun needs:
// root, and the utun kernel control.
func probe() error {
	if os.Geteuid() != 0 {
		return hostapi.Errorf(hostapi.CodePermission, "creating a utun interface needs root")
	}
	fd, err := unix.Socket(unix.AF_SYSTEM, unix.SOCK_DGRAM, 2 /* SYSPROTO_CONTROL */)
	if err != nil {
		return hostapi.Errorf(hostapi.CodeUnsupported, "open a kernel control socket: %v", err)
	}
	defer unix.Close(fd)
	info := &unix.CtlInfo{}
	copy(info.Name[:], "com.apple.net.utun_control")
	if err := unix.IoctlCtlInfo(fd, info); err != nil {
		return hostapi.Errorf(hostapi.CodeUnsupported, "no utun kernel control: %v", err)
	}
	return nil
}
