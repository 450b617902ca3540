//go:build unix

package hostapi_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rustynet/rustynet/internal/poll"
)

// TestPluginExitsWhenHostIsKilled runs a host in a middle process, SIGKILLs
// it, and checks that its plugin exits on its own: through the kernel's
// parent-death signal (Linux) and through the stdin pipe alone (every
// platform), which also lets the plugin close its store first.
func TestPluginExitsWhenHostIsKilled(t *testing.T) {
	tests := []struct {
		name      string
		stdinOnly bool
	}{
		{"parent-death signal and stdin", false},
		{"stdin pipe alone", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			marker := filepath.Join(t.TempDir(), "closed")
			host := exec.Command(selfPath(t))
			// The killed host cannot remove its socket directory; keep it
			// in one the test removes, short enough for a socket path.
			tmp, err := os.MkdirTemp("", "hd")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = os.RemoveAll(tmp) })
			host.Env = append(os.Environ(), helperEnv+"=host", closeMarkerEnv+"="+marker, "TMPDIR="+tmp)
			if tt.stdinOnly {
				host.Env = append(host.Env, noPdeathEnv+"=1")
			}
			host.Stderr = os.Stderr
			stdin, err := host.StdinPipe()
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = stdin.Close() })
			stdout, err := host.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			if err := host.Start(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				_ = host.Process.Kill()
				_ = host.Wait()
			})

			line, err := bufio.NewReader(stdout).ReadString('\n')
			if err != nil {
				t.Fatalf("reading the plugin pid from the host: %v", err)
			}
			pid, err := strconv.Atoi(strings.TrimSpace(line))
			if err != nil {
				t.Fatalf("host printed %q, want a pid", line)
			}
			if !processAlive(pid) {
				t.Fatalf("plugin %d not running before the host is killed", pid)
			}
			t.Cleanup(func() { _ = syscall.Kill(pid, syscall.SIGKILL) })

			if err := host.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = host.Wait()

			waitGone(t, pid)
			if tt.stdinOnly {
				if _, err := os.Stat(marker); err != nil {
					t.Errorf("plugin exited without closing its store: %v", err)
				}
			}
		})
	}
}

// waitGone polls until pid has exited (or is a zombie nobody reaps).
func waitGone(t *testing.T, pid int) {
	t.Helper()
	if err := poll.Until(testTimeout, 10*time.Millisecond, func() bool { return !processAlive(pid) }); err != nil {
		t.Fatalf("plugin %d still running %s after its host was killed", pid, testTimeout)
	}
}
