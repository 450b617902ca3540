package netnstest

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"

	"github.com/rustynet/rustynet/internal/netnamespace"
)

// nsPrefix starts the name of every namespace this package creates; sweep
// relies on it.
const nsPrefix = "rnt"

// Namespace is a named network namespace (as `ip netns` knows it) that lives
// until the end of the test that created it. Its loopback interface is up.
type Namespace struct {
	// Name is the namespace's name for `ip netns` and `ip -n`.
	Name string

	// handle is an open handle on the namespace, for Do, Netlink and
	// Connect; closed in cleanup.
	handle netns.NsHandle
}

// New creates a network namespace with a unique name, brings its loopback
// up, and registers its removal with tb.Cleanup. It skips tb when namespaces
// are not available (see Available) and fails it if creation fails.
func New(tb testing.TB) *Namespace {
	tb.Helper()
	Require(tb)
	sweep()

	n := &Namespace{Name: UniqueName(nsPrefix), handle: netns.None()}
	if out, err := exec.Command("ip", "netns", "add", n.Name).CombinedOutput(); err != nil {
		tb.Fatalf("ip netns add %s: %v: %s", n.Name, err, strings.TrimSpace(string(out)))
	}
	tb.Cleanup(func() { n.remove(tb) })

	h, err := netns.GetFromName(n.Name)
	if err != nil {
		tb.Fatalf("open namespace %s: %v", n.Name, err)
	}
	n.handle = h
	n.Run(tb, "ip", "link", "set", "lo", "up")
	return n
}

// remove closes the handle and deletes the namespace. Interfaces inside it
// disappear with it once no process or socket uses it any more.
func (n *Namespace) remove(tb testing.TB) {
	tb.Helper()
	if n.handle.IsOpen() {
		n.handle.Close()
	}
	if out, err := exec.Command("ip", "netns", "del", n.Name).CombinedOutput(); err != nil {
		tb.Errorf("ip netns del %s: %v: %s", n.Name, err, strings.TrimSpace(string(out)))
	}
}

// Do runs fn on an OS thread that has entered the namespace and returns
// fn's error (netnamespace.Do). Sockets and netlink handles fn opens belong
// to the namespace. Goroutines fn starts do not run in the namespace. A
// panic in fn is re-raised in the caller.
func (n *Namespace) Do(fn func() error) error { return netnamespace.Do(n.handle, fn) }

// Command returns a command that runs name with args inside the namespace
// (through `ip netns exec`, which execs it, so the process is the command).
func (n *Namespace) Command(ctx context.Context, name string, args ...string) *exec.Cmd {
	return exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
}

// Run runs name with args inside the namespace, fails tb if it fails, and
// returns its combined output.
func (n *Namespace) Run(tb testing.TB, name string, args ...string) string {
	tb.Helper()
	out, err := n.Output(context.Background(), name, args...)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

// Output runs name with args inside the namespace and returns its combined
// output; the error, if any, includes the output.
func (n *Namespace) Output(ctx context.Context, name string, args ...string) (string, error) {
	out, err := n.Command(ctx, name, args...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("in %s: %s %s: %w: %s", n.Name, name, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// Netlink returns a netlink handle that acts inside the namespace from any
// goroutine; it is closed in tb.Cleanup.
func (n *Namespace) Netlink(tb testing.TB) *netlink.Handle {
	tb.Helper()
	h, err := netlink.NewHandleAt(n.handle)
	if err != nil {
		tb.Fatalf("netlink handle in %s: %v", n.Name, err)
	}
	tb.Cleanup(h.Close)
	return h
}
