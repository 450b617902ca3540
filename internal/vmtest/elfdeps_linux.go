package vmtest

import (
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// defaultLibDirs are the directories the dynamic loader searches after its
// cache: Debian's multiarch directories for amd64, then the classic ones.
var defaultLibDirs = []string{
	"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu",
	"/lib64", "/usr/lib64",
	"/lib", "/usr/lib",
}

// libSearch finds the shared libraries of ELF programs as the host's
// dynamic loader would, by reading the files (debug/elf) instead of running
// the loader (ldd).
type libSearch struct {
	// dirs are searched for a library after the run paths of the object
	// that needs it: where the loader's cache comes from (ld.so.conf),
	// then the defaults.
	dirs []string
}

// hostLibSearch returns the search of this host: /etc/ld.so.conf's
// directories, then defaultLibDirs.
func hostLibSearch() (*libSearch, error) {
	conf, err := readLdSoConf(ldSoConf)
	if err != nil {
		return nil, err
	}
	s := &libSearch{}
	seen := make(map[string]bool)
	for _, d := range append(conf, defaultLibDirs...) {
		if !seen[d] {
			seen[d] = true
			s.dirs = append(s.dirs, d)
		}
	}
	return s, nil
}

// elfDeps is what the dynamic loader loads to start a program.
type elfDeps struct {
	// interp is the ELF interpreter the program names (PT_INTERP); empty
	// for a static program, which needs nothing else.
	interp string
	// libs are the host paths of the shared libraries the program needs,
	// directly or through other libraries, once each, in the order the
	// loader meets them (breadth first). A path is where the search found
	// the library, not resolved through symbolic links: the loader looks
	// for the same name in the same directory.
	libs []string
}

// resolve returns the interpreter and shared libraries of the program at
// path. It fails if the program is not an ELF executable or a library it
// needs cannot be found. Like the loader, it skips a candidate of another
// ELF class or machine (a 32-bit libc in a search directory) and fails on a
// candidate that is not an ELF file at all.
func (s *libSearch) resolve(path string) (elfDeps, error) {
	exe, err := readELFObject(path)
	if err != nil {
		return elfDeps{}, err
	}
	if exe.typ != elf.ET_EXEC && exe.typ != elf.ET_DYN {
		return elfDeps{}, fmt.Errorf("vmtest: %s is an ELF %v, not an executable", path, exe.typ)
	}
	deps := elfDeps{interp: exe.interp}
	if exe.interp == "" {
		return deps, nil
	}
	// The interpreter is loaded first and answers to its own name: libc
	// lists it as needed.
	loaded := map[string]bool{filepath.Base(exe.interp): true}
	interp, err := readELFObject(exe.interp)
	if err != nil {
		return elfDeps{}, fmt.Errorf("vmtest: the interpreter of %s: %w", path, err)
	}
	if interp.soname != "" {
		loaded[interp.soname] = true
	}

	queue := []*elfObject{exe}
	for len(queue) > 0 {
		obj := queue[0]
		queue = queue[1:]
		for _, name := range obj.needed {
			if loaded[name] {
				continue
			}
			loaded[name] = true
			lib, err := s.find(name, obj, exe)
			if err != nil {
				return elfDeps{}, err
			}
			deps.libs = append(deps.libs, lib.path)
			queue = append(queue, lib)
		}
	}
	return deps, nil
}

// find returns the library name that obj needs, for the program exe.
func (s *libSearch) find(name string, obj, exe *elfObject) (*elfObject, error) {
	if strings.Contains(name, "/") {
		// A path, not a name: the loader opens it as it is.
		return readLibFor(name, exe)
	}
	var dirs []string
	if len(obj.runpath) > 0 {
		dirs = obj.runpath
	} else {
		// DT_RPATH (deprecated) also applies to what the object's
		// dependencies need, up to the program's own.
		dirs = obj.rpath
		if obj != exe {
			dirs = append(dirs[:len(dirs):len(dirs)], exe.rpath...)
		}
	}
	dirs = append(dirs[:len(dirs):len(dirs)], s.dirs...)
	for _, dir := range dirs {
		lib, err := readLibFor(filepath.Join(dir, name), exe)
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, errIncompatible) {
			continue
		}
		return lib, err
	}
	return nil, fmt.Errorf("vmtest: %s needs %s, which is in none of %s", obj.path, name, strings.Join(dirs, ":"))
}

