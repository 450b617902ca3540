//go:build windows

package hostapi

import (
	"os"

	"golang.org/x/sys/windows"
)

// redirectStdout sets the original standard output handle aside and makes
// stderr the process's standard output, for os.Stdout and for children.
func redirectStdout() (*os.File, error) {
	out, err := windows.GetStdHandle(windows.STD_OUTPUT_HANDLE)
	if err != nil {
		return nil, err
	}
	errh, err := windows.GetStdHandle(windows.STD_ERROR_HANDLE)
	if err != nil {
		return nil, err
	}
	if err := windows.SetStdHandle(windows.STD_OUTPUT_HANDLE, errh); err != nil {
		return nil, err
	}
	os.Stdout = os.Stderr
	return os.NewFile(uintptr(out), "plugin-handshake-stdout"), nil
}
