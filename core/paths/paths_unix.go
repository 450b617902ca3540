//go:build unix

package paths

import "os"

// privileged reports whether the process runs as root.
func privileged() bool { return os.Geteuid() == 0 }
