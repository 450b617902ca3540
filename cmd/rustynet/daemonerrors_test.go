//go:build unix

package main

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rustynet/rustynet/core/controlapi"
	"github.com/rustynet/rustynet/core/membership"
	"github.com/rustynet/rustynet/hostapi"
)

// fakeDaemon answers the control API with fixed errors.
type fakeDaemon struct{ err error }

func (f fakeDaemon) Status(context.Context) (controlapi.Status, error) {
	return controlapi.Status{}, f.err
}

func (f fakeDaemon) ApplyUpdate(context.Context, []byte, bool) (controlapi.ApplyResult, error) {
	return controlapi.ApplyResult{}, f.err
}

func (f fakeDaemon) Log(context.Context, uint64, int) (controlapi.LogHead, []*membership.SignedUpdate, error) {
	return controlapi.LogHead{}, nil, f.err
}

// serveFake serves h on a control socket until the test ends and returns
// the socket's path.
func serveFake(t *testing.T, h controlapi.Handler, auth controlapi.Authorizer) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "run", "control.sock")
	l, err := controlapi.Listen(sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := controlapi.NewServer(h, auth, nil, controlapi.Limits{})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		if err := <-done; !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("Serve: %v", err)
		}
	})
	return sock
}

// TestDaemonRefusalsAndRetryableFailures checks how the CLI reports what
// the daemon refuses or cannot do now: FORBIDDEN is a refusal (exit 1)
// that says who may; UNAVAILABLE (a plugin restarting or broken, the
// daemon busy) exits 3 with its own code and says to retry.
func TestDaemonRefusalsAndRetryableFailures(t *testing.T) {
	refuse := controlapi.AuthorizerFunc(func(p controlapi.Peer) error {
		return errors.New("uid 3000 may not use the control API: only root and the daemon's user rustynet (uid 1000) may")
	})
	allow := controlapi.AuthorizerFunc(func(controlapi.Peer) error { return nil })
	update := filepath.Join(t.TempDir(), "u.json")
	if err := os.WriteFile(update, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		sock       string
		wantExit   int
		wantStderr string // prefix
		wantHint   string // on a later line
	}{
		{"forbidden", serveFake(t, fakeDaemon{}, refuse), exitRejected,
			"error: FORBIDDEN: asking the daemon for its status: uid 3000 may not use the control API: only root and the daemon's user rustynet (uid 1000) may", ""},
		{"store plugin restarting", serveFake(t, fakeDaemon{err: hostapi.Errorf(hostapi.CodeUnavailable, "plugin store-file is restarting")}, allow), exitIO,
			"error: UNAVAILABLE: asking the daemon for its status: ", "retry"},
		{"store plugin broken", serveFake(t, fakeDaemon{err: errors.Join(errors.New("plugin store-file"), hostapi.Errorf(hostapi.CodeUnavailable, "plugin crash-looped; the breaker is open"))}, allow), exitIO,
			"error: UNAVAILABLE: asking the daemon for its status: ", "retry"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, args := range [][]string{
				{"status", "--socket", tt.sock},
				{"membership", "apply-update", "--socket", tt.sock, update},
			} {
				r := runCLI(t, args...)
				want := tt.wantStderr
				if args[0] == "membership" {
					want = strings.Replace(want, "asking the daemon for its status", "applying through the daemon", 1)
				}
				first, rest, _ := strings.Cut(r.stderr, "\n")
				if r.exit != tt.wantExit || !strings.HasPrefix(first, want) || !strings.Contains(rest, tt.wantHint) {
					t.Errorf("rustynet %s: exit %d, stderr %q; want exit %d, stderr starting %q with a hint containing %q",
						strings.Join(args, " "), r.exit, r.stderr, tt.wantExit, want, tt.wantHint)
				}
			}
		})
	}
}

// TestInputFilesAreBoundedRegularFiles names, for every kind of input
// file, something that is not one: a device that never ends, a FIFO that
// blocks whoever opens it, a file far larger than any such input. Each is
// a usage error naming the file, at once.
func TestInputFilesAreBoundedRegularFiles(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.json")
	f, err := os.Create(huge)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(maxInputBytes + 1) // sparse: no disk used
	f.Close()
	hugeKey := filepath.Join(dir, "huge.key")
	f, err = os.OpenFile(hugeKey, os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	f.Truncate(1 << 30)
	f.Close()
	sock := filepath.Join(dir, "no.sock")
	tests := []struct {
		args []string
		file string
		why  string
	}{
		{[]string{"daemon", "--config", "/dev/zero"}, "/dev/zero", "not a regular file"},
		{[]string{"daemon", "--config", fifo}, fifo, "not a regular file"},
		{[]string{"status", "--config", "/dev/zero"}, "/dev/zero", "not a regular file"},
		{[]string{"membership", "apply-update", "--socket", sock, "/dev/zero"}, "/dev/zero", "not a regular file"},
		{[]string{"membership", "apply-update", "--socket", sock, fifo}, fifo, "not a regular file"},
		{[]string{"membership", "verify-update", "--from", huge, huge}, huge, "too large"},
		{[]string{"membership", "status", "--from", fifo}, fifo, "not a regular file"},
		{[]string{"key", "public", fifo}, fifo, "not a regular file"},
		{[]string{"key", "public", hugeKey}, hugeKey, "too large"},
		{[]string{"membership", "sign-update", "--key", fifo, huge}, fifo, "not a regular file"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			done := make(chan result, 1)
			go func() { done <- runCLI(t, tt.args...) }()
			var r result
			select {
			case r = <-done:
			case <-time.After(time.Minute):
				t.Fatal("the command did not return: it blocks on the file")
			}
			if r.exit != exitUsage || !strings.HasPrefix(r.stderr, "error: USAGE: ") || !strings.Contains(r.stderr, tt.file) || !strings.Contains(r.stderr, tt.why) {
				t.Errorf("exit %d, stderr %q; want a usage error naming %s: %s", r.exit, r.stderr, tt.file, tt.why)
			}
		})
	}
}

