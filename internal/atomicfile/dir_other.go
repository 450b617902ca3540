//go:build !unix

package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// sysDir is a directory by path: this platform has no *at system calls.
type sysDir struct{ path string }

// OpenDir opens the directory at path for atomic writes. The path's last
// element must not be a symbolic link.
func OpenDir(path string) (*Dir, error) { return openDir(path, false) }

func openDir(path string, follow bool) (*Dir, error) {
	stat := os.Lstat
	if follow {
		stat = os.Stat
	}
	info, err := stat(path)
	if err != nil {
		return nil, &fs.PathError{Op: "atomicfile: open directory", Path: path, Err: unwrapPathError(err)}
	}
	if !info.IsDir() {
		return nil, &fs.PathError{Op: "atomicfile: open directory", Path: path, Err: errors.New("not a directory (a symbolic link is not followed)")}
	}
	return &Dir{path: path, sys: sysDir{path: path}}, nil
}

// OpenDir opens the subdirectory name, which must not be a symbolic link.
func (d *Dir) OpenDir(name string) (*Dir, error) { return openDir(filepath.Join(d.path, name), false) }

// Mkdir creates the subdirectory name with mode perm.
func (d *Dir) Mkdir(name string, perm fs.FileMode) error {
	if err := os.Mkdir(filepath.Join(d.path, name), perm); err != nil {
		return pathError("mkdir", d.path, name, err)
	}
	return nil
}

// Open opens the file name for reading; a symbolic link is refused.
func (d *Dir) Open(name string) (*os.File, error) { return d.OpenFile(name, os.O_RDONLY, 0) }

// OpenFile opens name with flag and perm as os.OpenFile does; an existing
// symbolic link is refused.
func (d *Dir) OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	path := filepath.Join(d.path, name)
	if info, err := os.Lstat(path); err == nil && info.Mode()&fs.ModeSymlink != 0 {
		return nil, &fs.PathError{Op: "open", Path: path, Err: errors.New("a symbolic link is not followed")}
	}
	return os.OpenFile(path, flag, perm)
}

// ReadDir lists the directory.
func (d *Dir) ReadDir() ([]fs.DirEntry, error) { return os.ReadDir(d.path) }

// Stat describes the directory itself.
func (d *Dir) Stat() (fs.FileInfo, error) { return os.Stat(d.path) }

func (s sysDir) create(name string, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(filepath.Join(s.path, name), os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
}

func (s sysDir) rename(from, to string) error {
	return Rename(filepath.Join(s.path, from), filepath.Join(s.path, to))
}

func (s sysDir) link(from, to string) error {
	return os.Link(filepath.Join(s.path, from), filepath.Join(s.path, to))
}

func (s sysDir) remove(name string) error { return os.Remove(filepath.Join(s.path, name)) }

func (s sysDir) sync() error { return SyncDir(s.path) }

func (s sysDir) close() error { return nil }

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }
