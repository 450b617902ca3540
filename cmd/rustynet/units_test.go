package main

import (
	"flag"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseInterleaved checks flag parsing around positional arguments.
func TestParseInterleaved(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		wantPos []string
		wantX   string
		wantY   bool
	}{
		{"flags first", []string{"-x", "1", "-y", "a", "b"}, []string{"a", "b"}, "1", true},
		{"flags last", []string{"a", "--x", "1", "b", "--y"}, []string{"a", "b"}, "1", true},
		{"none", []string{}, nil, "", false},
		{"double dash ends flags", []string{"-x", "1", "--", "-y", "a"}, []string{"-y", "a"}, "1", false},
		{"double dash after a positional", []string{"a", "--", "--x"}, []string{"a", "--x"}, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fs := flag.NewFlagSet("t", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			x := fs.String("x", "", "")
			y := fs.Bool("y", false, "")
			pos, err := parseInterleaved(fs, tt.args)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.wantPos, pos); diff != "" || *x != tt.wantX || *y != tt.wantY {
				t.Errorf("got pos %q x %q y %v, want pos %q x %q y %v", pos, *x, *y, tt.wantPos, tt.wantX, tt.wantY)
			}
		})
	}
}

// TestParseSpecs checks --approver and --node values.
func TestParseSpecs(t *testing.T) {
	const key = "k8y902E8Gm2GlRzi5vK6BZbGETdNSNvextyoI/aRwhc="
	tests := []struct {
		name string
		spec string
		node bool
		want string // the parsed value, or "error"
	}{
		{"approver", "bob=" + key, false, "bob approver " + key},
		{"owner", "alice=" + key + ":owner", false, "alice owner " + key},
		{"explicit approver role", "c=" + key + ":approver", false, "c approver " + key},
		{"bad role", "c=" + key + ":root", false, "error"},
		{"no key", "c", false, "error"},
		{"node", "n1=" + key + ",100.64.0.1/32,fd00::1", true, "n1 " + key + " [100.64.0.1/32 fd00::1/128]"},
		{"node without address", "n1=" + key, true, "error"},
		{"node with an empty key", "n1=,100.64.0.1/32", true, "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got string
			var err error
			if tt.node {
				n, e := parseNodeSpec(tt.spec)
				got, err = n.ID+" "+n.PublicKey.String()+" "+fmtList(stringsOf(n.Addresses)), e
			} else {
				a, e := parseApproverSpec(tt.spec)
				got, err = a.ID+" "+string(a.Role)+" "+a.PublicKey.String(), e
			}
			if err != nil {
				got = "error"
			}
			if got != tt.want {
				t.Errorf("got %q (err %v), want %q", got, err, tt.want)
			}
		})
	}
}

func fmtList(xs []string) string { return "[" + strings.Join(xs, " ") + "]" }

// TestRewriteFileRefusesConcurrentChange checks that rewriteFile writes
// nothing if the file changed since it was read.
func TestRewriteFileRefusesConcurrentChange(t *testing.T) {
	path := filepath.Join(t.TempDir(), "log.json")
	if err := os.WriteFile(path, []byte("changed"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := rewriteFile(path, []byte("as read"), []byte("new"))
	if ce := asCLIError(err); err == nil || ce.code != codeIO {
		t.Errorf("got %v, want an IO error", err)
	}
	if got := string(readFile(t, path)); got != "changed" {
		t.Errorf("file: got %q, want %q", got, "changed")
	}
}

// TestRewriteFileKeepsSymlink checks that a symlinked log stays a symlink
// and keeps its target's permissions.
func TestRewriteFileKeepsSymlink(t *testing.T) {
	dir := t.TempDir()
	target, link := filepath.Join(dir, "real.json"), filepath.Join(dir, "log.json")
	if err := os.WriteFile(target, []byte("old"), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(target, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("symlinks unavailable: %v", err)
	}
	if err := rewriteFile(link, []byte("old"), []byte("new")); err != nil {
		t.Fatal(err)
	}
	info, err := os.Lstat(link)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("log.json is no longer a symlink")
	}
	if got := string(readFile(t, target)); got != "new" {
		t.Errorf("target: got %q, want %q", got, "new")
	}
	if info, _ := os.Stat(target); info.Mode().Perm() != 0o640 {
		t.Errorf("target mode: got %#o, want 0640", info.Mode().Perm())
	}
}
