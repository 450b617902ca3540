package netstack

import (
	"context"
	"io"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/rustynet/rustynet/internal/netnstest"
)

// requireTools skips t unless every named tool is installed.
func requireTools(t testing.TB, names ...string) {
	t.Helper()
	for _, name := range names {
		if _, err := exec.LookPath(name); err != nil {
			t.Skipf("%s is not installed (apt-get install wireguard-tools iproute2): %v", name, err)
		}
	}
}

// hostVeth joins the test process's own (host) namespace to ns with a veth
// pair: hostAddr on the host end, nsAddr on the end inside ns. The pair is
// deleted in t.Cleanup (deleting one end deletes both).
func hostVeth(t testing.TB, ns *netnstest.Namespace, hostAddr, nsAddr netip.Prefix) {
	t.Helper()
	hostName, nsName := netnstest.UniqueName("vh"), netnstest.UniqueName("vn")
	run := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
	}
	run("link", "add", hostName, "type", "veth", "peer", "name", nsName, "netns", ns.Name)
	t.Cleanup(func() {
		// Gone already if the namespace was deleted first.
		_ = exec.Command("ip", "link", "del", hostName).Run()
	})
	run("addr", "add", hostAddr.String(), "dev", hostName)
	run("link", "set", hostName, "up")
	ns.Run(t, "ip", "addr", "add", nsAddr.String(), "dev", nsName)
	ns.Run(t, "ip", "link", "set", nsName, "up")
}

// echoRoundTrip writes msg on c and fails t unless the same bytes come
// back within ioTimeout.
func echoRoundTrip(t testing.TB, c net.Conn, msg string) {
	t.Helper()
	if err := c.SetDeadline(time.Now().Add(ioTimeout)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatalf("send %q: %v", msg, err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("read echo of %q: %v", msg, err)
	}
	if string(got) != msg {
		t.Fatalf("echo: got %q, want %q", got, msg)
	}
}

// cutTimeout is how long an echo over a cut tunnel is given to come back;
// over a live one it returns in milliseconds, even in an emulated VM.
const cutTimeout = 3 * time.Second

// noEcho writes msg on c and fails t if it comes back within cutTimeout. A
// connection that fails instead (the proxy gave up on it) is cut too.
func noEcho(t testing.TB, c net.Conn, msg string) {
	t.Helper()
	if err := c.SetDeadline(time.Now().Add(cutTimeout)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, msg); err != nil {
		t.Logf("send %q on a cut tunnel: %v", msg, err)
		return
	}
	got := make([]byte, len(msg))
	n, err := io.ReadFull(c, got)
	if err == nil {
		t.Errorf("got echo %q over a cut tunnel, want none", got)
		return
	}
	if n > 0 {
		t.Errorf("got %d bytes of echo %q over a cut tunnel, want none", n, got[:n])
	}
	t.Logf("read on a cut tunnel: %v", err)
}

// nsOutput runs a command inside ns and returns its trimmed output.
func nsOutput(t testing.TB, ns *netnstest.Namespace, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	out, err := ns.Output(ctx, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(out)
}
