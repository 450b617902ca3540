package vmtest

import (
	"debug/elf"
	"fmt"
	"os/exec"
	"path"
	"path/filepath"
)

// HostTool returns the host command name, found in PATH, as an entry of
// Config.HostPrograms that puts it at /bin/NAME in the guest (where it
// replaces busybox's applet of that name). The error says which command is
// missing.
func HostTool(name string) (File, error) {
	p, err := exec.LookPath(name)
	if err != nil {
		return File{}, fmt.Errorf("vmtest: %s is not installed on this host (scripts/install-prereqs.sh installs it): %w", name, err)
	}
	return File{Path: path.Join("/bin", name), Source: p}, nil
}

// libraryPathEnv names the loader's search-path variable, which the guest
// sets to the directories of the libraries it was given.
const libraryPathEnv = "LD_LIBRARY_PATH"

// hostProgramFiles returns the guest files that run the host programs
// progs: each program at its Path, and for a dynamically linked one its
// ELF interpreter at the path the program names and its shared libraries
// where s found them, each file once. libDirs are the directories of those
// libraries, in the order found: the guest has no loader cache, so it
// searches them by LD_LIBRARY_PATH. A program must be an x86-64 ELF
// executable.
func hostProgramFiles(progs []File, s *libSearch) (files []File, libDirs []string, err error) {
	sources := make(map[string]string) // guest path → host path
	add := func(f File) error {
		if src, ok := sources[f.Path]; ok {
			if src != f.Source {
				return fmt.Errorf("vmtest: guest path %s would hold both %s and %s", f.Path, src, f.Source)
			}
			return nil
		}
		sources[f.Path] = f.Source
		files = append(files, f)
		return nil
	}
	seenDir := make(map[string]bool)
	for _, prog := range progs {
		if !path.IsAbs(prog.Path) || path.Clean(prog.Path) != prog.Path {
			return nil, nil, fmt.Errorf("vmtest: guest path %q must be absolute and clean", prog.Path)
		}
		src, err := filepath.Abs(prog.Source) // $ORIGIN in a run path is absolute
		if err != nil {
			return nil, nil, fmt.Errorf("vmtest: %w", err)
		}
		prog.Source = src
		if err := checkMachine(src); err != nil {
			return nil, nil, err
		}
		deps, err := s.resolve(src)
		if err != nil {
			return nil, nil, err
		}
		if err := add(prog); err != nil {
			return nil, nil, err
		}
		if deps.interp != "" {
			if err := add(File{Path: deps.interp, Source: deps.interp, Mode: 0o755}); err != nil {
				return nil, nil, err
			}
		}
		for _, lib := range deps.libs {
			guest := filepath.ToSlash(lib)
			if err := add(File{Path: guest, Source: lib, Mode: 0o755}); err != nil {
				return nil, nil, err
			}
			if dir := path.Dir(guest); !seenDir[dir] {
				seenDir[dir] = true
				libDirs = append(libDirs, dir)
			}
		}
	}
	return files, libDirs, nil
}

// checkMachine returns an error unless the ELF file at p is for the
// guest's machine.
func checkMachine(p string) error {
	f, err := openGuestELF(p)
	if err != nil {
		return err
	}
	return f.Close()
}

// openGuestELF opens the ELF file at p and returns it if it is for the
// guest's machine.
func openGuestELF(p string) (*elf.File, error) {
	f, err := elf.Open(p)
	if err != nil {
		return nil, fmt.Errorf("vmtest: %s: %w", p, err)
	}
	if f.Machine != elf.EM_X86_64 {
		f.Close()
		return nil, fmt.Errorf("vmtest: %s is for %v, the guest is x86-64", p, f.Machine)
	}
	return f, nil
}