// errIncompatible marks an ELF file of another class or machine than the
// program's.
var errIncompatible = errors.New("incompatible ELF file")

// readLibFor reads the library at path and checks that it suits exe.
func readLibFor(path string, exe *elfObject) (*elfObject, error) {
	lib, err := readELFObject(path)
	if err != nil {
		return nil, err
	}
	if lib.class != exe.class || lib.machine != exe.machine {
		return nil, fmt.Errorf("vmtest: %s is %v %v, the program %v %v: %w",
			path, lib.class, lib.machine, exe.class, exe.machine, errIncompatible)
	}
	return lib, nil
}

// elfObject is what the loader reads from one ELF file.
type elfObject struct {
	path    string
	typ     elf.Type
	class   elf.Class
	machine elf.Machine
	interp  string   // PT_INTERP, or empty
	soname  string   // DT_SONAME, or empty
	needed  []string // DT_NEEDED, in order
	runpath []string // DT_RUNPATH directories, $ORIGIN expanded
	rpath   []string // DT_RPATH directories, $ORIGIN expanded
}

// readELFObject reads the ELF file at path. An error wraps fs.ErrNotExist
// if there is no such file.
func readELFObject(path string) (*elfObject, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("vmtest: %w", err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("vmtest: %s is not a regular file", path)
	}
	f, err := elf.Open(path)
	if err != nil {
		return nil, fmt.Errorf("vmtest: %s is not an ELF file: %w", path, err)
	}
	defer f.Close()
	obj := &elfObject{path: path, typ: f.Type, class: f.Class, machine: f.Machine}
	for _, p := range f.Progs {
		if p.Type != elf.PT_INTERP {
			continue
		}
		b, err := io.ReadAll(p.Open())
		if err != nil {
			return nil, fmt.Errorf("vmtest: %s: reading PT_INTERP: %w", path, err)
		}
		obj.interp = string(bytes.TrimRight(b, "\x00"))
	}
	if obj.needed, err = f.DynString(elf.DT_NEEDED); err != nil {
		return nil, fmt.Errorf("vmtest: %s: %w", path, err)
	}
	soname, err := f.DynString(elf.DT_SONAME)
	if err != nil {
		return nil, fmt.Errorf("vmtest: %s: %w", path, err)
	}
	if len(soname) > 0 {
		obj.soname = soname[0]
	}
	origin := filepath.Dir(path)
	if obj.runpath, err = runPaths(f, elf.DT_RUNPATH, origin); err != nil {
		return nil, fmt.Errorf("vmtest: %s: %w", path, err)
	}
	if obj.rpath, err = runPaths(f, elf.DT_RPATH, origin); err != nil {
		return nil, fmt.Errorf("vmtest: %s: %w", path, err)
	}
	return obj, nil
}

// runPaths returns the directories of a DT_RUNPATH or DT_RPATH entry, with
// $ORIGIN replaced by origin, the directory of the object.
func runPaths(f *elf.File, tag elf.DynTag, origin string) ([]string, error) {
	values, err := f.DynString(tag)
	if err != nil {
		return nil, err
	}
	var dirs []string
	for _, v := range values {
		for _, d := range strings.Split(v, ":") {
			if d == "" {
				continue
			}
			d = strings.ReplaceAll(d, "${ORIGIN}", origin)
			d = strings.ReplaceAll(d, "$ORIGIN", origin)
			dirs = append(dirs, filepath.Clean(d))
		}
	}
	return dirs, nil
}
