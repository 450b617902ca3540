package controlapi

import (
	"errors"
	"fmt"
	"net"

	"github.com/Microsoft/go-winio"
	"golang.org/x/sys/windows"
)

// Listen listens for control API clients on the named pipe path (e.g.
// \\.\pipe\rustynet), as ListenConfig{}.Listen does.
func Listen(path string) (net.Listener, error) { return ListenConfig{}.Listen(path) }

// ListenConfig configures the control pipe.
type ListenConfig struct {
	// Group must be empty on Windows.
	Group string
}

// Listen creates the named pipe path. Its security descriptor grants access
// to SYSTEM, the Administrators group and the daemon's own user only, and
// refuses remote clients. If the pipe already exists (another daemon serves
// it), Listen fails rather than sharing it.
func (lc ListenConfig) Listen(path string) (net.Listener, error) {
	if lc.Group != "" {
		return nil, errors.New("control groups are not supported on Windows")
	}
	sddl, err := pipeSDDL()
	if err != nil {
		return nil, err
	}
	l, err := winio.ListenPipe(path, &winio.PipeConfig{SecurityDescriptor: sddl})
	if err != nil {
		return nil, fmt.Errorf("control pipe %s (is another daemon running?): %w", path, err)
	}
	return l, nil
}

// pipeSDDL is a protected DACL (no inherited entries) allowing full access to
// SYSTEM (SY), Administrators (BA) and the current user.
func pipeSDDL() (string, error) {
	tu, err := windows.GetCurrentProcessToken().GetTokenUser()
	if err != nil {
		return "", fmt.Errorf("control pipe: reading the daemon's user: %w", err)
	}
	return "D:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GA;;;" + tu.User.Sid.String() + ")", nil
}
