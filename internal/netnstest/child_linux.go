package netnstest

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"testing"
	"time"
)

// childEnv names the child to run in a re-executed test binary.
const childEnv = "RUSTYNET_NETNSTEST_CHILD"

// ChildFunc is the body of a child process started with StartChild. It
// serves its parent over conn (the child's stdin and stdout) and must return
// when conn reaches end of file (the parent stopped it) or ctx is done (the
// child got SIGTERM). Logs go to stderr, which the parent captures.
type ChildFunc func(ctx context.Context, conn io.ReadWriteCloser) error

// children holds the registered children; written only before Main.
var children = map[string]ChildFunc{}

// RegisterChild registers fn as the child called name. Call it before Main,
// from init or TestMain.
func RegisterChild(name string, fn ChildFunc) {
	if _, dup := children[name]; dup {
		panic("netnstest: child " + name + " registered twice")
	}
	children[name] = fn
}

// Main is for TestMain. In a process started by StartChild it runs the
// requested child and exits; otherwise it runs the tests and exits.
func Main(m *testing.M) {
	if name, ok := os.LookupEnv(childEnv); ok {
		os.Exit(runChild(name))
	}
	os.Exit(m.Run())
}

// runChild runs the child called name and returns the exit code.
func runChild(name string) int {
	fn, ok := children[name]
	if !ok {
		fmt.Fprintf(os.Stderr, "netnstest: no child %q registered\n", name)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	if err := fn(ctx, stdio{}); err != nil {
		fmt.Fprintf(os.Stderr, "netnstest: child %s: %v\n", name, err)
		return 1
	}
	return 0
}

// stdio is the child's end of the pipe: stdin and stdout.
type stdio struct{}

func (stdio) Read(p []byte) (int, error)  { return os.Stdin.Read(p) }
func (stdio) Write(p []byte) (int, error) { return os.Stdout.Write(p) }
func (stdio) Close() error {
	err := os.Stdin.Close()
	if err2 := os.Stdout.Close(); err == nil {
		err = err2
	}
	return err
}

// Child is a copy of the test binary running a registered ChildFunc inside a
// namespace. The test talks to it over Conn.
type Child struct {
	*Process
	// Conn is the parent's end of the pipe: it writes to the child's stdin
	// and reads from its stdout.
	Conn io.ReadWriteCloser
}

// ChildArgs returns the command line (program first) and the environment
// entries to add that run the child registered as name: the test binary,
// re-executed. The test package's TestMain must call Main.
func ChildArgs(name string) (argv, env []string, err error) {
	if _, ok := children[name]; !ok {
		return nil, nil, fmt.Errorf("netnstest: no child %q registered", name)
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, fmt.Errorf("netnstest: find test binary: %w", err)
	}
	return []string{exe, "-test.run=^$"}, []string{childEnv + "=" + name}, nil
}

// ChildArgs is the package's ChildArgs run inside the namespace, for
// callers that start the process themselves (hostapi.LaunchBackend, for
// one). They own its cleanup.
func (n *Namespace) ChildArgs(name string) (argv, env []string, err error) {
	argv, env, err = ChildArgs(name)
	if err != nil {
		return nil, nil, err
	}
	return append([]string{"ip", "netns", "exec", n.Name}, argv...), env, nil
}

// StartChild re-executes the test binary inside the namespace, running the
// child registered as name (the test package's TestMain must call Main). In
// tb.Cleanup, Conn is closed, and the child is given a few seconds to exit
// before it is stopped like any Process.
func (n *Namespace) StartChild(tb testing.TB, name string) *Child {
	tb.Helper()
	argv, env, err := ChildArgs(name)
	if err != nil {
		tb.Fatal(err)
	}
	p := n.prepare(argv[0], argv[1:]...)
	p.Cmd.Env = append(os.Environ(), env...)
	stdin, err := p.Cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := p.Cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	c := &Child{Process: p, Conn: pipeConn{ReadCloser: stdout, WriteCloser: stdin}}
	p.start(tb)
	tb.Cleanup(func() {
		c.Conn.Close()
		timer := time.NewTimer(stopGrace)
		defer timer.Stop()
		select {
		case <-p.exited:
		case <-timer.C:
		}
	})
	return c
}

// pipeConn joins the two pipes to a child into one connection.
type pipeConn struct {
	io.ReadCloser
	io.WriteCloser
}

func (c pipeConn) Close() error {
	err := c.WriteCloser.Close()
	if err2 := c.ReadCloser.Close(); err == nil {
		err = err2
	}
	return err
}