// TestHelpExplainsTheExitStatuses checks that the help says what exits 1
// and 3 besides verdicts and I/O: FORBIDDEN and UNAVAILABLE (retry).
func TestHelpExplainsTheExitStatuses(t *testing.T) {
	got := runCLI(t, "-h")
	for _, want := range []string{"FORBIDDEN", "UNAVAILABLE", "retry"} {
		if !strings.Contains(got.stdout, want) {
			t.Errorf("help lacks %q:\n%s", want, got.stdout)
		}
	}
}

// TestDaemonUnreachable checks what the CLI says when no daemon answers
// on the socket: which socket it tried, why, and to start the daemon or
// pass --socket — for status, status --check and apply-update.
func TestDaemonUnreachable(t *testing.T) {
	dir := t.TempDir()
	notSocket := filepath.Join(dir, "file.sock")
	if err := os.WriteFile(notSocket, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	update := filepath.Join(dir, "u.json")
	if err := os.WriteFile(update, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, sock, reason string
	}{
		{"no socket", filepath.Join(dir, "missing.sock"), "no such file or directory"},
		{"nothing listening", notSocket, "connection refused"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reach := "cannot reach the daemon at " + tt.sock + ": " + tt.reason
			for _, c := range []struct {
				args []string
				what string
			}{
				{[]string{"status", "--socket", tt.sock}, "asking the daemon for its status"},
				{[]string{"membership", "apply-update", "--socket", tt.sock, update}, "applying through the daemon"},
			} {
				r := runCLI(t, c.args...)
				want := "error: IO: " + c.what + ": " + reach + "\n" + notRunningHint + "\n"
				if r.exit != exitIO || r.stderr != want {
					t.Errorf("rustynet %s: exit %d, stderr %q; want exit %d, stderr %q", strings.Join(c.args, " "), r.exit, r.stderr, exitIO, want)
				}
			}
			r := runCLI(t, "status", "--check", "--socket", tt.sock)
			if r.exit != int(controlapi.CheckUnreachable) || !strings.Contains(r.stdout, reach) {
				t.Errorf("status --check: exit %d, stdout %q; want exit %d naming %q", r.exit, r.stdout, controlapi.CheckUnreachable, reach)
			}
		})
	}
}

// TestDaemonErrorsReadWell holds the daemon's answers, as the CLI reports
// them, to the error corpus's rules (errmsg_test.go).
func TestDaemonErrorsReadWell(t *testing.T) {
	allow := controlapi.AuthorizerFunc(func(controlapi.Peer) error { return nil })
	answering := func(code membership.Code, msg string) func(t *testing.T, n *testNet) []string {
		return func(t *testing.T, n *testNet) []string {
			sock := serveFake(t, fakeDaemon{err: &membership.Error{Code: code, Msg: msg}}, allow)
			n.addNode(t, "alice", "bob")
			return []string{"membership", "apply-update", "--socket", sock, "add.json"}
		}
	}
	runErrorCorpus(t, []errorCase{
		{"an update the daemon has", answering(membership.ReplayedUpdate, "update 1050d1 was already applied at epoch 2"),
			exitRejected, "REPLAYED_UPDATE", []string{"applying through the daemon: update 1050d1 was already applied at epoch 2"}},
		{"an update the daemon's head is past", answering(membership.StaleEpoch, "update is for epoch 2, the trusted state is already at epoch 2 (expected 3)"),
			exitRejected, "STALE_EPOCH", []string{"applying through the daemon: update is for epoch 2", "hint: " + staleNextStep}},
		{"a daemon that is not running", func(t *testing.T, n *testNet) []string {
			n.addNode(t, "alice", "bob")
			return []string{"membership", "apply-update", "--socket", filepath.Join(n.dir, "none.sock"), "add.json"}
		}, exitIO, "IO", []string{"applying through the daemon: cannot reach the daemon at ", notRunningHint}},
	})
}
