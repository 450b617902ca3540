//go:build unix

package fileperm

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// otherUID is a uid no test process runs as.
const otherUID = 4242

func TestCheckPrivate(t *testing.T) {
	tests := []struct {
		name    string
		make    func(t *testing.T, p string)
		wantErr string // a substring of the error; "" for none
	}{
		{"file 0600", mkfile(0o600), ""},
		{"directory 0700", mkdir(0o700), ""},
		{"file 0644", mkfile(0o644), "has mode 0644"},
		{"file 0666", mkfile(0o666), "has mode 0666"},
		{"directory 0755", mkdir(0o755), "has mode 0755"},
		{"symbolic link", func(t *testing.T, p string) { must(t, os.Symlink("/etc/passwd", p)) }, "want a regular file or directory"},
		{"fifo", func(t *testing.T, p string) { must(t, syscall.Mkfifo(p, 0o600)) }, "want a regular file or directory"},
		{"file of another user", owned(mkfile(0o600), otherUID), "is owned by uid 4242"},
		{"directory of another user", owned(mkdir(0o700), otherUID), "is owned by uid 4242"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "entry")
			tt.make(t, p)
			info, err := os.Lstat(p)
			if err != nil {
				t.Fatal(err)
			}
			check(t, CheckPrivate(p, info), p, tt.wantErr)
		})
	}
}

func TestCheckParent(t *testing.T) {
	tests := []struct {
		name    string
		make    func(t *testing.T, p string)
		wantErr string
	}{
		{"0700", mkdir(0o700), ""},
		{"0755, as /var/lib is", mkdir(0o755), ""},
		{"0775", mkdir(0o775), "has mode 0775"},
		{"0777", mkdir(0o777), "has mode 0777"},
		{"sticky 01777, as /tmp is", mkdir(0o777 | fs.ModeSticky), "has mode 0777"},
		{"of another user", owned(mkdir(0o700), otherUID), "is owned by uid 4242"},
		{"a file", mkfile(0o600), "is not a directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "dir")
			tt.make(t, p)
			info, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			check(t, CheckParent(p, info), p, tt.wantErr)
		})
	}
}

func check(t *testing.T, err error, path, wantErr string) {
	t.Helper()
	if wantErr == "" {
		if err != nil {
			t.Fatalf("got %v, want nil", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("got nil, want an error with %q", wantErr)
	}
	if !errors.Is(err, fs.ErrPermission) {
		t.Errorf("got %v, want it to match fs.ErrPermission", err)
	}
	if msg := err.Error(); !strings.Contains(msg, wantErr) || !strings.Contains(msg, path) {
		t.Errorf("got %q, want it to name %s and say %q", msg, path, wantErr)
	}
}

func mkfile(perm fs.FileMode) func(*testing.T, string) {
	return func(t *testing.T, p string) {
		must(t, os.WriteFile(p, nil, 0o600))
		must(t, os.Chmod(p, perm))
	}
}

func mkdir(perm fs.FileMode) func(*testing.T, string) {
	return func(t *testing.T, p string) {
		must(t, os.Mkdir(p, 0o700))
		must(t, os.Chmod(p, perm))
	}
}

// owned makes the entry and gives it to uid, which only root may do.
func owned(mk func(*testing.T, string), uid int) func(*testing.T, string) {
	return func(t *testing.T, p string) {
		if os.Geteuid() != 0 {
			t.Skip("giving a file to another user needs root")
		}
		mk(t, p)
		must(t, os.Lchown(p, uid, -1))
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
