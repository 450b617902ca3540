package netnstest

import (
	"bufio"
	"context"
	"errors"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func inodeOf(fi fs.FileInfo) uint64 { return fi.Sys().(*syscall.Stat_t).Ino }

func TestUniqueName(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		name := UniqueName("wgt")
		if len(name) > 15 {
			t.Fatalf("UniqueName(%q) = %q: got %d bytes, want at most 15", "wgt", name, len(name))
		}
		if seen[name] {
			t.Fatalf("UniqueName returned %q twice", name)
		}
		seen[name] = true
	}
}

func TestOwnerPid(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantPid int
		wantOK  bool
	}{
		{"ours", "rnt1234x1f", 1234, true},
		{"no counter", "rnt1234", 0, false},
		{"other prefix", "foo1234x1", 0, false},
		{"not a number", "rntabcx1", 0, false},
		{"zero", "rnt0x1", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pid, ok := ownerPid(tt.in)
			if pid != tt.wantPid || ok != tt.wantOK {
				t.Errorf("ownerPid(%q) = %d, %v; want %d, %v", tt.in, pid, ok, tt.wantPid, tt.wantOK)
			}
		})
	}
}

// TestDoEntersNamespace checks that Do runs on a thread inside the namespace
// and leaves the caller's namespace alone.
func TestDoEntersNamespace(t *testing.T) {
	ns := New(t)
	want, err := netnsInode("/run/netns/" + ns.Name)
	if err != nil {
		t.Fatal(err)
	}
	var got uint64
	if err := ns.Do(func() error {
		got, err = netnsInode("/proc/thread-self/ns/net")
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("namespace inside Do: got inode %d, want %d", got, want)
	}
	// Interfaces listed inside Do are the namespace's: only loopback.
	var names []string
	if err := ns.Do(func() error {
		ifs, err := net.Interfaces()
		for _, i := range ifs {
			names = append(names, i.Name)
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"lo"}, names); diff != "" {
		t.Errorf("interfaces inside Do (-want +got):\n%s", diff)
	}
}

// TestDoKeepsChildrenAlive runs Do many times while a child process runs:
// a thread that ends would fire the child's parent-death signal if that
// thread had started it.
func TestDoKeepsChildrenAlive(t *testing.T) {
	ns := New(t)
	p := ns.Start(t, "sleep", "600")
	for range 200 {
		if err := ns.Do(func() error { return nil }); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-p.Exited():
		t.Fatalf("child died while Do ran: %v", p.Stop())
	default:
	}
	// The calling thread is back in the root namespace.
	self, err := netnsInode("/proc/thread-self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	root, err := netnsInode("/proc/self/ns/net")
	if err != nil {
		t.Fatal(err)
	}
	if self != root {
		t.Errorf("caller's thread namespace: got inode %d, want the process's %d", self, root)
	}
}

func TestDoReturnsErrorAndPanic(t *testing.T) {
	ns := New(t)
	sentinel := errors.New("sentinel")
	if err := ns.Do(func() error { return sentinel }); !errors.Is(err, sentinel) {
		t.Errorf("Do: got %v, want %v", err, sentinel)
	}
	defer func() {
		if p := recover(); p != "boom" {
			t.Errorf("recovered %v, want boom", p)
		}
	}()
	_ = ns.Do(func() error { panic("boom") })
	t.Error("Do returned after a panic in fn")
}

// TestVethCarriesTCP joins two namespaces and echoes bytes over TCP between
// sockets opened inside them.
func TestVethCarriesTCP(t *testing.T) {
	a, b := New(t), New(t)
	v := Connect(t, a, netip.MustParsePrefix("10.99.7.1/24"), b, netip.MustParsePrefix("10.99.7.2/24"))

	var ln net.Listener
	if err := b.Do(func() (err error) {
		ln, err = net.Listen("tcp", netip.AddrPortFrom(v.AddrB.Addr(), 0).String())
		return err
	}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		_, _ = io.Copy(c, c)
	}()

	var c net.Conn
	if err := a.Do(func() (err error) {
		c, err = net.DialTimeout("tcp", ln.Addr().String(), 5*time.Second)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.LocalAddr().(*net.TCPAddr).AddrPort().Addr(); got != v.AddrA.Addr() {
		t.Errorf("local address: got %v, want %v", got, v.AddrA.Addr())
	}
	const msg = "hello across the veth\n"
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	got, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	if got != msg {
		t.Errorf("echo: got %q, want %q", got, msg)
	}

	// The pair is visible with netlink inside the namespace.
	link, err := b.Netlink(t).LinkByName(v.NameB)
	if err != nil {
		t.Fatal(err)
	}
	if link.Type() != "veth" {
		t.Errorf("link %s: got type %q, want veth", v.NameB, link.Type())
	}
}

func TestChildRunsInNamespace(t *testing.T) {
	ns := New(t)
	want, err := netnsInode("/run/netns/" + ns.Name)
	if err != nil {
		t.Fatal(err)
	}
	child := ns.StartChild(t, "netns-echo")
	r := bufio.NewReader(child.Conn)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read from child: %v; output: %s", err, child.Output())
	}
	got, err := strconv.ParseUint(strings.TrimSpace(line), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("child's namespace: got inode %d, want %d", got, want)
	}
	if _, err := io.WriteString(child.Conn, "ping\n"); err != nil {
		t.Fatal(err)
	}
	if line, err := r.ReadString('\n'); err != nil || line != "ping\n" {
		t.Errorf("echo: got %q, %v; want %q", line, err, "ping\n")
	}
	// Closing the pipe ends the child cleanly.
	child.Conn.Close()
	select {
	case <-child.Exited():
	case <-time.After(10 * time.Second):
		t.Fatal("child did not exit after its stdin closed")
	}
	if err := child.Stop(); err != nil {
		t.Errorf("child exit: %v; output: %s", err, child.Output())
	}
}

func TestStartStopsProcess(t *testing.T) {
	ns := New(t)
	p := ns.Start(t, "sleep", "600")
	if err := p.Stop(); err != nil {
		t.Errorf("Stop: got %v, want nil (SIGTERM counts as clean)", err)
	}
	select {
	case <-p.Exited():
	default:
		t.Error("process still running after Stop")
	}
}

// helperEnv makes TestHelperFailingTest run; the helper is the body of
// TestCleanupAfterFailure, which runs it in a separate test process.
const helperEnv = "NETNSTEST_HELPER_MODE"

// TestHelperFailingTest creates a namespace, a veth pair and a process,
// prints their names, and then fails or panics as helperEnv says.
func TestHelperFailingTest(t *testing.T) {
	mode := os.Getenv(helperEnv)
	if mode == "" {
		t.Skip("helper for TestCleanupAfterFailure")
	}
	a, b := New(t), New(t)
	v := Connect(t, a, netip.MustParsePrefix("10.99.8.1/24"), b, netip.MustParsePrefix("10.99.8.2/24"))
	p := a.Start(t, "sleep", "600")
	os.Stdout.WriteString("RESOURCES " + a.Name + " " + b.Name + " " + v.NameA + " " + strconv.Itoa(p.Cmd.Process.Pid) + "\n")
	switch mode {
	case "fail":
		t.Fatal("failing on purpose")
	case "panic":
		panic("panicking on purpose")
	}
}

// TestCleanupAfterFailure runs a test that fails (and one that panics) in a
// separate process, and checks that nothing it created survives.
func TestCleanupAfterFailure(t *testing.T) {
	Require(t)
	for _, mode := range []string{"fail", "panic"} {
		t.Run(mode, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperFailingTest$", "-test.v")
			cmd.Env = append(os.Environ(), helperEnv+"="+mode)
			out, err := cmd.CombinedOutput()
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("helper: got %v, want a failing exit; output:\n%s", err, out)
			}
			var fields []string
			for line := range strings.Lines(string(out)) {
				if rest, ok := strings.CutPrefix(line, "RESOURCES "); ok {
					fields = strings.Fields(rest)
				}
			}
			if len(fields) != 4 {
				t.Fatalf("helper printed no resources; output:\n%s", out)
			}
			for _, name := range fields[:2] {
				if _, err := os.Stat("/run/netns/" + name); !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("namespace %s: got stat error %v, want it gone", name, err)
				}
			}
			if _, err := net.InterfaceByName(fields[2]); err == nil {
				t.Errorf("veth %s visible in the root namespace", fields[2])
			}
			pid, _ := strconv.Atoi(fields[3])
			if processAlive(pid) {
				t.Errorf("process %d still alive", pid)
			}
		})
	}
}

// TestSweepRemovesStaleNamespace plants a namespace named for a pid that
// cannot exist and checks that the sweep deletes it.
func TestSweepRemovesStaleNamespace(t *testing.T) {
	Require(t)
	pidMax, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		t.Fatal(err)
	}
	// Pids are below pid_max, so this one belongs to no process.
	stale := nsPrefix + strings.TrimSpace(string(pidMax)) + "x1"
	if out, err := exec.Command("ip", "netns", "add", stale).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", stale).Run() })
	sweepStale()
	if _, err := os.Stat("/run/netns/" + stale); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("stale namespace %s: got stat error %v, want it gone", stale, err)
	}
}

func TestOutputReportsFailure(t *testing.T) {
	ns := New(t)
	_, err := ns.Output(context.Background(), "ip", "link", "show", "no-such-link")
	if err == nil || !strings.Contains(err.Error(), "no-such-link") {
		t.Errorf("Output: got %v, want an error naming the command", err)
	}
}
