package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/rustynet/rustynet/internal/poll"
)

// process is one running daemon.
type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process has exited and err is set
	err  error
}

// startTimeout bounds how long a daemon may take to answer on its control
// socket: generous, since the machine is shared and a large genesis takes
// seconds to verify and push to the backend.
const startTimeout = 2 * time.Minute

// Start writes the node's files, starts `rustynet daemon` for it and waits
// until its control socket answers. It fails the test if the daemon exits
// or does not answer in time.
func (n *Node) Start(cfg NodeConfig) {
	n.c.tb.Helper()
	if err := n.start(cfg); err != nil {
		n.c.tb.Fatalf("starting %s: %v", n.ID, err)
	}
}

func (n *Node) start(cfg NodeConfig) error {
	n.mu.Lock()
	running := n.proc != nil
	n.mu.Unlock()
	if running {
		return errors.New("already running")
	}
	if _, err := n.writeFiles(cfg); err != nil {
		return err
	}
	p, err := n.spawn(cfg, nil)
	if err != nil {
		return err
	}
	n.mu.Lock()
	n.proc, n.lastCfg, n.started = p, cfg, true
	n.mu.Unlock()
	var lastErr error
	err = poll.Until(startTimeout, 20*time.Millisecond, func() bool {
		select {
		case <-p.done:
			return true
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_, lastErr = n.Client().Status(ctx)
		return lastErr == nil
	})
	select {
	case <-p.done:
		n.mu.Lock()
		n.proc = nil
		n.mu.Unlock()
		return fmt.Errorf("the daemon exited (%v); its log ends:\n%s", p.err, n.logTail())
	default:
	}
	if err != nil {
		n.stop(true)
		return fmt.Errorf("the control socket did not answer (%v): %w; the daemon's log ends:\n%s", lastErr, err, n.logTail())
	}
	return nil
}

// spawn starts the daemon with its output appended to the node's log (or,
// if stderr is set, its standard error there as well).
func (n *Node) spawn(cfg NodeConfig, stderr io.Writer) (*process, error) {
	logf, err := os.OpenFile(n.LogFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, err
	}
	attr, err := sysProcAttr(cfg)
	if err != nil {
		logf.Close()
		return nil, err
	}
	cmd := exec.Command(n.c.opts.Bin, "daemon", "--config", n.Config)
	if cfg.Netns != "" {
		// ip netns exec execs the daemon, so the process is the daemon.
		cmd = exec.Command("ip", "netns", "exec", cfg.Netns, n.c.opts.Bin, "daemon", "--config", n.Config)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if stderr != nil {
		cmd.Stderr = io.MultiWriter(logf, stderr)
	}
	cmd.SysProcAttr = attr
	cmd.Env = append(os.Environ(), "HOME="+n.Dir, "XDG_STATE_HOME="+n.Dir, "XDG_RUNTIME_DIR="+n.Dir, "TMPDIR="+n.c.tmp)
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	track(cmd.Process.Pid)
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		logf.Close()
		close(p.done)
	}()
	return p, nil
}

// Exec runs the daemon with cfg until it exits by itself, for a
// configuration it must refuse: it returns the exit status and standard
// error. It fails the test if the daemon is still running after within
// (and then kills it).
func (n *Node) Exec(cfg NodeConfig, within time.Duration) (exitCode int, stderr string) {
	n.c.tb.Helper()
	if _, err := n.writeFiles(cfg); err != nil {
		n.c.tb.Fatal(err)
	}
	var errBuf bytes.Buffer
	p, err := n.spawn(cfg, &errBuf)
	if err != nil {
		n.c.tb.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(within):
		p.cmd.Process.Kill()
		<-p.done
		n.c.tb.Fatalf("the daemon of %s still ran after %s; its log ends:\n%s", n.ID, within, n.logTail())
	}
	return p.cmd.ProcessState.ExitCode(), errBuf.String()
}

// ConfigText returns the node's configuration file as last written.
func (n *Node) ConfigText() string {
	data, err := os.ReadFile(n.Config)
	if err != nil {
		n.c.tb.Fatal(err)
	}
	return string(data)
}

// Stop ends the daemon as an operator would (SIGTERM; SIGKILL after 15 s)
// and waits for it and its plugin processes to exit.
func (n *Node) Stop() { n.stop(false) }

// Kill ends the daemon with SIGKILL, as a crash would, and waits for it
// and its plugin processes to exit.
func (n *Node) Kill() { n.stop(true) }

// Restart stops the daemon if it runs and starts it again with the
// configuration it was started with last.
func (n *Node) Restart() {
	n.c.tb.Helper()
	n.mu.Lock()
	cfg, ok := n.lastCfg, n.started
	n.mu.Unlock()
	if !ok {
		n.c.tb.Fatalf("restarting %s: it was never started", n.ID)
	}
	n.Stop()
	n.Start(cfg)
}

// PID returns the daemon's process id; 0 if it is not running.
func (n *Node) PID() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.proc == nil {
		return 0
	}
	return n.proc.cmd.Process.Pid
}

