package main

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// makeReadOnly makes the directory tree at root immutable (chattr +i on
// every directory, so nothing can be created, removed or renamed in it,
// by root either) until the test ends, where the filesystem supports it.
func makeReadOnly(t *testing.T, root string) {
	t.Helper()
	var dirs []string
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		if err := setImmutable(dir, true); err != nil {
			if errors.Is(err, unix.EPERM) || errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EOPNOTSUPP) {
				t.Logf("cannot make %s immutable (%v); checking that nothing is created instead", dir, err)
				return
			}
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := setImmutable(dir, false); err != nil {
				t.Errorf("making %s mutable again: %v", dir, err)
			}
		})
	}
}

// fsImmutable is FS_IMMUTABLE_FL of <linux/fs.h>, which x/sys does not
// name.
const fsImmutable = 0x00000010

func setImmutable(path string, on bool) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	flags, err := unix.IoctlGetInt(int(f.Fd()), unix.FS_IOC_GETFLAGS)
	if err != nil {
		return err
	}
	if on {
		flags |= fsImmutable
	} else {
		flags &^= fsImmutable
	}
	return unix.IoctlSetPointerInt(int(f.Fd()), unix.FS_IOC_SETFLAGS, flags)
}
