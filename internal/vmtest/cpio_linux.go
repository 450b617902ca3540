package vmtest

import (
	"fmt"
	"io"
	"io/fs"
	"strings"
)

// cpioWriter writes a cpio archive in the "newc" format the kernel unpacks
// as an initramfs. Entries are written as given: a directory must come
// before what it holds. Owners are root and times zero, so that an archive
// of the same inputs is byte-identical. The first error sticks.
type cpioWriter struct {
	w   io.Writer
	ino uint32
	err error
}

// File type bits of a newc mode field (as in stat(2)).
const (
	cpioTypeMask    = 0o170000
	cpioTypeDir     = 0o040000
	cpioTypeRegular = 0o100000
	cpioTypeSymlink = 0o120000
	cpioTypeCharDev = 0o020000
)

// dir adds a directory.
func (c *cpioWriter) dir(name string, perm fs.FileMode) {
	c.entry(name, cpioTypeDir|uint32(perm.Perm()), 0, 0, nil, 0)
}

// file adds a regular file of size bytes read from r.
func (c *cpioWriter) file(name string, perm fs.FileMode, r io.Reader, size int64) {
	c.entry(name, cpioTypeRegular|uint32(perm.Perm()), 0, 0, r, size)
}

// symlink adds a symbolic link to target.
func (c *cpioWriter) symlink(name, target string) {
	c.entry(name, cpioTypeSymlink|0o777, 0, 0, strings.NewReader(target), int64(len(target)))
}

// charDev adds a character device node.
func (c *cpioWriter) charDev(name string, perm fs.FileMode, major, minor uint32) {
	c.entry(name, cpioTypeCharDev|uint32(perm.Perm()), major, minor, nil, 0)
}

// close writes the trailer entry and returns the first error.
func (c *cpioWriter) close() error {
	c.entry("TRAILER!!!", 0, 0, 0, nil, 0)
	return c.err
}

func (c *cpioWriter) entry(name string, mode, rdevMajor, rdevMinor uint32, data io.Reader, size int64) {
	if c.err != nil {
		return
	}
	if size > 0xffffffff {
		c.err = fmt.Errorf("vmtest: cpio: %s: %d bytes is too large for newc", name, size)
		return
	}
	c.ino++
	nlink := uint32(1)
	if mode&cpioTypeMask == cpioTypeDir {
		nlink = 2
	}
	name = strings.TrimPrefix(name, "/")
	header := fmt.Sprintf("070701%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		c.ino, mode, 0, 0, nlink, 0, uint32(size), 0, 0, rdevMajor, rdevMinor, len(name)+1, 0)
	c.write([]byte(header + name + "\x00"))
	c.pad(len(header) + len(name) + 1)
	if data != nil && c.err == nil {
		n, err := io.CopyN(c.w, data, size)
		if err != nil {
			c.err = fmt.Errorf("vmtest: cpio: %s: wrote %d of %d bytes: %w", name, n, size, err)
			return
		}
	}
	c.pad(int(size))
}

// pad writes the zero bytes that align the archive after n bytes to 4.
func (c *cpioWriter) pad(n int) {
	if rem := n % 4; rem != 0 {
		c.write(make([]byte, 4-rem))
	}
}

func (c *cpioWriter) write(b []byte) {
	if c.err != nil {
		return
	}
	if _, err := c.w.Write(b); err != nil {
		c.err = fmt.Errorf("vmtest: cpio: %w", err)
	}
}
