//go:build unix

package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// sysDir is an open directory descriptor; every call is relative to it.
type sysDir struct {
	f  *os.File // owns fd
	fd int
}

// OpenDir opens the directory at path for atomic writes. The path's last
// element must not be a symbolic link (earlier ones are resolved as usual).
func OpenDir(path string) (*Dir, error) { return openDir(path, false) }

// openDir opens the directory at path, following a symbolic link in its
// last element only if follow is set.
func openDir(path string, follow bool) (*Dir, error) {
	flags := unix.O_RDONLY | unix.O_DIRECTORY | unix.O_CLOEXEC
	if !follow {
		flags |= unix.O_NOFOLLOW
	}
	fd, err := retry(func() (int, error) { return unix.Open(path, flags, 0) })
	if err != nil {
		return nil, &fs.PathError{Op: "atomicfile: open directory", Path: path, Err: dirError(err)}
	}
	return &Dir{path: path, sys: sysDir{f: os.NewFile(uintptr(fd), path), fd: fd}}, nil
}

// OpenDir opens the subdirectory name, never through a symbolic link.
func (d *Dir) OpenDir(name string) (*Dir, error) {
	path := filepath.Join(d.path, name)
	fd, err := retry(func() (int, error) {
		return unix.Openat(d.sys.fd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return nil, &fs.PathError{Op: "atomicfile: open directory", Path: path, Err: dirError(err)}
	}
	return &Dir{path: path, sys: sysDir{f: os.NewFile(uintptr(fd), path), fd: fd}}, nil
}

// Mkdir creates the subdirectory name with mode perm (the umask may take
// bits away; OpenDir and Chmod on the result put them back).
func (d *Dir) Mkdir(name string, perm fs.FileMode) error {
	if err := unix.Mkdirat(d.sys.fd, name, uint32(perm.Perm())); err != nil {
		return pathError("mkdir", d.path, name, err)
	}
	return nil
}

// Open opens the file name for reading, never through a symbolic link (a
// link fails with ELOOP) and without blocking on a FIFO.
func (d *Dir) Open(name string) (*os.File, error) {
	return d.OpenFile(name, os.O_RDONLY|unix.O_NONBLOCK, 0)
}

// OpenFile opens name with flag (os.O_RDWR, os.O_CREATE, ...) and perm as
// os.OpenFile does, never through a symbolic link.
func (d *Dir) OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	fd, err := retry(func() (int, error) {
		return unix.Openat(d.sys.fd, name, flag|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm.Perm()))
	})
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: filepath.Join(d.path, name), Err: err}
	}
	return os.NewFile(uintptr(fd), filepath.Join(d.path, name)), nil
}

// ReadDir lists the directory.
func (d *Dir) ReadDir() ([]fs.DirEntry, error) {
	fd, err := retry(func() (int, error) {
		return unix.Openat(d.sys.fd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	})
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: d.path, Err: err}
	}
	f := os.NewFile(uintptr(fd), d.path)
	defer f.Close()
	return f.ReadDir(-1)
}

// Stat describes the open directory itself.
func (d *Dir) Stat() (fs.FileInfo, error) { return d.sys.f.Stat() }

func (s sysDir) create(name string, perm fs.FileMode) (*os.File, error) {
	fd, err := retry(func() (int, error) {
		return unix.Openat(s.fd, name, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, uint32(perm.Perm()))
	})
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), name), nil
}

func (s sysDir) rename(from, to string) error { return unix.Renameat(s.fd, from, s.fd, to) }

func (s sysDir) link(from, to string) error { return unix.Linkat(s.fd, from, s.fd, to, 0) }

func (s sysDir) remove(name string) error { return unix.Unlinkat(s.fd, name, 0) }

func (s sysDir) sync() error { return s.f.Sync() }

func (s sysDir) close() error { return s.f.Close() }

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// dirError says what ELOOP and ENOTDIR mean when opening a directory
// without following a link.
func dirError(err error) error {
	if errors.Is(err, unix.ELOOP) || errors.Is(err, unix.ENOTDIR) {
		return errors.New("not a directory (a symbolic link is not followed)")
	}
	return err
}

// retry calls f again while it fails with EINTR, as package os does.
func retry(f func() (int, error)) (int, error) {
	for {
		fd, err := f()
		if !errors.Is(err, unix.EINTR) {
			return fd, err
		}
	}
}
