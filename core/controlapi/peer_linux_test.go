package controlapi

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rustynet/rustynet/internal/lockedbuf"
)

// nobody is the uid and gid the child client runs as.
const nobody = 65534

// TestPeerCredentials runs a real client under another uid: the socket's
// file mode is opened up so that only the peer-credential check can refuse
// it.
func TestPeerCredentials(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to run a client as another uid")
	}
	bin := publicCopyOfTestBinary(t)
	tests := []struct {
		name     string
		group    string
		wantOK   bool
		wantCode string
	}{
		{"not root, not the daemon's uid, no group: refused", "", false, CodeForbidden},
		{"another group: refused", "4242", false, CodeForbidden},
		{"member of the configured group: admitted", "65534", true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := publicTempDir(t)
			path := filepath.Join(dir, "control.sock")
			l, err := Listen(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, 0o666); err != nil {
				t.Fatal(err)
			}
			auth, err := NewAuthorizer(tt.group)
			if err != nil {
				t.Fatal(err)
			}
			var logs lockedbuf.Buffer
			h := &fakeHandler{}
			serve(t, l, h, auth, slog.New(slog.NewTextHandler(&logs, nil)))

			res := runChildClient(t, bin, path)
			if res.UID != nobody {
				t.Fatalf("child ran as uid %d, want %d", res.UID, nobody)
			}
			if res.OK != tt.wantOK || res.Code != tt.wantCode {
				t.Fatalf("child got %+v, want ok=%v code=%q", res, tt.wantOK, tt.wantCode)
			}
			if !tt.wantOK {
				if res.Status != 403 {
					t.Errorf("got HTTP %d, want 403", res.Status)
				}
				if h.callCount() != 0 {
					t.Errorf("handler was called for a refused client")
				}
				if got := logs.String(); !strings.Contains(got, "refused") || !strings.Contains(got, "uid 65534") {
					t.Errorf("got log %q, want the refusal of uid 65534", got)
				}
			} else if h.gotPeer.UID != nobody || h.gotPeer.GID != nobody {
				t.Errorf("handler saw %v, want uid and gid %d", h.gotPeer, nobody)
			}
		})
	}
}

// runChildClient runs the test binary as uid and gid nobody as a client of
// path and returns what it reports.
func runChildClient(t *testing.T, bin, path string) childResult {
	t.Helper()
	cmd := exec.CommandContext(ctxT(t), bin, "-test.run=^$")
	cmd.Dir = filepath.Dir(bin)
	cmd.Env = append(os.Environ(), childSocketEnv+"="+path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("child client: %v\nstderr: %s", err, stderr.String())
	}
	var res childResult
	if err := json.Unmarshal(stdout.Bytes(), &res); err != nil {
		t.Fatalf("child client printed %q: %v", stdout.String(), err)
	}
	return res
}

// publicTempDir returns a temporary directory that every user may enter.
func publicTempDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // t.TempDir makes both levels 0700
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// publicCopyOfTestBinary copies the running test binary where every user
// may execute it: the go build cache directory is private.
func publicCopyOfTestBinary(t *testing.T) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	src, err := os.Open(self)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	bin := filepath.Join(publicTempDir(t), "controlapi.test")
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}