// Exited reports whether a started daemon has exited by itself.
func (n *Node) Exited() bool {
	n.mu.Lock()
	p := n.proc
	n.mu.Unlock()
	if p == nil {
		return false
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop ends the daemon (SIGKILL if kill, else SIGTERM with SIGKILL after
// 15 s), then checks that its plugins followed it: SPEC §5 wants plugins to
// exit when the daemon dies. A plugin still alive 10 s later fails the
// test and is killed.
func (n *Node) stop(kill bool) {
	n.mu.Lock()
	p := n.proc
	n.proc = nil
	if n.control != nil {
		n.control.Close()
	}
	n.mu.Unlock()
	if p == nil {
		return
	}
	plugins, _ := children(p.cmd.Process.Pid)
	for _, pid := range plugins {
		track(pid)
	}
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	p.cmd.Process.Signal(sig)
	select {
	case <-p.done:
	case <-time.After(15 * time.Second):
		n.c.tb.Errorf("%s: the daemon did not exit within 15 s of %v; killing it", n.ID, sig)
		p.cmd.Process.Kill()
		<-p.done
	}
	for _, pid := range plugins {
		if err := poll.Until(10*time.Second, 20*time.Millisecond, func() bool { return !alive(pid) }); err != nil {
			n.c.tb.Errorf("%s: plugin process %d outlived its daemon by 10 s; killing it", n.ID, pid)
			killPID(pid)
		}
	}
}

// PluginPID returns the process id of the daemon's plugin process serving
// kind ("backend-netstack", "store-file", …), other than not (0: any). It
// fails the test if there is none within a minute.
func (n *Node) PluginPID(kind string, not int) int {
	n.c.tb.Helper()
	daemon := n.PID()
	if daemon == 0 {
		n.c.tb.Fatalf("%s is not running", n.ID)
	}
	var found int
	var lastErr error
	err := poll.Until(time.Minute, 10*time.Millisecond, func() bool {
		kids, err := children(daemon)
		if err != nil {
			lastErr = err
			return false
		}
		for _, pid := range kids {
			args, err := cmdline(pid)
			if err == nil && pid != not && len(args) >= 3 && slices.Equal(args[len(args)-2:], []string{"plugin", kind}) {
				found = pid
				track(pid)
				return true
			}
		}
		return false
	})
	if err != nil {
		n.c.tb.Fatalf("%s: no %s plugin process: %v (%v)", n.ID, kind, err, lastErr)
	}
	return found
}

// logTail returns the end of the daemon's log.
func (n *Node) logTail() string {
	data, err := os.ReadFile(n.LogFile)
	if err != nil {
		return err.Error()
	}
	const max = 6000
	s := string(data)
	if len(s) > max {
		s = "…" + s[len(s)-max:]
	}
	return strings.TrimRight(s, "\n")
}

// LogTail returns the last few kilobytes of the daemon's log.
func (n *Node) LogTail() string { return n.logTail() }
