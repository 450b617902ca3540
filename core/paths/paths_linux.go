package paths

// homeVar names the home directory's variable; pipeOnly is false: the
// control API is a Unix socket.
const (
	homeVar  = "HOME"
	pipeOnly = false
)

func systemLayout(func(string) string) Layout { return linuxSystem() }
