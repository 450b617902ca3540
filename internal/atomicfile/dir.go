package atomicfile

import (
	"crypto/rand"
	"encoding/hex"
	"io/fs"
	"path/filepath"
)

// Dir is an open directory in which files are replaced atomically. Every
// operation is relative to the directory as it was when opened, however
// its path changes later (a directory renamed, or swapped for a symbolic
// link, is not written to), and no symbolic link is ever followed for a
// write or as the target of a rename: temporary files are created
// exclusively without following one, a rename replaces the name it is
// given whatever it is, and names are single path elements.
//
// This holds on Unix, where the directory is an open descriptor and every
// call is an *at(2) system call. Elsewhere Dir keeps the path, and a
// temporary file is still created exclusively, so an existing link is
// never written through, but the directory is looked up by path each time.
//
// A Dir is safe for concurrent use; concurrent writes of the same name end
// with one of them.
type Dir struct {
	path string
	sys  sysDir
}

// Path returns the path the directory was opened at.
func (d *Dir) Path() string { return d.path }

// WriteFile replaces name with data, as WriteFile does for a path: a
// temporary file written with mode perm and synced, renamed over name, and
// the directory synced.
func (d *Dir) WriteFile(name string, data []byte, perm fs.FileMode) error {
	tmp, err := tempName(name)
	if err != nil {
		return err
	}
	if err := d.Replace(tmp, name, perm, data); err != nil {
		return err
	}
	return d.Sync()
}

// Create is Dir.WriteFile for a name that must not exist yet, as Create
// is for a path: it fails with an error satisfying errors.Is(err,
// fs.ErrExist) if name exists.
func (d *Dir) Create(name string, data []byte, perm fs.FileMode) error {
	tmp, err := tempName(name)
	if err != nil {
		return err
	}
	if err := d.writeTemp(tmp, perm, data); err != nil {
		return err
	}
	err = d.sys.link(tmp, name)
	d.sys.remove(tmp) // the link, if made, now holds the data
	if err != nil {
		return pathError("link", d.path, name, err)
	}
	return d.Sync()
}

// Replace writes parts, in order, to the temporary file tmp (created with
// mode perm, replacing any entry named tmp, never through a link), syncs
// it and renames it over name. It does not sync the directory: the caller
// does (Sync), after as many Replaces as it wants made durable together.
// On error tmp is removed and name is unchanged.
func (d *Dir) Replace(tmp, name string, perm fs.FileMode, parts ...[]byte) error {
	if err := d.writeTemp(tmp, perm, parts...); err != nil {
		return err
	}
	if err := d.sys.rename(tmp, name); err != nil {
		d.sys.remove(tmp)
		return pathError("rename", d.path, tmp, err)
	}
	return nil
}

// writeTemp creates tmp afresh with parts and syncs it; on error tmp is
// removed.
func (d *Dir) writeTemp(tmp string, perm fs.FileMode, parts ...[]byte) error {
	if err := d.sys.remove(tmp); err != nil && !isNotExist(err) {
		return pathError("remove", d.path, tmp, err)
	}
	f, err := d.sys.create(tmp, perm)
	if err != nil {
		return pathError("create", d.path, tmp, err)
	}
	err = f.Chmod(perm) // the umask may have taken bits away
	for _, p := range parts {
		if err == nil {
			_, err = f.Write(p)
		}
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		d.sys.remove(tmp)
		return pathError("write", d.path, tmp, err)
	}
	return nil
}

// Rename renames from over to, both names in the directory; to is
// replaced whatever it is, never followed. The caller syncs.
func (d *Dir) Rename(from, to string) error {
	if err := d.sys.rename(from, to); err != nil {
		return pathError("rename", d.path, from, err)
	}
	return nil
}

// Remove removes the entry name (a link itself, never what it points to).
// An absent name is not an error.
func (d *Dir) Remove(name string) error {
	if err := d.sys.remove(name); err != nil && !isNotExist(err) {
		return pathError("remove", d.path, name, err)
	}
	return nil
}

// Sync makes the changes to the directory's entries durable.
func (d *Dir) Sync() error {
	if err := d.sys.sync(); err != nil {
		return pathError("sync", d.path, ".", err)
	}
	return nil
}

// Close closes the directory.
func (d *Dir) Close() error { return d.sys.close() }

// IsTemp reports whether name is one that Dir.WriteFile, Dir.Create,
// WriteFile or Create gives its temporary files, which a crash may leave
// behind.
func IsTemp(name string) bool {
	_, tmp := tempPrefix(name)
	return tmp
}

// tempName returns a fresh temporary name for name.
func tempName(name string) (string, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return "." + name + tempMark + hex.EncodeToString(b[:]), nil
}

const tempMark = ".tmp-"

// tempPrefix reports whether name has the form tempName gives.
func tempPrefix(name string) (string, bool) {
	if len(name) < 2 || name[0] != '.' {
		return "", false
	}
	for i := len(name) - len(tempMark); i > 0; i-- {
		if name[i:i+len(tempMark)] == tempMark {
			return name[1:i], true
		}
	}
	return "", false
}

func pathError(op, dir, name string, err error) error {
	return &fs.PathError{Op: "atomicfile: " + op, Path: filepath.Join(dir, name), Err: unwrapPathError(err)}
}

// unwrapPathError keeps the cause of a *fs.PathError, so that the path is
// not named twice.
func unwrapPathError(err error) error {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err
	}
	return err
}
