package netnstest

import (
	"os"
	"strconv"
	"sync/atomic"
)

var nameCounter atomic.Uint64

// UniqueName returns prefix followed by this process's pid, "x" and a
// counter in base 36, so that names are unique across the test binaries
// running on the host at once. With a prefix of at most 4 bytes the result
// fits an interface name (15 bytes) for the first 46,655 names of a process.
func UniqueName(prefix string) string {
	return prefix + strconv.Itoa(os.Getpid()) + "x" + strconv.FormatUint(nameCounter.Add(1), 36)
}
