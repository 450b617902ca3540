//go:build unix

package inputfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
)

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, size int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, bytes.Repeat([]byte("x"), size), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	atMax, overMax, empty := write("at", 10), write("over", 11), write("empty", 0)
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(atMax, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantLen int
		wantErr error
	}{
		{"at the bound", atMax, 10, nil},
		{"empty", empty, 0, nil},
		{"a link to a regular file", link, 10, nil},
		{"over the bound", overMax, 0, ErrTooLarge},
		{"missing", filepath.Join(dir, "absent"), 0, fs.ErrNotExist},
		{"directory", dir, 0, ErrNotRegular},
		{"fifo (would block an open)", fifo, 0, ErrNotRegular},
		{"endless device", "/dev/zero", 0, ErrNotRegular},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := Read(tt.path, 10)
			if tt.wantErr == nil {
				if err != nil || len(data) != tt.wantLen {
					t.Fatalf("got %d bytes, %v; want %d bytes", len(data), err, tt.wantLen)
				}
				return
			}
			var pe *fs.PathError
			if !errors.Is(err, tt.wantErr) || !errors.As(err, &pe) || pe.Path != tt.path {
				t.Fatalf("got %v; want a *fs.PathError naming %s that wraps %v", err, tt.path, tt.wantErr)
			}
		})
	}
}

func TestReadCheckedRunsCheckOnTheFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(p, []byte("secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	refuse := errors.New("group or others may read it")
	_, err := ReadChecked(p, 100, func(fi fs.FileInfo) error {
		if fi.Mode().Perm()&0o077 != 0 {
			return refuse
		}
		return nil
	})
	if !errors.Is(err, refuse) {
		t.Errorf("got %v, want the check's error", err)
	}
}

// TestReadAllocatesOnlyWhatTheFileHolds reads a small file with a huge
// bound: memory follows the file, not the bound.
func TestReadAllocatesOnlyWhatTheFileHolds(t *testing.T) {
	p := filepath.Join(t.TempDir(), "small")
	if err := os.WriteFile(p, []byte(strings.Repeat("y", 100)), 0o600); err != nil {
		t.Fatal(err)
	}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if _, err := Read(p, 1<<40); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("reading 100 bytes allocated %d bytes", grew)
	}
}
