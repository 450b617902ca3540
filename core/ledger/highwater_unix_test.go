//go:build unix

package ledger

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rustynet/rustynet/hostapi"
)

// TestHighWaterMustBePrivate checks that the mark obeys the rule of the
// state directory's files: a mark that others may write, that another
// user owns, or that is a symbolic link, in a directory others may write
// or another user owns, is refused with PERMISSION naming it, since
// whoever can replace it can hide a rollback.
func TestHighWaterMustBePrivate(t *testing.T) {
	const other = 4242
	tests := []struct {
		name     string
		root     bool // needs root (chown)
		spoil    func(t *testing.T, hw string)
		wantPath func(hw string) string
		wantMsg  string
	}{
		{"mark 0666", false, func(t *testing.T, hw string) { must(t, os.Chmod(hw, 0o666)) }, self, "has mode 0666"},
		{"mark 0644", false, func(t *testing.T, hw string) { must(t, os.Chmod(hw, 0o644)) }, self, "has mode 0644"},
		{"mark owned by another user", true, func(t *testing.T, hw string) { must(t, os.Lchown(hw, other, -1)) }, self, "uid 4242"},
		{"mark is a symbolic link", false, func(t *testing.T, hw string) {
			must(t, os.Rename(hw, hw+".real"))
			must(t, os.Symlink(hw+".real", hw))
		}, self, "want a regular file"},
		{"directory others may write", false, func(t *testing.T, hw string) { must(t, os.Chmod(filepath.Dir(hw), 0o777)) }, filepath.Dir, "has mode 0777"},
		{"directory of another user", true, func(t *testing.T, hw string) { must(t, os.Lchown(filepath.Dir(hw), other, -1)) }, filepath.Dir, "uid 4242"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.root && os.Geteuid() != 0 {
				t.Skip("giving a file to another user needs root")
			}
			f, _, _ := populated(t, "file")
			tt.spoil(t, f.hw)
			s := openStore(t, "file", f.dir)
			l, err := Open(context.Background(), f.config(s))
			if got := hostapi.CodeOf(err); got != hostapi.CodePermission {
				if l != nil {
					t.Fatalf("Open: got %v (restricted: %v), want PERMISSION", err, l.Restricted())
				}
				t.Fatalf("Open: got %v (%v), want PERMISSION", got, err)
			}
			if msg := err.Error(); !strings.Contains(msg, tt.wantPath(f.hw)) || !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("Open: got %q, want it to name %s and say %q", msg, tt.wantPath(f.hw), tt.wantMsg)
			}
		})
	}
}

func self(p string) string { return p }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
