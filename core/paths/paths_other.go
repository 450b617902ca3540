//go:build unix && !linux && !darwin

package paths

// homeVar names the home directory's variable; pipeOnly is false: the
// control API is a Unix socket.
const (
	homeVar  = "HOME"
	pipeOnly = false
)

// systemLayout on other Unix systems is Linux's FHS layout.
func systemLayout(func(string) string) Layout { return linuxSystem() }
