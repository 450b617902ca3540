package vmtest

import (
	"bytes"
	"os/exec"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestCPIOReadByGNUCpio checks the archive against an independent reader.
func TestCPIOReadByGNUCpio(t *testing.T) {
	if _, err := exec.LookPath("cpio"); err != nil {
		t.Skip("GNU cpio is not installed (scripts/vm/install-prereqs.sh installs it)")
	}
	var buf bytes.Buffer
	c := &cpioWriter{w: &buf}
	c.dir("/bin", 0o755)
	c.file("/bin/prog", 0o755, strings.NewReader("hello"), 5)
	c.symlink("/bin/sh", "prog")
	c.charDev("/console", 0o600, 5, 1)
	c.file("/odd-name-length", 0o644, strings.NewReader("abc"), 3)
	if err := c.close(); err != nil {
		t.Fatal(err)
	}
	if buf.Len()%4 != 0 {
		t.Errorf("archive length %d is not a multiple of 4", buf.Len())
	}

	cmd := exec.Command("cpio", "-itv", "--quiet")
	cmd.Stdin = bytes.NewReader(buf.Bytes())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("cpio -itv: %v", err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		// mode, links, owner, group, size (or major, minor), date..., name [-> target]
		entry := f[0] + " " + f[len(f)-1]
		if i := strings.Index(line, " -> "); i >= 0 {
			entry = f[0] + " " + f[len(f)-3] + " -> " + f[len(f)-1]
		}
		got = append(got, entry)
	}
	want := []string{
		"drwxr-xr-x bin",
		"-rwxr-xr-x bin/prog",
		"lrwxrwxrwx bin/sh -> prog",
		"crw------- console",
		"-rw-r--r-- odd-name-length",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cpio -t listing (-want +got):\n%s\nfull listing:\n%s", diff, out)
	}

	// Contents come back byte for byte.
	dir := t.TempDir()
	cmd = exec.Command("cpio", "-id", "--quiet", "--no-absolute-filenames", "bin/prog", "odd-name-length")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(buf.Bytes())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cpio -id: %v\n%s", err, out)
	}
	for name, want := range map[string]string{"bin/prog": "hello", "odd-name-length": "abc"} {
		got, err := readFile(dir, name)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("%s: got %q, want %q", name, got, want)
		}
	}
}

func TestCPIOShortReader(t *testing.T) {
	var buf bytes.Buffer
	c := &cpioWriter{w: &buf}
	c.file("/f", 0o644, strings.NewReader("abc"), 10)
	if err := c.close(); err == nil {
		t.Error("close after a short file: got nil error, want one")
	}
}
