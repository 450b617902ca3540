package netnstest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
)

var availability struct {
	once   sync.Once
	reason string
	ok     bool
}

// Available reports whether this process can create network namespaces: it
// runs as root, iproute2's `ip` is installed, and a namespace can really be
// added and deleted. When it cannot, reason says why. The answer is computed
// once per process.
func Available() (reason string, ok bool) {
	a := &availability
	a.once.Do(func() { a.reason, a.ok = probe() })
	return a.reason, a.ok
}

func probe() (string, bool) {
	if os.Geteuid() != 0 {
		return "network namespaces need root", false
	}
	if _, err := exec.LookPath("ip"); err != nil {
		return "iproute2's ip is not installed (apt-get install iproute2)", false
	}
	name := UniqueName(nsPrefix)
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		return fmt.Sprintf("ip netns add failed: %v: %s", err, strings.TrimSpace(string(out))), false
	}
	if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
		return fmt.Sprintf("ip netns del failed: %v: %s", err, strings.TrimSpace(string(out))), false
	}
	return "", true
}

// Require skips tb, with the reason Available gives, when network namespaces
// cannot be created here, and in -short mode.
func Require(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("-short: no network namespaces (scripts/test.sh runs every namespace test)")
	}
	if reason, ok := Available(); !ok {
		tb.Skip("netnstest: " + reason)
	}
}
