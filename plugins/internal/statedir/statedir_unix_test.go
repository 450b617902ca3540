//go:build unix

package statedir

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

func TestCapabilitiesUnix(t *testing.T) {
	if !Capabilities.Has(hostapi.StoreCapPermissions) {
		t.Errorf("Capabilities: got %b, want StoreCapPermissions on unix", Capabilities)
	}
}

// TestSpecialEntries checks that entries other than regular files and
// directories are refused: a symlink could point the store's writes
// anywhere, whatever its own mode bits say.
func TestSpecialEntries(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(path string) error
	}{
		{"symlink", func(p string) error { return os.Symlink("/etc/passwd", p) }},
		{"dangling symlink", func(p string) error { return os.Symlink("/nonexistent", p) }},
		{"fifo", func(p string) error { return syscall.Mkfifo(p, 0o600) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := tc.make(filepath.Join(dir, "sub", "entry")); err != nil {
				t.Fatal(err)
			}
			d, err := Open(dir, "", Exclusive)
			if got := hostapi.CodeOf(err); got != hostapi.CodePermission {
				d.Close()
				t.Errorf("Open: got %v (%v), want PERMISSION", got, err)
			}
			if _, err := os.Lstat(filepath.Join(dir, LockFileName)); !os.IsNotExist(err) {
				t.Errorf("lock file after refused Open: got %v, want none created", err)
			}
		})
	}
}

// TestCreateIgnoresUmask checks that a permissive umask cannot loosen the
// directory Open creates.
func TestCreateIgnoresUmask(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
	dir := filepath.Join(t.TempDir(), "state")
	d, err := Open(dir, "", Exclusive)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	for _, p := range []string{dir, filepath.Join(dir, LockFileName)} {
		info, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		if perm := info.Mode().Perm(); perm&0o077 != 0 {
			t.Errorf("%s: got mode %v, want no group or other access", p, perm)
		}
	}
}

// TestOwnership checks that a state directory, or anything in it, owned by
// another user is refused with a PERMISSION error that names the path and
// the owner, before anything is created: its owner could swap the files a
// root daemon writes.
func TestOwnership(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("giving a file to another user needs root")
	}
	const other = 4242
	for _, tc := range []struct {
		name  string
		owned string // relative to the state directory
	}{
		{"the directory", "."},
		{"a subdirectory", "sub"},
		{"a file", "sub/file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "state")
			if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "sub", "file"), nil, 0o600); err != nil {
				t.Fatal(err)
			}
			owned := filepath.Join(dir, tc.owned)
			if err := os.Lchown(owned, other, -1); err != nil {
				t.Fatal(err)
			}
			d, err := Open(dir, "", Exclusive)
			if got := hostapi.CodeOf(err); got != hostapi.CodePermission {
				d.Close()
				t.Fatalf("Open: got %v (%v), want PERMISSION", got, err)
			}
			if msg := err.Error(); !strings.Contains(msg, filepath.Clean(owned)) || !strings.Contains(msg, "uid 4242") {
				t.Errorf("Open: got %q, want it to name %s and its owner uid 4242", msg, owned)
			}
			if _, err := os.Lstat(filepath.Join(dir, LockFileName)); !os.IsNotExist(err) {
				t.Errorf("lock file after refused Open: got %v, want none created", err)
			}
		})
	}
}
