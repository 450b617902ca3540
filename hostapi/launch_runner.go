package hostapi

import (
	"context"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
)

// processRunner is the go-plugin runner for a plugin process. It exists
// because go-plugin's own runner gives the plugin the host's stdin: this one
// gives it the read end of a pipe whose write end only the host holds (end of
// file tells the plugin its host died), and sets the platform's parent-death
// attributes.
type processRunner struct {
	path string
	args []string
	env  []string
	done chan struct{} // closed when the process has exited and been reaped
	tail *tailBuffer   // the end of what the plugin wrote to stderr
	// started, if set, is called once the process has been started.
	started func()

	mu        sync.Mutex // guards the fields below
	stdin     *os.File   // read end of the plugin's stdin; nil once closed
	cmd       *exec.Cmd
	canceled  bool
	pid       int
	stdout    io.ReadCloser
	stderr    io.ReadCloser
	waitErr   error // how the process ended, once done is closed
	closeOnce sync.Once
}

func newProcessRunner(path string, args, env []string, stdin *os.File) *processRunner {
	return &processRunner{path: path, args: args, env: env, stdin: stdin, done: make(chan struct{}), tail: &tailBuffer{}}
}

// prepare builds the command; pluginEnv is go-plugin's environment for the
// plugin (magic cookie, versions, TLS certificate), which wins over env.
func (r *processRunner) prepare(pluginEnv []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	cmd := exec.Command(r.path, r.args...)
	cmd.Env = append(append([]string(nil), r.env...), pluginEnv...)
	cmd.Stdin = r.stdin
	cmd.SysProcAttr = sysProcAttr()
	var err error
	if r.stdout, err = cmd.StdoutPipe(); err != nil {
		return err
	}
	if r.stderr, err = cmd.StderrPipe(); err != nil {
		return err
	}
	r.cmd = cmd
	return nil
}

func (r *processRunner) Start(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	defer r.closeStdinLocked()
	if r.canceled {
		return errors.New("launch canceled")
	}
	if err := r.cmd.Start(); err != nil {
		return err
	}
	r.pid = r.cmd.Process.Pid
	if r.started != nil {
		r.started()
	}
	return nil
}

func (r *processRunner) Wait(context.Context) error {
	err := r.cmd.Wait()
	r.closeOnce.Do(func() {
		r.waitErr = err
		close(r.done)
	})
	return err
}

// exitStatus describes how the process ended, or "" if it has not.
func (r *processRunner) exitStatus() string {
	select {
	case <-r.done:
	default:
		return ""
	}
	if r.waitErr == nil {
		return "exit status 0"
	}
	return r.waitErr.Error()
}

// Kill kills the process, or stops it from starting.
func (r *processRunner) Kill(context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.canceled = true
	if r.cmd == nil || r.cmd.Process == nil {
		return nil
	}
	if err := r.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}

// closeStdin closes the host's copy of the plugin's stdin read end.
func (r *processRunner) closeStdin() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.closeStdinLocked()
}

func (r *processRunner) closeStdinLocked() {
	if r.stdin != nil {
		_ = r.stdin.Close()
		r.stdin = nil
	}
}

func (r *processRunner) Stdout() io.ReadCloser { return r.stdout }
func (r *processRunner) Stderr() io.ReadCloser {
	return struct {
		io.Reader
		io.Closer
	}{io.TeeReader(r.stderr, r.tail), r.stderr}
}

// Name is the plugin's command line, which go-plugin logs and whose base
// name (e.g. "rustynet plugin store-file") labels the plugin's log lines.
func (r *processRunner) Name() string { return strings.Join(append([]string{r.path}, r.args...), " ") }
func (r *processRunner) ID() string   { return strconv.Itoa(r.pid) }

func (r *processRunner) Diagnose(context.Context) string {
	return "A plugin must print nothing on stdout before go-plugin's handshake line " +
		"(plugins built on hostapi.ServeStore or hostapi.ServeBackend cannot); " +
		"also check that the binary is a Rustynet plugin built for this platform."
}

func (r *processRunner) PluginToHost(network, addr string) (string, string, error) {
	return network, addr, nil
}

func (r *processRunner) HostToPlugin(network, addr string) (string, string, error) {
	return network, addr, nil
}

// stderrTailBytes is how much of a plugin's stderr a failed launch reports.
const stderrTailBytes = 2048

// tailBuffer keeps the last stderrTailBytes bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex // guards buf
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if over := len(b.buf) - stderrTailBytes; over > 0 {
		b.buf = append(b.buf[:0], b.buf[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.buf)
}
