package vmtest

import (
	"bytes"
	"compress/gzip"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestHostProgramFiles(t *testing.T) {
	search, err := hostLibSearch()
	if err != nil {
		t.Fatal(err)
	}
	bb, err := findBusybox()
	if err != nil {
		t.Skip(err)
	}
	resolve := func(p string) elfDeps {
		d, err := search.resolve(p)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	ls, cat := resolve("/bin/ls"), resolve("/bin/cat")
	script := filepath.Join(t.TempDir(), "script")
	if err := os.WriteFile(script, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		progs   []File
		want    func() (files []File, libDirs []string)
		wantErr string
	}{
		{
			name:  "two programs share the interpreter and libc; a static one needs nothing",
			progs: []File{{Path: "/bin/ls", Source: "/bin/ls"}, {Path: "/bin/cat", Source: "/bin/cat"}, {Path: "/bin/bb", Source: bb}},
			want: func() ([]File, []string) {
				var dirs []string
				lib := func(p string) File {
					if !slices.Contains(dirs, path.Dir(p)) {
						dirs = append(dirs, path.Dir(p))
					}
					return File{Path: p, Source: p, Mode: 0o755}
				}
				files := []File{{Path: "/bin/ls", Source: "/bin/ls"}, {Path: ls.interp, Source: ls.interp, Mode: 0o755}}
				for _, p := range ls.libs {
					files = append(files, lib(p))
				}
				files = append(files, File{Path: "/bin/cat", Source: "/bin/cat"})
				for _, p := range cat.libs {
					if !slices.Contains(ls.libs, p) {
						files = append(files, lib(p))
					}
				}
				return append(files, File{Path: "/bin/bb", Source: bb}), dirs
			},
		},
		{
			name:    "one guest path, two programs",
			progs:   []File{{Path: "/bin/x", Source: "/bin/ls"}, {Path: "/bin/x", Source: "/bin/cat"}},
			wantErr: "would hold both /bin/ls and /bin/cat",
		},
		{
			name:    "relative guest path",
			progs:   []File{{Path: "bin/ls", Source: "/bin/ls"}},
			wantErr: "must be absolute",
		},
		{
			name:    "a script",
			progs:   []File{{Path: "/bin/script", Source: script}},
			wantErr: "script",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files, dirs, err := hostProgramFiles(tt.progs, search)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("got error %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			wantFiles, wantDirs := tt.want()
			if diff := cmp.Diff(wantFiles, files); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(wantDirs, dirs); diff != "" {
				t.Errorf("library directories (-want +got):\n%s", diff)
			}
		})
	}
}

// TestInitramfsFileReplacesApplet checks that a file given for /bin/NAME
// is in the archive once, instead of busybox's applet link, and that one
// guest path given twice is refused.
func TestInitramfsFileReplacesApplet(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("GNU cpio is not installed (scripts/vm/install-prereqs.sh installs it)")
	}
	dir := t.TempDir()
	src := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(name), 0o755); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fsys := &initramfs{
		busybox: src("busybox"), applets: []string{"busybox", "ip", "sh"},
		program: src("program"),
		files:   []File{{Path: "/bin/ip", Source: src("iproute2-ip")}},
	}
	var buf bytes.Buffer
	if err := fsys.write(&buf); err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("cpio", "-itv", "--quiet")
	cmd.Stdin = zr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cpio -itv: %v", err)
	}
	var got []string
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); strings.Contains(line, " bin/") {
			got = append(got, f[0]+" "+strings.Join(f[8:], " "))
		}
	}
	want := []string{
		"-rwxr-xr-x bin/busybox",
		"lrwxrwxrwx bin/sh -> busybox",
		"-rwxr-xr-x bin/ip",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("entries under bin/ (-want +got):\n%s\nlisting:\n%s", diff, out)
	}

	fsys.files = append(fsys.files, File{Path: "/bin/ip", Source: src("other")})
	if err := fsys.write(&bytes.Buffer{}); err == nil || !strings.Contains(err.Error(), "/bin/ip") {
		t.Errorf("one guest path twice: got error %v, want one naming /bin/ip", err)
	}
}
