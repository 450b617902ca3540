package paths

import "golang.org/x/sys/windows"

// homeVar names the home directory's variable; pipeOnly is true: the
// control API is a named pipe in either scope.
const (
	homeVar  = "USERPROFILE"
	pipeOnly = true
)

func systemLayout(getenv func(string) string) Layout { return windowsSystem(getenv) }

// privileged reports whether the process token is elevated: an
// Administrator's elevated process, or a service running as LocalSystem.
func privileged() bool {
	return windows.GetCurrentProcessToken().IsElevated()
}
