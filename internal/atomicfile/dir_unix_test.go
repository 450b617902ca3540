//go:build unix

package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

// TestDirFollowsNoLink plants symbolic links where a Dir writes and
// checks that nothing reaches what they point to.
func TestDirFollowsNoLink(t *testing.T) {
	tests := []struct {
		name  string
		plant func(t *testing.T, dir, victim string) // after OpenDir
		write func(d *Dir) error
		want  string // the content "f" in the opened directory ends with
	}{
		{"temporary name is a link", func(t *testing.T, dir, victim string) {
			must(t, os.Symlink(victim, filepath.Join(dir, ".tmp")))
		}, func(d *Dir) error { return d.Replace(".tmp", "f", 0o600, []byte("new")) }, "new"},
		{"target is a link", func(t *testing.T, dir, victim string) {
			must(t, os.Remove(filepath.Join(dir, "f")))
			must(t, os.Symlink(victim, filepath.Join(dir, "f")))
		}, func(d *Dir) error { return d.WriteFile("f", []byte("new"), 0o600) }, "new"},
		{"directory renamed and a link put in its place", func(t *testing.T, dir, victim string) {
			must(t, os.Rename(dir, dir+".moved"))
			must(t, os.Symlink(filepath.Dir(victim), dir))
		}, func(d *Dir) error { return d.WriteFile("f", []byte("new"), 0o600) }, "new"},
		{"Create over a link", func(t *testing.T, dir, victim string) {
			must(t, os.Remove(filepath.Join(dir, "f")))
			must(t, os.Symlink(victim, filepath.Join(dir, "f")))
		}, func(d *Dir) error { return d.Create("f", []byte("new"), 0o600) }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			dir := filepath.Join(root, "dir")
			must(t, os.Mkdir(dir, 0o700))
			must(t, os.WriteFile(filepath.Join(dir, "f"), []byte("old"), 0o600))
			victim := filepath.Join(t.TempDir(), "f")
			must(t, os.WriteFile(victim, []byte("victim"), 0o600))
			d, err := OpenDir(dir)
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			tt.plant(t, dir, victim)
			werr := tt.write(d)
			if got, _ := os.ReadFile(victim); string(got) != "victim" {
				t.Errorf("the write (error %v) reached the link's target: it now holds %q", werr, got)
			}
			if tt.want == "" {
				if werr == nil {
					t.Errorf("the write succeeded, want it refused")
				}
				return
			}
			if werr != nil {
				t.Fatalf("write: %v", werr)
			}
			f, err := d.Open("f")
			if err != nil {
				t.Fatalf("reading back: %v", err)
			}
			defer f.Close()
			got := make([]byte, 16)
			n, _ := f.Read(got)
			if string(got[:n]) != tt.want {
				t.Errorf("f holds %q, want %q", got[:n], tt.want)
			}
		})
	}
}

func TestDirRefusesLinks(t *testing.T) {
	root := t.TempDir()
	real := filepath.Join(root, "real")
	must(t, os.Mkdir(real, 0o700))
	must(t, os.WriteFile(filepath.Join(real, "file"), nil, 0o600))
	must(t, os.Symlink(real, filepath.Join(root, "dirlink")))
	must(t, os.Symlink(filepath.Join(real, "file"), filepath.Join(real, "filelink")))
	must(t, os.Symlink(real, filepath.Join(real, "sublink")))
	if d, err := OpenDir(filepath.Join(root, "dirlink")); err == nil {
		d.Close()
		t.Error("OpenDir of a link to a directory succeeded")
	}
	d, err := OpenDir(real)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if sub, err := d.OpenDir("sublink"); err == nil {
		sub.Close()
		t.Error("Dir.OpenDir of a link succeeded")
	}
	if f, err := d.Open("filelink"); err == nil {
		f.Close()
		t.Error("Dir.Open of a link succeeded")
	}
}

func TestIsTemp(t *testing.T) {
	name, err := tempName("snapshot")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		want bool
	}{
		{name, true},
		{".f.tmp-0123", true},
		{"snapshot", false},
		{".tmp-entry", false},
		{"f.tmp-1", false},
	} {
		if got := IsTemp(tc.name); got != tc.want {
			t.Errorf("IsTemp(%q) = %v, want %v", tc.name, got, tc.want)
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
