//go:build unix

package controlapi

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

func TestListenCreatesAPrivateDirectoryAndSocket(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "run")
	path := filepath.Join(dir, "control.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	assertMode(t, dir, fs.ModeDir|0o700)
	assertMode(t, path, fs.ModeSocket|0o660)
}

func TestListenLeavesAnExistingDirectoryAlone(t *testing.T) {
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	l, err := Listen(filepath.Join(dir, "control.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	assertMode(t, dir, fs.ModeDir|0o755)
}

func TestListenWithGroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the socket to another group")
	}
	const gid = 4242 // numeric gids need no entry in the group database
	dir := filepath.Join(t.TempDir(), "run")
	path := filepath.Join(dir, "control.sock")
	l, err := ListenConfig{Group: "4242"}.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	assertMode(t, dir, fs.ModeDir|0o750)
	assertMode(t, path, fs.ModeSocket|0o660)
	for _, p := range []string{dir, path} {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Sys().(*syscall.Stat_t).Gid; got != gid {
			t.Errorf("%s: got gid %d, want %d", p, got, gid)
		}
	}
}

func TestListenReplacesAStaleSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	// A socket file nothing listens on, as a crashed daemon leaves it.
	old, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	old.SetUnlinkOnClose(false)
	old.Close()
	if fi, err := os.Lstat(path); err != nil || fi.Mode().Type() != fs.ModeSocket {
		t.Fatalf("stale socket not in place: %v", err)
	}

	l, err := Listen(path)
	if err != nil {
		t.Fatalf("Listen over a stale socket: %v", err)
	}
	serve(t, l, &fakeHandler{status: Status{Node: NodeStatus{ID: "new"}}}, allowAll, nil)
	st, err := dialClient(t, path).Status(ctxT(t))
	if err != nil || st.Node.ID != "new" {
		t.Errorf("got %+v, %v, want the new server's status", st.Node, err)
	}
}

func TestListenDoesNotStealALiveSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	first, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	serve(t, first, &fakeHandler{status: Status{Node: NodeStatus{ID: "first"}}}, allowAll, nil)

	second, err := Listen(path)
	if err == nil {
		second.Close()
		t.Fatal("a second Listen on a live socket succeeded")
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		t.Errorf("got %v, want EADDRINUSE", err)
	}
	st, err := dialClient(t, path).Status(ctxT(t))
	if err != nil || st.Node.ID != "first" {
		t.Errorf("got %+v, %v, want the first server still serving", st.Node, err)
	}
}

func TestListenRefusesToReplaceAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	if err := os.WriteFile(path, []byte("precious"), 0o600); err != nil {
		t.Fatal(err)
	}
	if l, err := Listen(path); err == nil {
		l.Close()
		t.Fatal("Listen replaced a regular file")
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != "precious" {
		t.Errorf("file changed: %q, %v", data, err)
	}
}

func TestListenRefusesALongPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), strings.Repeat("d", 120), "control.sock")
	l, err := Listen(path)
	if err == nil {
		l.Close()
		t.Fatal("Listen accepted a path longer than a socket address holds")
	}
	if !strings.Contains(err.Error(), "at most") {
		t.Errorf("got %v, want an error about the length", err)
	}
}

func TestClosingRemovesTheSocket(t *testing.T) {
	path := filepath.Join(t.TempDir(), "control.sock")
	l, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("got %v, want the socket removed", err)
	}
}

func assertMode(t *testing.T, path string, want fs.FileMode) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := fi.Mode() & (fs.ModeType | fs.ModePerm); got != want {
		t.Errorf("%s: got mode %v, want %v", path, got, want)
	}
}
