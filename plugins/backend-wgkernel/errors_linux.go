package wgkernel

import (
	"errors"
	"os"

	"golang.org/x/sys/unix"

	"github.com/rustynet/rustynet/hostapi"
)

// sysErr turns an error of the kernel (netlink, wgctrl) into an error with
// a stable code: missing privileges, missing kernel support, a port in
// use, a vanished interface, or an internal failure.
func sysErr(what string, err error) error {
	code := hostapi.CodeInternal
	switch {
	case errors.Is(err, unix.EPERM), errors.Is(err, unix.EACCES):
		code = hostapi.CodePermission
	case errors.Is(err, unix.EOPNOTSUPP), errors.Is(err, unix.EAFNOSUPPORT), errors.Is(err, unix.EPROTONOSUPPORT):
		code = hostapi.CodeUnsupported
	case errors.Is(err, unix.EADDRINUSE):
		code = hostapi.CodeConflict
	case errors.Is(err, unix.ENODEV), errors.Is(err, os.ErrNotExist):
		code = hostapi.CodeUnavailable
	case errors.Is(err, unix.ENOMEM), errors.Is(err, unix.ENOBUFS), errors.Is(err, unix.EBUSY), errors.Is(err, unix.EAGAIN):
		code = hostapi.CodeUnavailable
	}
	return hostapi.Errorf(code, "wgkernel: %s: %v", what, err)
}
