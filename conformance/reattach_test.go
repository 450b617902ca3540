package conformance_test

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rustynet/rustynet/conformance"
	"github.com/rustynet/rustynet/hostapi"
)

// startReattached starts a test plugin in reattach mode, as a plugin author
// would under a debugger, and returns the line it printed. The plugin is
// killed at cleanup.
func startReattached(t *testing.T, name string) string {
	t.Helper()
	cmd := exec.Command(pluginPath(t, name))
	cmd.Env = append(os.Environ(), hostapi.EnvReattach+"=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	lines := make(chan string, 1)
	go func() {
		defer close(exited)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), hostapi.EnvReattach+"=") {
				lines <- sc.Text()
			}
		}
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		// SIGTERM, as a reattach-mode plugin is meant to be stopped: it
		// then removes its socket directory, which SIGKILL would leave.
		if cmd.Process.Signal(syscall.SIGTERM) == nil {
			select {
			case <-exited:
				return
			case <-time.After(10 * time.Second):
				t.Errorf("%s did not exit within 10s of SIGTERM", name)
			}
		}
		_ = cmd.Process.Kill()
		<-exited
	})
	select {
	case line := <-lines:
		return line
	case <-exited:
		t.Fatalf("%s exited before printing its reattach line", name)
	case <-time.After(30 * time.Second):
		t.Fatalf("%s printed no reattach line within 30s", name)
	}
	return ""
}

// TestMainReattachedStore runs the whole store suite against the example
// plugin running in reattach mode: every case that does not need to launch
// or kill the process passes, and those skip with their reason.
func TestMainReattachedStore(t *testing.T) {
	line := startReattached(t, "rustynet-store-files")
	out := filepath.Join(t.TempDir(), "report.json")
	code, _, stderr := runMain(t, "--reattach", line, "--format", "json", "--out", out)
	if code != conformance.ExitConforms {
		t.Fatalf("exit status: got %d, want %d; stderr:\n%s", code, conformance.ExitConforms, stderr)
	}
	rep := readJSONReport(t, out)
	sum, err := hostapi.FileSHA256(pluginPath(t, "rustynet-store-files"))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Kind != "store" || rep.Info.Name != "files-example" || !strings.HasPrefix(rep.Plugin, "reattached plugin") {
		t.Errorf("report header: got plugin %q kind %q info %+v", rep.Plugin, rep.Kind, rep.Info)
	}
	if _, err := os.Stat("/proc/self/exe"); err == nil && rep.SHA256 != sum {
		t.Errorf("sha256: got %q, want the running executable's %q", rep.SHA256, sum)
	}
	status := map[string]string{}
	for _, c := range rep.Cases {
		status[c.ID] = c.Status
		if c.Status == "skip" && c.Message == "" {
			t.Errorf("case %s skipped without a reason", c.ID)
		}
	}
	for id, want := range map[string]string{
		"process.handshake":          "pass",
		"process.stdout.clean":       "skip", // needs a launch
		"process.host-death":         "skip",
		"store.durable.kill":         "skip", // needs SIGKILL of the process
		"store.log.round-trip":       "pass",
		"store.log.order":            "pass",
		"store.reopen":               "pass",
		"store.lock.second-instance": "pass", // two connections, two stores
		"store.concurrent.append":    "pass",
	} {
		if status[id] != want {
			t.Errorf("case %s: got %q, want %q", id, status[id], want)
		}
	}
	if rep.Summary.Pass < 15 {
		t.Errorf("only %d cases passed through reattach: %+v", rep.Summary.Pass, rep.Summary)
	}
}

// TestMainReattachedBrokenStoreFails checks that the suite still bites
// through reattach: the reordering store fails store.log.order.
func TestMainReattachedBrokenStoreFails(t *testing.T) {
	line := startReattached(t, "reorder")
	code, stdout, stderr := runMain(t, "--reattach", line, "--run", `^store\.log\.order$`)
	if code != conformance.ExitMustFailed {
		t.Fatalf("exit status: got %d, want %d\nstdout:\n%s\nstderr:\n%s", code, conformance.ExitMustFailed, stdout, stderr)
	}
	if !strings.Contains(stdout, "FAIL MUST   store.log.order") {
		t.Errorf("the report does not show store.log.order failing:\n%s", stdout)
	}
}

// TestMainReattachedBackend runs backend cases, including a real handshake
// and traffic between two instances (two connections to one process),
// against the netstack backend in reattach mode.
func TestMainReattachedBackend(t *testing.T) {
	line := startReattached(t, "rustynet-backend-netstack")
	code, stdout, stderr := runMain(t, "--reattach", line, "--run", `^backend\.(info|configure\.read-back|apply\.diff|traffic\.handshake|traffic\.stats)$`)
	if code != conformance.ExitConforms {
		t.Fatalf("exit status: got %d, want %d\nstdout:\n%s\nstderr:\n%s", code, conformance.ExitConforms, stdout, stderr)
	}
	for _, id := range []string{"backend.info", "backend.configure.read-back", "backend.apply.diff", "backend.traffic.handshake", "backend.traffic.stats"} {
		if !strings.Contains(stdout, "PASS MUST   "+id) {
			t.Errorf("the report does not show %s passing:\n%s", id, stdout)
		}
	}
}
