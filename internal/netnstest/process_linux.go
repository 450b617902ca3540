package netnstest

import (
	"errors"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/rustynet/rustynet/internal/lockedbuf"
)

// stopGrace is how long a stopped process gets to exit after SIGTERM before
// it is killed.
const stopGrace = 5 * time.Second

// Process is a process running inside a namespace until the end of the test.
type Process struct {
	Cmd *exec.Cmd

	exited chan struct{}    // closed when Wait has returned
	err    error            // Wait's result; read after exited is closed
	output lockedbuf.Buffer // stderr, and stdout unless the caller took it
}

// Start starts name with args inside the namespace. The process gets
// SIGTERM if the test process dies. In tb.Cleanup it gets SIGTERM, then
// SIGKILL if it has not exited within a few seconds, and is waited for; its
// output is logged if the test failed.
func (n *Namespace) Start(tb testing.TB, name string, args ...string) *Process {
	tb.Helper()
	p := n.prepare(name, args...)
	p.Cmd.Stdout = &p.output
	p.start(tb)
	return p
}

// prepare builds the command of a Process without starting it.
func (n *Namespace) prepare(name string, args ...string) *Process {
	cmd := exec.Command("ip", append([]string{"netns", "exec", n.Name, name}, args...)...)
	p := &Process{Cmd: cmd, exited: make(chan struct{})}
	cmd.Stderr = &p.output
	// `ip netns exec` execs the command, so the signal reaches it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	return p
}

// start starts the prepared command and registers its stop.
func (p *Process) start(tb testing.TB) {
	tb.Helper()
	if err := p.Cmd.Start(); err != nil {
		tb.Fatalf("start %v: %v", p.Cmd.Args, err)
	}
	go func() {
		p.err = p.Cmd.Wait()
		close(p.exited)
	}()
	tb.Cleanup(func() {
		p.Stop()
		if tb.Failed() {
			tb.Logf("output of %v:\n%s", p.Cmd.Args, p.output.String())
		}
	})
}

// Exited is closed when the process has exited.
func (p *Process) Exited() <-chan struct{} { return p.exited }

// Stop stops the process (SIGTERM, then SIGKILL after a grace period) and
// waits for it. It returns the process's exit error, or nil if it exited
// cleanly or because of the SIGTERM. Stop is idempotent.
func (p *Process) Stop() error {
	select {
	case <-p.exited:
		return p.exitErr()
	default:
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(stopGrace)
	defer timer.Stop()
	select {
	case <-p.exited:
	case <-timer.C:
		_ = p.Cmd.Process.Kill()
		<-p.exited
	}
	return p.exitErr()
}

// exitErr is the process's exit error, treating death by SIGTERM as clean.
func (p *Process) exitErr() error {
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() && ws.Signal() == syscall.SIGTERM {
			return nil
		}
	}
	return p.err
}

// Output returns what the process wrote to its captured streams so far.
func (p *Process) Output() string { return p.output.String() }
